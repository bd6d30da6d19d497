import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import type { ProvisionedResources } from '../../../local/stack.js';
import { dynamoDbClient, sqsClient } from '../../../shared/clients.js';
import { commandQueue } from '../../../shared/gamekeep.js';
import { commandEnvelope, messageGroupIdFor, type CommandEnvelope } from '../../../shared/engine/envelope.js';
import type { PlayerCommand, PlayerEvent, PlayerState } from '../../../shared/domain/player/index.js';
import { entityPk, STATE_SK, type StateItem } from '../../../shared/persistence/tableLayout.js';
import { injectFaults, writesCommand } from '../../support/faults.js';
import { provisionTestStack } from '../../support/stack.js';
import { outcomeOf, startApiHarness, type ApiHarness } from './harness.js';

/**
 * Issue 11, item 5: the operators' dead-letter routes over the real DLQ (fauxqs, FIFO). Dead letters get there
 * the two ways they do in production: a malformed message the processor forwards with its reason, and a valid
 * command whose commit keeps failing until SQS moves it after maxReceiveCount. Listing consumes nothing; a replay
 * applies a command at most once and never blindly over a player that moved on; a discard leaves an audit item;
 * bad input is a 4xx that writes nothing and leaves the DLQ as it was.
 */
const VISIBILITY_SECONDS = 1;
const MAX_RECEIVES = 2;

let stack: ProvisionedResources;
let h: ApiHarness;
let pipeline: CommandPipeline;
let sqs: SQSClient;
/** Command ids whose commit the pipeline's DynamoDB client refuses (a bug, until "the fix is deployed"). */
const poisoned = new Set<string>();

beforeAll(async () => {
  stack = await provisionTestStack({ visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVES });
  h = await startApiHarness({ stack, pipeline: false });
  sqs = sqsClient(h.config);
  const db = injectFaults(dynamoDbClient(h.config), ({ commandName, input }) =>
    commandName.startsWith('TransactWrite') && [...poisoned].some((id) => writesCommand(input, id))
      ? new Error('injected: this command cannot be committed')
      : undefined,
  );
  pipeline = startCommandPipeline({ ...stack, config: h.config }, { concurrency: 2, db });
  for (const playerId of ['dl-a', 'dl-b', 'dl-c']) {
    const r = await h.call('POST', '/v1/players', { auth: h.service, body: { playerId, name: `Dead ${playerId}` } });
    expect(r.status).toBe(202);
    await outcomeOf(h, r.body.commandId, h.service);
  }
});

afterAll(async () => {
  await pipeline?.stop();
  await h?.stop();
  sqs?.destroy();
});

async function dlqDepth(): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.deadLetterQueue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes!.ApproximateNumberOfMessages) + Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible)
  );
}

