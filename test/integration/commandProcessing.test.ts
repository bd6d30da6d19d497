import { beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionedResources } from '../../local/stack.js';
import { lambdaContext } from '../../local/lambdaContext.js';
import { createCommandProcessorHandler } from '../../functions/command-processor/handler.js';
import { eventStore } from '../../shared/gamekeep.js';
import type { EventStore } from '../../shared/persistence/eventStore.js';
import {
  commandPk,
  entityPk,
  eventSk,
  reusedCommandSk,
  STATE_SK,
  type StateItem,
} from '../../shared/persistence/tableLayout.js';
import { payloadHashOf } from '../../shared/engine/envelope.js';
import { evolve, initialPlayerState, type PlayerEvent, type PlayerState } from '../../shared/domain/player/index.js';
import { provisionTestStack } from '../support/stack.js';
import { injectFaults, writesCommand } from '../support/faults.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { playerCommand, sqsEvent, sqsRecord } from '../support/pipeline.js';

let stack: ProvisionedResources;
let store: EventStore;
let handle: (records: ReturnType<typeof sqsRecord>[]) => Promise<string[]>;

beforeAll(async () => {
  stack = await provisionTestStack();
  store = eventStore(stack.config);
  const handler = createCommandProcessorHandler(stack.config);
  handle = async (records) => {
    const out = await handler(sqsEvent(records), lambdaContext('command-processor'));
    return out.batchItemFailures.map((f) => f.itemIdentifier);
  };
});

async function stateOf(playerId: string): Promise<StateItem<PlayerState> | undefined> {
  return store.item<StateItem<PlayerState>>({ pk: entityPk('P', playerId), sk: STATE_SK });
}

async function foldOf(playerId: string): Promise<{ state: PlayerState; versions: number[] }> {
  const events = await store.allEvents<PlayerEvent>(entityPk('P', playerId));
  return {
    state: events.flatMap((e) => e.events).reduce(evolve, initialPlayerState()),
    versions: events.map((e) => e.version),
  };
}

