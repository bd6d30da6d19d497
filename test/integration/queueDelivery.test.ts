import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionedResources } from '../../local/stack.js';
import { lambdaContext } from '../../local/lambdaContext.js';
import { startCommandPipeline, type CommandPipeline } from '../../local/commandPipeline.js';
import { createCommandProcessorHandler } from '../../functions/command-processor/handler.js';
import { dynamoDbClient, sqsClient } from '../../shared/clients.js';
import { commandQueue, eventStore } from '../../shared/gamekeep.js';
import { deduplicationIdFor, messageGroupIdFor, type CommandEnvelope } from '../../shared/engine/envelope.js';
import type { EventStore } from '../../shared/persistence/eventStore.js';
import { sleep } from '../../shared/backoff.js';
import { entityPk, STATE_SK, type StateItem } from '../../shared/persistence/tableLayout.js';
import {
  currencyFlow,
  evolve,
  initialPlayerState,
  type PlayerEvent,
  type PlayerState,
} from '../../shared/domain/player/index.js';
import { provisionTestStack } from '../support/stack.js';
import { playerCommand } from '../support/pipeline.js';
import { injectFaults, writesCommand } from '../support/faults.js';

const VISIBILITY_SECONDS = 2;
const MAX_RECEIVES = 3;

let stack: ProvisionedResources;
let store: EventStore;
let sqs: SQSClient;
const pipelines: CommandPipeline[] = [];

beforeAll(async () => {
  stack = await provisionTestStack({ visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVES });
  store = eventStore(stack.config);
  sqs = sqsClient(stack.config);
});

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((p) => p.stop()));
});

afterAll(() => sqs.destroy());

function pipeline(options: Parameters<typeof startCommandPipeline>[1] = {}): CommandPipeline {
  const p = startCommandPipeline(stack, { concurrency: 4, ...options });
  pipelines.push(p);
  return p;
}

async function send(...envelopes: CommandEnvelope[]): Promise<void> {
  await commandQueue(stack.config, { sqs }).send(envelopes);
}

/** A re-send after SQS's 5-minute deduplication window: same command, new deduplication id. */
async function lateReplay(envelope: CommandEnvelope): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: stack.commandQueue.url,
      MessageBody: JSON.stringify(envelope),
      MessageGroupId: messageGroupIdFor(envelope.entityType, envelope.entityId),
      MessageDeduplicationId: `${deduplicationIdFor(envelope.commandId).slice(0, 60)}-late-${Date.now()}`,
    }),
  );
}

async function stateOf(playerId: string): Promise<StateItem<PlayerState> | undefined> {
  return store.item<StateItem<PlayerState>>({ pk: entityPk('P', playerId), sk: STATE_SK });
}

async function eventsOf(playerId: string) {
  return store.allEvents<PlayerEvent>(entityPk('P', playerId));
}

async function createPlayers(ids: string[]): Promise<void> {
  const p = pipeline();
  await send(...ids.map((id) => playerCommand(id, { type: 'CreatePlayer', name: `Hero ${id}` })));
  await p.drained();
  await p.stop();
}