async function untilDlqHolds(n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await dlqDepth()) >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the DLQ never held ${n} messages (it holds ${await dlqDepth()})`);
}

/** A command whose commit fails until unpoisoned: sent, it reaches the DLQ after MAX_RECEIVES receives. */
async function deadLetterOf(envelope: CommandEnvelope): Promise<void> {
  const before = await dlqDepth();
  poisoned.add(envelope.commandId);
  await commandQueue(h.config, { sqs }).send([envelope]);
  await untilDlqHolds(before + 1);
}

/** A game service's command, issued now (moving on is judged by when commands were issued). */
function playerCommand(playerId: string, command: PlayerCommand): CommandEnvelope {
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: command as PlayerCommand & Record<string, unknown>,
    source: { kind: 'service', actor: 'dead-letter-test' },
    identity: ['service', 'dead-letter-test', playerId, randomUUID()],
    issuedAt: new Date(),
  });
}

const list = (query = '') => h.call('GET', `/v1/admin/dead-letters${query}`, { auth: h.admin });
const find = (items: any[], commandId: string) => items.find((i) => i.envelope?.commandId === commandId);
const replay = (messageId: string, body?: unknown) =>
  h.call('POST', `/v1/admin/dead-letters/${messageId}/replay`, { auth: h.admin, ...(body ? { body } : {}) });
const discard = (messageId: string, body?: unknown) =>
  h.call('POST', `/v1/admin/dead-letters/${messageId}/discard`, { auth: h.admin, ...(body ? { body } : {}) });

async function stateOf(playerId: string): Promise<StateItem<PlayerState>> {
  return (await h.store.item<StateItem<PlayerState>>({ pk: entityPk('P', playerId), sk: STATE_SK }))!;
}

/** dl-a's command that keeps failing, issued (in the first test) after the player was created. */
let poisonA: CommandEnvelope;
let malformedId: string;

describe('listing the dead letters', () => {
  it('shows a malformed message with its reason and a command that kept failing with its player, consuming neither', async () => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.commandQueue.url,
        MessageBody: 'this is { not json',
        MessageGroupId: 'player.dl-m',
        MessageDeduplicationId: randomUUID(),
      }),
    );
    await untilDlqHolds(1);
    poisonA = playerCommand('dl-a', { type: 'AddExperience', amount: 40, source: 'poison' });
    await deadLetterOf(poisonA);

    const first = await list();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ complete: true, approximateCount: 2 });
    expect(first.body.items).toHaveLength(2);
    const malformed = first.body.items.find((i: any) => i.envelope === null);
    expect(malformed).toMatchObject({
      reason: expect.stringContaining('not JSON'),
      bodyPreview: 'this is { not json',
      messageGroupId: 'player.dl-m',
      sourceMessageId: expect.any(String),
      commandOutcome: null,
      entity: null,
      firstInGroup: true,
    });
    malformedId = malformed.messageId;
    const poison = find(first.body.items, poisonA.commandId);
    expect(poison).toMatchObject({
      envelope: {
        commandId: poisonA.commandId,
        entityType: 'player',
        entityId: 'dl-a',
        commandType: 'AddExperience',
        issuedAt: poisonA.issuedAt,
      },
      reason: null,
      messageGroupId: messageGroupIdFor('player', 'dl-a'),
      commandOutcome: null,
      entity: { version: 1, movedOn: false },
      firstInGroup: true,
    });
    expect(poison.receiveCount).toBeGreaterThan(MAX_RECEIVES);

    // A look is a receive made visible again: the next look sees the same letters, one receive later.
    const second = await list();
    expect(second.body.items.map((i: any) => i.messageId).sort()).toEqual(
      first.body.items.map((i: any) => i.messageId).sort(),
    );
    expect(find(second.body.items, poisonA.commandId).receiveCount).toBe(poison.receiveCount + 1);
    expect(await dlqDepth()).toBe(2);
    // limit=1 stops early and says so.
    const one = await list('?limit=1');
    expect(one.body).toMatchObject({ complete: false, approximateCount: 2 });
    expect(one.body.items).toHaveLength(1);
  });

  it('is for operators only and refuses bad queries, touching nothing', async () => {
    const items = await h.itemCount();
    expect((await h.call('GET', '/v1/admin/dead-letters')).status).toBe(401);
    expect((await h.call('GET', '/v1/admin/dead-letters', { auth: h.service })).status).toBe(403);
    expect((await h.call('GET', '/v1/admin/dead-letters', { auth: await h.player('dl-a') })).status).toBe(403);
    for (const query of ['?limit=0', '?limit=101', '?limit=ten', '?cursor=x'])
      expect((await list(query)).body.error.code, query).toBe('INVALID_REQUEST');
    expect(await h.itemCount()).toBe(items);
    expect(await dlqDepth()).toBe(2);
  });
});

describe('replaying a dead letter', () => {
  it('applies it exactly once once the fix is in, even when the same command is replayed again', async () => {
    const letter = find((await list()).body.items, poisonA.commandId);
    poisoned.delete(poisonA.commandId);
    const replayed = await replay(letter.messageId);
    expect(replayed.status).toBe(202);
    expect(replayed.body).toEqual({
      messageId: letter.messageId,
      commandId: poisonA.commandId,
      status: 'queued',
      forced: false,
      entity: { version: 1, movedOn: false },
    });
    expect(await outcomeOf(h, poisonA.commandId, h.admin)).toMatchObject({ status: 'applied', version: 2 });
    expect(find((await list()).body.items, poisonA.commandId)).toBeUndefined();
    const audit = await h.store.item<any>({ pk: `DLQ#${letter.messageId}`, sk: 'REPLAYED' });
    expect(audit).toMatchObject({
      operator: 'local-gm',
      forced: false,
      commandId: poisonA.commandId,
      body: JSON.stringify(poisonA),
    });

    // The same command in the DLQ once more (a second copy of it): its replay is a duplicate, not a second effect.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.deadLetterQueue.url,
        MessageBody: JSON.stringify(poisonA),
        MessageGroupId: messageGroupIdFor('player', 'dl-a'),
        MessageDeduplicationId: randomUUID(),
      }),
    );
    const copy = find((await list()).body.items, poisonA.commandId);
    expect(copy).toMatchObject({ commandOutcome: 'applied', entity: { version: 2, movedOn: false } });
    expect((await replay(copy.messageId)).status).toBe(202);
    await pipeline.drained();
    const events = await h.store.allEvents<PlayerEvent>(entityPk('P', 'dl-a'));
    expect(events.filter((e) => e.commandId === poisonA.commandId)).toHaveLength(1);
    expect(await stateOf('dl-a')).toMatchObject({ version: 2, state: { experience: 40 } });
  });

  it('refuses a dead letter whose player moved on (409 PLAYER_MOVED_ON) unless forced with a reason and a ticket', async () => {
    const stale = playerCommand('dl-b', { type: 'GrantItem', itemId: 'qi-pill', quantity: 1, source: 'poison' });
    await deadLetterOf(stale);
    // The player's later command, issued after the dead letter's, applies meanwhile.
    const later = playerCommand('dl-b', { type: 'AddExperience', amount: 5, source: 'quest' });
    await commandQueue(h.config, { sqs }).send([later]);
    await pipeline.drained();
    expect((await stateOf('dl-b')).version).toBe(2);
    poisoned.delete(stale.commandId);

    const letter = find((await list()).body.items, stale.commandId);
    expect(letter.entity).toEqual({ version: 2, movedOn: true });
    const items = await h.itemCount();
    const refused = await replay(letter.messageId);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('PLAYER_MOVED_ON');
    expect(refused.body.error.message).toContain('version 2');
    for (const body of [
      { force: true },
      { force: true, reason: 'after the fix' },
      { force: true, reason: 'after the fix', ticket: 'OPS#1' },
      { force: 'yes', reason: 'after the fix', ticket: 'OPS-1' },
      { force: true, reason: 'after the fix', ticket: 'OPS-1', extra: 1 },
    ]) {
      const r = await replay(letter.messageId, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const raw = await h.call('POST', `/v1/admin/dead-letters/${letter.messageId}/replay`, {
      auth: h.admin,
      raw: '{"force":',
    });
    expect(raw.body.error.code).toBe('INVALID_JSON');
    expect(await h.itemCount()).toBe(items);
    expect((await stateOf('dl-b')).version).toBe(2);
    // Still there, and visible at once: a refusal releases the message.
    expect(find((await list()).body.items, stale.commandId)?.messageId).toBe(letter.messageId);

    const forced = await replay(letter.messageId, { force: true, reason: 'granted after the fix', ticket: 'OPS-1' });
    expect(forced.status).toBe(202);
    expect(forced.body).toMatchObject({ forced: true, entity: { version: 2, movedOn: true } });
    expect(await outcomeOf(h, stale.commandId, h.admin)).toMatchObject({ status: 'applied', version: 3 });
    expect(await h.store.item<any>({ pk: `DLQ#${letter.messageId}`, sk: 'REPLAYED' })).toMatchObject({
      forced: true,
      reason: 'granted after the fix',
      ticket: 'OPS-1',
      operator: 'local-gm',
    });
  });

  it("keeps a player's dead letters in order: the later one waits until the first is replayed", async () => {
    const first = playerCommand('dl-c', { type: 'AddExperience', amount: 1, source: 'poison-1' });
    const second = playerCommand('dl-c', { type: 'AddExperience', amount: 2, source: 'poison-2' });
    poisoned.add(first.commandId);
    poisoned.add(second.commandId);
    const before = await dlqDepth();
    await commandQueue(h.config, { sqs }).send([first, second]);
    await untilDlqHolds(before + 2);
    await pipeline.drained();
    poisoned.delete(first.commandId);
    poisoned.delete(second.commandId);
    const listed = (await list()).body.items.filter((d: any) => d.envelope?.entityId === 'dl-c');
    // The emulator hands out a group's first message only; SQS may add later ones, marked firstInGroup: false.
    expect(listed[0].envelope.commandId).toBe(first.commandId);
    expect(listed.filter((d: any) => d.firstInGroup)).toHaveLength(1);
    const laterInList = listed.find((d: any) => d.envelope.commandId === second.commandId);
    if (laterInList) expect((await replay(laterInList.messageId)).body.error.code).toBe('NOT_FIRST_IN_GROUP');

    expect((await replay(listed[0].messageId)).status).toBe(202);
    expect(await outcomeOf(h, first.commandId, h.admin)).toMatchObject({ status: 'applied', version: 2 });
    const next = find((await list()).body.items, second.commandId);
    expect(next).toMatchObject({ firstInGroup: true, entity: { version: 2, movedOn: false } });
    expect((await replay(next.messageId)).status).toBe(202);
    expect(await outcomeOf(h, second.commandId, h.admin)).toMatchObject({ status: 'applied', version: 3 });
  });

  it('cannot replay a body that is not an envelope (422), which stays in the DLQ', async () => {
    const items = await h.itemCount();
    const r = await replay(malformedId);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('NOT_AN_ENVELOPE');
    expect(await h.itemCount()).toBe(items);
    expect((await list()).body.items.map((i: any) => i.messageId)).toContain(malformedId);
  });
});

