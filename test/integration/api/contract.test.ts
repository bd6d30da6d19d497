import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbClient, sqsClient } from '../../../shared/clients.js';
import { commandPk, entityPk, eventSk } from '../../../shared/persistence/tableLayout.js';
import { openApiDocument } from '../../../shared/http/openapi.js';
import { PLAYER_SAFE_COMMANDS } from '../../../shared/http/schemas.js';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/** Edges of the HTTP contract (issue 8, defects 6–8), driven through the real gateway and stand-ins. */

let h: ApiHarness;
let me: string;

const createPlayer = (playerId: string) =>
  h.call('POST', '/v1/players', {
    auth: h.service,
    body: { playerId, name: `Contract ${playerId}` },
    headers: { prefer: 'wait=10' },
  });

beforeAll(async () => {
  h = await startApiHarness();
  me = await h.player('ct-me');
  expect((await createPlayer('ct-me')).body.status).toBe('applied');
});
afterAll(() => h.stop());

describe('a reused Idempotency-Key in flight', () => {
  // The pipeline is held back until both messages are on the queue, so the second request finds no record before
  // it sends (the in-flight case) and the engine decides both.
  let held: ApiHarness;
  let pipeline: CommandPipeline | undefined;

  beforeAll(async () => {
    held = await startApiHarness({ pipeline: false });
    pipeline = startCommandPipeline({ ...held.stack, config: held.config });
    const created = await held.call('POST', '/v1/players', {
      auth: held.service,
      body: { playerId: 'ct-reuse', name: 'Reuse' },
      headers: { prefer: 'wait=10' },
    });
    expect(created.body.status).toBe('applied');
    await pipeline.stop();
  });
  afterAll(async () => {
    await pipeline?.stop();
    await held.stop();
  });

  const grant = (quantity: number, headers: Record<string, string> = {}) =>
    held.call('POST', '/v1/players/ct-reuse/commands', {
      auth: held.service,
      body: { type: 'GrantItem', itemId: 'qi-pill', quantity, source: 'quest' },
      headers: { 'idempotency-key': 'grant-1', ...headers },
    });

  it('answers the second payload 409 IDEMPOTENCY_KEY_REUSED after its wait, applies only the first and records the reuse', async () => {
    const first = await grant(1);
    expect(first).toMatchObject({ status: 202, body: { status: 'queued' } });
    const second = grant(5, { prefer: 'wait=10' });
    await untilQueueHolds(held, 2);
    pipeline = startCommandPipeline({ ...held.stack, config: held.config });

    expect(await second).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    await pipeline.drained();
    const view = await held.call('GET', '/v1/players/ct-reuse', { auth: held.service });
    expect(view.body.inventory).toEqual({ 'qi-pill': 1 });
    // The command keeps the first payload's outcome; the reuse is recorded beside it, never applied.
    expect(await held.call('GET', `/v1/commands/${first.body.commandId}`, { auth: held.service })).toMatchObject({
      status: 200,
      body: { status: 'applied' },
    });
    const records = await commandItems(held, first.body.commandId);
    expect(records.map((r) => [r.sk, r.status, r.code])).toEqual([
      ['C', 'applied', undefined],
      [expect.stringMatching(/^R#/), 'rejected', 'IDEMPOTENCY_KEY_REUSED'],
    ]);
    // Once the original is known, the reused key is refused before anything is sent.
    expect(await grant(5)).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
  });
});

describe("a player's view of their own audit trail", () => {
  it('hides the operator, reason and ticket of an adjustment from the player; services and operators see them', async () => {
    const adjusted = await h.call('POST', '/v1/admin/players/ct-me/adjustments', {
      auth: h.admin,
      body: { currency: 'gold', delta: 25, reason: 'refund for a lost order', ticket: 'SUP-77' },
      headers: { prefer: 'wait=10' },
    });
    expect(adjusted).toMatchObject({ status: 200, body: { status: 'applied' } });
    const page = (auth: string) =>
      h.call('GET', `/v1/players/ct-me/events?afterVersion=${adjusted.body.version - 1}`, { auth });

    const own = await page(me);
    expect(own.status).toBe(200);
    expect(own.body.items[0]).toMatchObject({
      commandType: 'AdjustBalance',
      source: { kind: 'operator', actor: 'operator' },
    });
    expect(own.body.items[0].events).toEqual([{ type: 'BalanceAdjusted', currency: 'gold', delta: 25 }]);
    expect(JSON.stringify(own.body)).not.toMatch(/local-gm|SUP-77|lost order/);

    const full = {
      type: 'BalanceAdjusted',
      currency: 'gold',
      delta: 25,
      operator: 'local-gm',
      reason: 'refund for a lost order',
      ticket: 'SUP-77',
    };
    for (const auth of [h.service, h.admin]) {
      const staff = await page(auth);
      expect(staff.body.items[0]).toMatchObject({ source: { kind: 'operator', actor: 'local-gm' }, events: [full] });
    }
  });
});

describe('Prefer: wait', () => {
  const use = (prefer: string, key: string) =>
    h.call('POST', '/v1/players/ct-me/commands', {
      auth: me,
      body: { type: 'ConsumeEnergy', amount: 1, reason: 'contract' },
      headers: { 'idempotency-key': key, prefer },
    });

  it('refuses a malformed or out-of-range wait with 400 naming header.Prefer, and writes nothing', async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    for (const [i, prefer] of ['wait=100', 'wait=abc', 'wait=11', 'wait=-1', 'wait=1.5', 'wait=', 'wait'].entries()) {
      const r = await use(prefer, `bad-wait-${i}`);
      expect(r, prefer).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_REQUEST', message: expect.stringContaining('header.Prefer') } },
      });
    }
    const create = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId: 'ct-never', name: 'Never' },
      headers: { prefer: 'wait=100' },
    });
    expect(create.status).toBe(400);
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
  });

  it('answers an honoured wait with Preference-Applied and ignores other preferences', async () => {
    const waited = await use('respond-async, wait=5', 'wait-5');
    expect(waited).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect(waited.headers.get('preference-applied')).toBe('wait=5');
    const other = await use('return=minimal', 'no-wait');
    expect(other.status).toBe(202);
    expect(other.headers.get('preference-applied')).toBeNull();
  });
});