describe('command processing', () => {
  it('applies a player life cycle and keeps state equal to the fold of its events', async () => {
    const id = 'life-1';
    const failures = await handle([
      sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Lin Feng' })),
      sqsRecord(playerCommand(id, { type: 'GrantReward', taskId: 'daily:2026-11-24', gold: 50, experience: 250 })),
      sqsRecord(playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 5000, reason: 'shop' })),
      sqsRecord(playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 40, reason: 'shop' })),
    ]);
    expect(failures).toEqual([]);
    const item = await stateOf(id);
    expect(item?.version).toBe(3);
    expect(item?.state.gold).toBe(1000 + 50 - 40);
    expect(item?.state.level).toBe(2);
    const fold = await foldOf(id);
    expect(fold.versions).toEqual([1, 2, 3]);
    expect(fold.state).toEqual(item?.state);
  });

  it('records a domain rejection with its code and changes nothing', async () => {
    const id = 'poor-1';
    await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Poor One' }))]);
    const spend = playerCommand(id, { type: 'SpendCurrency', currency: 'spiritStones', amount: 10, reason: 'shop' });
    expect(await handle([sqsRecord(spend)])).toEqual([]);
    const record = await store.commandRecord(spend.commandId);
    expect(record).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS', version: 1 });
    expect((await stateOf(id))?.version).toBe(1);
  });

  it('applies the same command sent three times exactly once', async () => {
    const id = 'dup-1';
    await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Dup One' }))]);
    const grant = playerCommand(id, { type: 'GrantReward', taskId: 'daily:2026-11-25', gold: 7 });
    // Once in one batch, twice more in later batches (redeliveries, re-sends after the dedup window).
    expect(await handle([sqsRecord(grant), sqsRecord(grant)])).toEqual([]);
    expect(await handle([sqsRecord(grant)])).toEqual([]);
    const item = await stateOf(id);
    expect(item?.state.gold).toBe(1007);
    expect(item?.version).toBe(2);
  });

  it('rejects a reused command id with another payload and never applies it', async () => {
    const id = 'reuse-1';
    await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Reuse One' }))]);
    const first = playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 10, reason: 'shop' }, 'key-1');
    const second = playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 900, reason: 'shop' }, 'key-1');
    expect(second.commandId).toBe(first.commandId);
    expect(await handle([sqsRecord(first)])).toEqual([]);
    expect(await handle([sqsRecord(second)])).toEqual([]);
    const item = await stateOf(id);
    expect(item?.state.gold).toBe(990);
    const reuse = await store.item<{ code: string }>({
      pk: commandPk(first.commandId),
      sk: reusedCommandSk(payloadHashOf(second)),
    });
    expect(reuse?.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('enforces unique names and a payment credited once, whatever the command id', async () => {
    await handle([sqsRecord(playerCommand('name-a', { type: 'CreatePlayer', name: 'Shared Name' }))]);
    const clash = playerCommand('name-b', { type: 'CreatePlayer', name: '  shared NAME ' });
    await handle([sqsRecord(clash)]);
    expect(await store.commandRecord(clash.commandId)).toMatchObject({ status: 'rejected', code: 'NAME_TAKEN' });
    expect(await stateOf('name-b')).toBeUndefined();

    const pay1 = playerCommand('name-a', {
      type: 'CreditPurchase',
      provider: 'stripe',
      orderId: 'ord-1',
      sku: 'stones-100',
    });
    const pay2 = playerCommand('name-a', {
      type: 'CreditPurchase',
      provider: 'stripe',
      orderId: 'ord-1',
      sku: 'stones-100',
    });
    await handle([sqsRecord(pay1)]);
    await handle([sqsRecord(pay2)]);
    expect((await stateOf('name-a'))?.state.spiritStones).toBe(100);
    expect(await store.commandRecord(pay2.commandId)).toMatchObject({
      status: 'rejected',
      code: 'ORDER_ALREADY_CREDITED',
    });
  });

  it('reports a failed message and every later message of its group, while other groups and earlier messages commit', async () => {
    for (const id of ['bf-a', 'bf-b'])
      await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: `Batch ${id}` }))]);
    const a1 = playerCommand('bf-a', { type: 'AddExperience', amount: 1, source: 'a1' });
    const a2 = playerCommand('bf-a', { type: 'AddExperience', amount: 2, source: 'a2' });
    const a3 = playerCommand('bf-a', { type: 'AddExperience', amount: 3, source: 'a3' });
    const b1 = playerCommand('bf-b', { type: 'AddExperience', amount: 10, source: 'b1' });
    const b2 = playerCommand('bf-b', { type: 'AddExperience', amount: 20, source: 'b2' });
    const db = injectFaults(dynamoDbClient(stack.config), ({ commandName, input }) =>
      commandName.startsWith('TransactWrite') && writesCommand(input, a2.commandId)
        ? new Error('injected: a2 cannot be written')
        : undefined,
    );
    const handler = createCommandProcessorHandler(stack.config, { db });
    // Interleaved, as Lambda may deliver several messages of a group in one FIFO batch.
    const records = [a1, b1, a2, b2, a3].map((e) => sqsRecord(e));
    const out = await handler(sqsEvent(records), lambdaContext('command-processor'));
    const failed = out.batchItemFailures.map((f) => f.itemIdentifier);
    expect(failed).toEqual([records[2]!.messageId, records[4]!.messageId]);
    expect((await stateOf('bf-a'))?.state.experience).toBe(1);
    expect((await stateOf('bf-b'))?.state.experience).toBe(30);
    // Redelivered without the fault, the rest applies in order.
    expect(await handle([records[2]!, records[4]!])).toEqual([]);
    const sources = (await foldEvents('bf-a'))
      .filter((e) => e.type === 'ExperienceGained')
      .map((e) => (e as { source: string }).source);
    expect(sources).toEqual(['a1', 'a2', 'a3']);
  });

  it('commits a batch of ten players in one transaction (group commit)', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `gc-${i}`);
    let transactions = 0;
    const db = injectFaults(dynamoDbClient(stack.config), ({ commandName }) => {
      if (commandName.startsWith('TransactWrite')) transactions++;
      return undefined;
    });
    const handler = createCommandProcessorHandler(stack.config, { db });
    const out = await handler(
      sqsEvent(ids.map((id) => sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: `Group ${id}` })))),
      lambdaContext('command-processor'),
    );
    expect(out.batchItemFailures).toEqual([]);
    expect(transactions).toBe(1);
    for (const id of ids) expect((await stateOf(id))?.version).toBe(1);
  });

  it('lets only the group that lost a race fall back; the rest of the batch still commits together', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `race-${i}`);
    await handle(ids.map((id) => sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: `Racer ${id}` }))));
    const raw = dynamoDbClient(stack.config);
    let transactions = 0;
    let interfered = false;
    const db = injectFaults(dynamoDbClient(stack.config), ({ commandName }) => {
      if (!commandName.startsWith('TransactWrite')) return undefined;
      transactions++;
      return undefined;
    });
    // A concurrent writer (a trade from another group, say) moves race-3 on between our load and our commit.
    db.middlewareStack.add(
      (next, context) => async (args) => {
        if (String(context.commandName).startsWith('TransactWrite') && !interfered) {
          interfered = true;
          const current = (await stateOf('race-3'))!;
          // Bump the version the way another committed command would have (its event item included).
          await raw.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: stack.config.tableName,
                    Item: {
                      ...current,
                      version: current.version + 1,
                      state: { ...current.state, gold: current.state.gold + 1 },
                    },
                    ConditionExpression: '#v = :v',
                    ExpressionAttributeNames: { '#v': 'version' },
                    ExpressionAttributeValues: { ':v': current.version },
                  },
                },
                {
                  Put: {
                    TableName: stack.config.tableName,
                    Item: {
                      pk: current.pk,
                      sk: eventSk(current.version + 1),
                      entityType: 'player',
                      entityId: 'race-3',
                      version: current.version + 1,
                      commandId: 'concurrent',
                      commandType: 'GrantReward',
                      events: [{ type: 'RewardGranted', taskId: 'concurrent', gold: 1, spiritStones: 0, items: [] }],
                      source: { kind: 'service', actor: 'test' },
                      issuedAt: 'x',
                      committedAt: 'x',
                      correlationId: 'concurrent',
                    },
                  },
                },
              ],
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'concurrentWriter', priority: 'high' },
    );
    const handler = createCommandProcessorHandler(stack.config, { db });
    const out = await handler(
      sqsEvent(ids.map((id) => sqsRecord(playerCommand(id, { type: 'AddExperience', amount: 5, source: 'race' })))),
      lambdaContext('command-processor'),
    );
    expect(out.batchItemFailures).toEqual([]);
    // One lost race, one transaction for the nine others, one for race-3 after reloading.
    expect(transactions).toBe(3);
    for (const id of ids) expect((await stateOf(id))?.state.experience).toBe(5);
    expect((await stateOf('race-3'))?.version).toBe(3);
  });

  it("settles a trade and the counterparty's own commands of the same batch consistently", async () => {
    for (const id of ['tb-a', 'tb-b'])
      await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: `Trader ${id}` }))]);
    const records = [
      sqsRecord(playerCommand('tb-b', { type: 'SpendCurrency', currency: 'gold', amount: 600, reason: 'shop' })),
      sqsRecord(
        playerCommand('tb-a', {
          type: 'Trade',
          tradeId: 'tb-1',
          counterpartyId: 'tb-b',
          give: { gold: 100 },
          receive: { gold: 300 },
        }),
      ),
      sqsRecord(playerCommand('tb-b', { type: 'SpendCurrency', currency: 'gold', amount: 600, reason: 'shop' })),
    ];
    expect(await handle(records)).toEqual([]);
    const a = (await stateOf('tb-a'))!;
    const b = (await stateOf('tb-b'))!;
    const outcomes = await Promise.all(records.map((r) => store.commandRecord(JSON.parse(r.body).commandId)));
    const spent = outcomes.filter((o) => o?.commandType === 'SpendCurrency' && o.status === 'applied').length * 600;
    // Any order across groups is a valid serialization; whichever was chosen, no gold appeared or vanished.
    expect(outcomes.every((o) => o !== undefined)).toBe(true);
    expect(spent).toBeGreaterThan(0);
    expect(a.state.gold + b.state.gold).toBe(2000 - spent);
    expect(b.state.gold).toBeGreaterThanOrEqual(0);
    for (const id of ['tb-a', 'tb-b']) {
      const fold = await foldOf(id);
      expect(fold.state).toEqual((await stateOf(id))!.state);
      expect(fold.versions).toEqual(fold.versions.map((_, i) => i + 1));
    }
  });

  it('records an invalid command as rejected without touching state', async () => {
    await handle([sqsRecord(playerCommand('inv-1', { type: 'CreatePlayer', name: 'Invalid One' }))]);
    const bad = playerCommand('inv-1', {
      type: 'SpendCurrency',
      currency: 'gold',
      amount: -5,
      reason: 'shop',
    } as never);
    expect(await handle([sqsRecord(bad)])).toEqual([]);
    expect(await store.commandRecord(bad.commandId)).toMatchObject({ status: 'rejected', code: 'INVALID_COMMAND' });
    expect((await stateOf('inv-1'))?.version).toBe(1);
  });
});

async function foldEvents(playerId: string): Promise<PlayerEvent[]> {
  return (await store.allEvents<PlayerEvent>(entityPk('P', playerId))).flatMap((e) => e.events);
}