describe('discarding a dead letter', () => {
  it('refuses bad input and unknown messages with a 4xx, writing nothing and keeping the message', async () => {
    const items = await h.itemCount();
    expect((await discard(malformedId)).body.error.code).toBe('INVALID_JSON');
    expect((await discard(malformedId, { reason: 'producer bug' })).status).toBe(400);
    expect((await discard(malformedId, { reason: '', ticket: 'OPS-2' })).status).toBe(400);
    expect((await discard(malformedId, { reason: 'producer bug', ticket: 'OPS-2', at: 'now' })).status).toBe(400);
    expect((await discard(encodeURIComponent('not#an-id'), { reason: 'producer bug', ticket: 'OPS-2' })).status).toBe(
      400,
    );
    expect((await discard(randomUUID(), { reason: 'producer bug', ticket: 'OPS-2' })).body.error.code).toBe(
      'DEAD_LETTER_NOT_FOUND',
    );
    expect(
      (
        await h.call('POST', `/v1/admin/dead-letters/${malformedId}/discard`, {
          auth: h.service,
          body: { reason: 'producer bug', ticket: 'OPS-2' },
        })
      ).status,
    ).toBe(403);
    expect(await h.itemCount()).toBe(items);
    expect((await list()).body.items.map((i: any) => i.messageId)).toContain(malformedId);
  });

  it('deletes it and records who discarded what, why and its body', async () => {
    const items = await h.itemCount();
    const r = await discard(malformedId, { reason: 'producer bug, fixed in 1.4.2', ticket: 'OPS-2' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      messageId: malformedId,
      discarded: true,
      audit: {
        pk: `DLQ#${malformedId}`,
        sk: 'DISCARDED',
        messageId: malformedId,
        operator: 'local-gm',
        reason: 'producer bug, fixed in 1.4.2',
        ticket: 'OPS-2',
        at: expect.any(String),
      },
    });
    expect(await h.itemCount()).toBe(items + 1);
    expect(await h.store.item<any>({ pk: `DLQ#${malformedId}`, sk: 'DISCARDED' })).toMatchObject({
      body: 'this is { not json',
      deadLetterReason: expect.stringContaining('not JSON'),
      messageGroupId: 'player.dl-m',
      operator: 'local-gm',
      ticket: 'OPS-2',
    });
    expect((await list()).body.items.map((i: any) => i.messageId)).not.toContain(malformedId);
    expect((await discard(malformedId, { reason: 'again', ticket: 'OPS-2' })).status).toBe(404);
    expect(await dlqDepth()).toBe(0);
  });
});