describe('version query parameters', () => {
  it('accepts every version up to 9,999,999,999 and refuses above, as the OpenAPI document says', async () => {
    expect(await h.call('GET', '/v1/players/ct-me?minVersion=9999999999', { auth: me })).toMatchObject({
      status: 409,
      body: { error: { code: 'VERSION_NOT_REACHED' } },
    });
    expect(await h.call('GET', '/v1/players/ct-me?minVersion=10000000000', { auth: me })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_REQUEST' } },
    });
    expect(await h.call('GET', '/v1/players/ct-me/events?afterVersion=9999999999', { auth: me })).toMatchObject({
      status: 200,
      body: { items: [], nextAfterVersion: null },
    });
    expect((await h.call('GET', '/v1/players/ct-me/events?afterVersion=10000000000', { auth: me })).status).toBe(400);
    // Past the last version there is nothing, however far a trail runs: version 10,000,000,000 would not sort after it.
    await putEventItem(h, 'ct-far', 1_000_000_001);
    expect(await h.call('GET', '/v1/players/ct-far/events?afterVersion=9999999999', { auth: h.admin })).toMatchObject({
      status: 200,
      body: { items: [], nextAfterVersion: null },
    });
    expect(
      (await h.call('GET', '/v1/players/ct-far/events?afterVersion=1000000000', { auth: h.admin })).body.items,
    ).toHaveLength(1);
    expect((await h.call('GET', '/v1/players/ct-me/events?limit=1000', { auth: me })).status).toBe(400);

    const params = (path: string) =>
      Object.fromEntries(
        ((openApiDocument() as any).paths[path].get.parameters as any[])
          .filter((p) => p.in === 'query')
          .map((p) => [p.name, p.schema.pattern]),
      );
    expect(params('/v1/players/{playerId}')).toEqual({ minVersion: '^\\d{1,10}$' });
    expect(params('/v1/players/{playerId}/events')).toEqual({ afterVersion: '^\\d{1,10}$', limit: '^\\d{1,3}$' });
  });
});

describe('player-safe commands', () => {
  it('lets a player start and complete cultivation', async () => {
    const cultivate = (body: Record<string, unknown>, key: string) =>
      h.call('POST', '/v1/players/ct-me/commands', {
        auth: me,
        body,
        headers: { 'idempotency-key': key, prefer: 'wait=10' },
      });
    expect(
      await cultivate({ type: 'StartCultivation', sessionId: 'ct-s1', techniqueId: 'breathing-method' }, 'cultivate-1'),
    ).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect(await cultivate({ type: 'CompleteCultivation', sessionId: 'ct-s1' }, 'cultivate-2')).toMatchObject({
      status: 200,
      body: { status: 'applied' },
    });
  });

  it('are the ones README.md and docs/api.md list for players', () => {
    const playerRow = readFileSync('README.md', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('| player |'));
    const apiParagraph = readFileSync('docs/api.md', 'utf8')
      .split('\n\n')
      .find((p) => p.startsWith('**Player-safe commands.**'));
    for (const type of PLAYER_SAFE_COMMANDS) {
      const named = new RegExp(`\`${type}\\b`);
      expect(playerRow, `README caller table: ${type}`).toMatch(named);
      expect(apiParagraph, `docs/api.md: ${type}`).toMatch(named);
    }
  });
});

async function untilQueueHolds(harness: ApiHarness, messages: number, timeoutMs = 3000): Promise<void> {
  const sqs = sqsClient(harness.config);
  try {
    for (const started = Date.now(); Date.now() - started < timeoutMs; await new Promise((r) => setTimeout(r, 25))) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: harness.stack.commandQueue.url,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      if (Number(Attributes.ApproximateNumberOfMessages ?? 0) >= messages) return;
    }
  } finally {
    sqs.destroy();
  }
}

/** An event item far along a trail, as no test could reach by sending commands. */
async function putEventItem(harness: ApiHarness, playerId: string, version: number): Promise<void> {
  const db = dynamoDbClient(harness.config);
  try {
    const at = new Date().toISOString();
    const item = {
      pk: entityPk('P', playerId),
      sk: eventSk(version),
      entityType: 'player',
      entityId: playerId,
      version,
      commandId: `c${'1'.repeat(40)}`,
      commandType: 'AddExperience',
      events: [{ type: 'ExperienceGained', amount: 1, source: 'far' }],
      source: { kind: 'service', actor: 'test' },
      issuedAt: at,
      committedAt: at,
      correlationId: 'far',
    };
    await db.send(new PutCommand({ TableName: harness.config.tableName, Item: item }));
  } finally {
    db.destroy();
  }
}

/** The command record and anything recorded beside it (reuses), oldest key first. */
async function commandItems(harness: ApiHarness, commandId: string): Promise<Record<string, any>[]> {
  const db = dynamoDbClient(harness.config);
  try {
    const out = await db.send(
      new QueryCommand({
        TableName: harness.config.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': commandPk(commandId) },
        ConsistentRead: true,
      }),
    );
    return out.Items ?? [];
  } finally {
    db.destroy();
  }
}