describe('delivery through the FIFO queue', () => {
  it('applies a command sent three times once (SQS dedup, then a late replay the engine dedups)', async () => {
    await createPlayers(['q-dup']);
    const grant = playerCommand('q-dup', { type: 'GrantReward', taskId: 'daily:2026-11-20', gold: 11 });
    await send(grant);
    await send(grant);
    await lateReplay(grant);
    const p = pipeline();
    await p.drained();
    expect((await stateOf('q-dup'))?.state.gold).toBe(1011);
    expect(p.totals).toMatchObject({ applied: 1, duplicate: 1 });
    expect((await eventsOf('q-dup')).map((e) => e.version)).toEqual([1, 2]);
  });

  it('applies once when a slow consumer finishes after the visibility timeout let another one redeliver', async () => {
    await createPlayers(['q-slow']);
    const grant = playerCommand('q-slow', { type: 'GrantReward', taskId: 'daily:2026-11-21', spiritStones: 3 });
    await send(grant);
    // The slow consumer receives it and stalls past the visibility timeout...
    const slow = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.commandQueue.url,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(slow.Messages).toHaveLength(1);
    await sleep(VISIBILITY_SECONDS * 1000 + 500);
    // ...the message is redelivered to a healthy consumer and applied...
    const p = pipeline();
    await p.drained();
    // ...then the slow one finishes its copy.
    const handler = createCommandProcessorHandler(stack.config);
    const m = slow.Messages![0]!;
    const out = await handler(
      {
        Records: [
          {
            messageId: m.MessageId!,
            receiptHandle: m.ReceiptHandle!,
            body: m.Body!,
            attributes: {
              ApproximateReceiveCount: '1',
              SentTimestamp: String(Date.now()),
              SenderId: 'x',
              ApproximateFirstReceiveTimestamp: String(Date.now()),
              MessageGroupId: 'player.q-slow',
            },
            messageAttributes: {},
            md5OfBody: '',
            eventSource: 'aws:sqs',
            eventSourceARN: stack.commandQueue.arn,
            awsRegion: 'us-east-1',
          },
        ],
      },
      lambdaContext('command-processor'),
    );
    expect(out.batchItemFailures).toEqual([]);
    expect((await stateOf('q-slow'))?.state.spiritStones).toBe(3);
    expect(await eventsOf('q-slow')).toHaveLength(2);
  });

  it('has exactly one effect when the consumer crashes after the commit and before the SQS delete', async () => {
    await createPlayers(['q-crash-after']);
    const spend = playerCommand('q-crash-after', {
      type: 'SpendCurrency',
      currency: 'gold',
      amount: 100,
      reason: 'shop',
    });
    let crashes = 0;
    const p = pipeline({
      beforeDelete: (event) => {
        if (crashes === 0 && event.Records.some((r) => r.body.includes(spend.commandId))) {
          crashes++;
          throw new Error('injected crash between commit and delete');
        }
      },
    });
    await send(spend);
    await sleep(500);
    await p.drained(30_000);
    expect(crashes).toBe(1);
    expect(p.totals).toMatchObject({ applied: 1, duplicate: 1 });
    expect((await stateOf('q-crash-after'))?.state.gold).toBe(900);
  });

  it('applies once on retry when the consumer crashes before the commit', async () => {
    await createPlayers(['q-crash-before']);
    const spend = playerCommand('q-crash-before', {
      type: 'SpendCurrency',
      currency: 'gold',
      amount: 250,
      reason: 'shop',
    });
    let crashes = 0;
    const db = injectFaults(dynamoDbClient(stack.config), ({ commandName, input }) => {
      if (commandName.startsWith('TransactWrite') && writesCommand(input, spend.commandId) && crashes === 0) {
        crashes++;
        return new Error('injected crash before the commit');
      }
      return undefined;
    });
    const p = pipeline({ db });
    await send(spend);
    await sleep(500);
    await p.drained(30_000);
    expect(crashes).toBe(1);
    expect(p.totals).toMatchObject({ applied: 1, failed: 1 });
    expect((await stateOf('q-crash-before'))?.state.gold).toBe(750);
  });

  it("keeps each player's order for 1,000 commands of 20 players from 8 concurrent senders", async () => {
    const players = Array.from({ length: 20 }, (_, i) => `q-order-${i}`);
    await createPlayers(players);
    const p = pipeline({ concurrency: 4 });
    // Sender s sends its 125 commands in its own order; every command names its sender and position.
    await Promise.all(
      Array.from({ length: 8 }, async (_, s) => {
        const mine = Array.from({ length: 125 }, (_, n) =>
          playerCommand(players[(s * 7 + n) % 20]!, { type: 'AddExperience', amount: 1 + n, source: `s${s}-n${n}` }),
        );
        for (let i = 0; i < mine.length; i += 25) await send(...mine.slice(i, i + 25));
      }),
    );
    await p.drained();
    expect(p.totals.applied).toBe(1000);
    let total = 0;
    for (const id of players) {
      const events = await eventsOf(id);
      const seen = new Map<string, number>();
      for (const item of events.slice(1)) {
        const gained = item.events.find((e) => e.type === 'ExperienceGained');
        const [sender, n] = (gained as { source: string }).source.split('-n');
        // A sender's commands to one player apply in the order it sent them.
        expect(Number(n)).toBeGreaterThan(seen.get(sender!) ?? -1);
        seen.set(sender!, Number(n));
        total++;
      }
      expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    }
    expect(total).toBe(1000);
  });

  it('settles concurrent trades between the same players from both groups: invariants hold, currency is conserved', async () => {
    await createPlayers(['q-trade-a', 'q-trade-b']);
    const p = pipeline({ concurrency: 4 });
    const trades: CommandEnvelope[] = [];
    for (let i = 0; i < 40; i++) {
      const [from, to] = i % 2 === 0 ? ['q-trade-a', 'q-trade-b'] : ['q-trade-b', 'q-trade-a'];
      trades.push(
        playerCommand(from, {
          type: 'Trade',
          tradeId: `t-${i}`,
          counterpartyId: to,
          give: { gold: 30 + i },
          receive: { spiritStones: 0 + 1 },
        }),
      );
    }
    // Give both some stones first so the trades can settle.
    await send(
      playerCommand('q-trade-a', { type: 'GrantReward', taskId: 'seed-a', spiritStones: 100 }),
      playerCommand('q-trade-b', { type: 'GrantReward', taskId: 'seed-b', spiritStones: 100 }),
    );
    await Promise.all([send(...trades.filter((_, i) => i % 2 === 0)), send(...trades.filter((_, i) => i % 2 === 1))]);
    await p.drained();
    const a = (await stateOf('q-trade-a'))!.state;
    const b = (await stateOf('q-trade-b'))!.state;
    expect(a.gold + b.gold).toBe(2000);
    expect(a.spiritStones + b.spiritStones).toBe(200);
    for (const s of [a, b]) expect(s.gold).toBeGreaterThanOrEqual(0);
    for (const id of ['q-trade-a', 'q-trade-b']) {
      const events = await eventsOf(id);
      expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
      const fold = events.flatMap((e) => e.events).reduce(evolve, initialPlayerState());
      expect(fold).toEqual((await stateOf(id))!.state);
      const flow = events
        .flatMap((e) => e.events)
        .map(currencyFlow)
        .reduce((sum, f) => sum + f.gold, 0);
      expect(flow).toBe((await stateOf(id))!.state.gold);
    }
    expect(p.totals.applied + p.totals.rejected).toBe(42);
    expect(p.totals.failed).toBe(0);
  });

  it('sends malformed messages to the DLQ at once with the reason, writing nothing', async () => {
    const p = pipeline();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.commandQueue.url,
        MessageBody: '{"not": "an envelope"',
        MessageGroupId: 'player.q-bad',
        MessageDeduplicationId: 'bad-1',
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.commandQueue.url,
        MessageBody: JSON.stringify({ commandId: 'x', entityType: 'player' }),
        MessageGroupId: 'player.q-bad',
        MessageDeduplicationId: 'bad-2',
      }),
    );
    await p.drained(30_000);
    expect(p.totals.malformed).toBe(2);
    const dead = await receiveAll(stack.deadLetterQueue.url);
    const reasons = dead.map((m) => m.MessageAttributes?.['gamekeep-reason']?.StringValue);
    expect(reasons).toEqual(
      expect.arrayContaining([expect.stringContaining('not JSON'), expect.stringContaining('not a command envelope')]),
    );
    expect(await stateOf('q-bad')).toBeUndefined();
  });

  it('moves a poison message to the DLQ after maxReceiveCount while other groups keep flowing', async () => {
    await createPlayers(['q-poison', 'q-healthy']);
    const poison = playerCommand('q-poison', { type: 'AddExperience', amount: 5, source: 'poison' });
    let attempts = 0;
    const db = injectFaults(dynamoDbClient(stack.config), ({ commandName, input }) => {
      if (commandName.startsWith('TransactWrite') && writesCommand(input, poison.commandId)) {
        attempts++;
        return new Error('injected: this item can never be written');
      }
      return undefined;
    });
    const p = pipeline({ db });
    await send(poison, playerCommand('q-healthy', { type: 'AddExperience', amount: 5, source: 'fine' }));
    await sleep(VISIBILITY_SECONDS * 1000 * (MAX_RECEIVES + 1));
    await p.drained(60_000);
    expect((await stateOf('q-healthy'))?.version).toBe(2);
    expect((await stateOf('q-poison'))?.version).toBe(1);
    const dead = await receiveAll(stack.deadLetterQueue.url);
    expect(dead.map((m) => JSON.parse(m.Body!).commandId)).toContain(poison.commandId);
    expect(p.totals.failed).toBe(MAX_RECEIVES);
    expect(attempts).toBeGreaterThanOrEqual(MAX_RECEIVES);
  });
});

async function receiveAll(queueUrl: string) {
  const all = [];
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    if (!out.Messages?.length) empty++;
    // A FIFO group stays locked while its head is in flight, so read and delete one by one.
    for (const m of out.Messages ?? []) {
      all.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  return all;
}
