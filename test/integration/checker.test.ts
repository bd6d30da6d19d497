import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { dynamoDbClient } from '../../shared/clients.js';
import { checkerDeps, runCheck, type CheckReport, type Finding } from '../../shared/checker/index.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { startRedis, type LocalRedis } from '../../local/redis.js';
import { startProjectionPipeline, type ProjectionPipeline } from '../../local/projectionPipeline.js';
import { startApiHarness, outcomeOf, type ApiHarness } from './api/harness.js';
import { boardsIn, ranked, truthOf, until } from './readside/truth.js';

/**
 * The consistency checker against damage injected behind the engine's back, straight into DynamoDB Local and
 * Redis: each kind is found, `repair` fixes the safe class, a check afterwards is clean of it, and nothing else
 * changed (every other item compared byte for byte with a copy taken before).
 */
let stack: LocalStack;
let redis: LocalRedis;
let h: ApiHarness;
let projection: ProjectionPipeline;
let db: DynamoDBDocumentClient;
const players = ['ck-a', 'ck-b', 'ck-c', 'ck-d', 'ck-e', 'ck-f', 'ck-g', 'ck-h'];

const key = (pk: string, sk: string) => ({ TableName: h.config.tableName, Key: { pk, sk } });
const get = async (pk: string, sk: string) =>
  (await db.send(new GetCommand({ ...key(pk, sk), ConsistentRead: true }))).Item;
const check = (options: { repair?: boolean; sample?: number } = {}): Promise<CheckReport> =>
  runCheck(checkerDeps(h.config, db, h.readSide, { settleMs: 0 }), { segments: 2, ...options });
const about = (r: CheckReport, entityId: string): Finding[] => r.findings.filter((f) => f.entityId === entityId);

async function serve(playerId: string, command: Record<string, unknown>, idempotencyKey: string): Promise<void> {
  const r = await h.call('POST', `/v1/players/${playerId}/commands`, {
    auth: h.service,
    body: command,
    headers: { 'idempotency-key': idempotencyKey, prefer: 'wait=10' },
  });
  expect(r.body.status).toBe('applied');
}

/** The read side equals the table, computed independently of the code under test. */
async function settled(): Promise<void> {
  await until(async () => {
    const truth = ranked(await truthOf(db, h.config.tableName, players));
    const boards = await boardsIn(h.readSide!.redis);
    for (const [k, expected] of truth)
      if (JSON.stringify(boards.get(k) ?? []) !== JSON.stringify(expected)) return false;
    return true;
  }, 'projection caught up');
}

beforeAll(async () => {
  [stack, redis] = await Promise.all([
    startLocalStack({ stream: true, tableName: 'checker', queueName: 'checker' }),
    startRedis(),
  ]);
  h = await startApiHarness({ stack, redisUrl: redis.url });
  projection = await startProjectionPipeline(h.config, { pollIntervalMs: 50 });
  db = dynamoDbClient(h.config);
  for (const id of players) {
    const r = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId: id, name: `Checked ${id}` },
      headers: { prefer: 'wait=10' },
    });
    expect(r.body.status).toBe('applied');
    await serve(id, { type: 'AddExperience', amount: 120, source: 'quest' }, 'xp');
    await serve(id, { type: 'SpendCurrency', currency: 'gold', amount: 10, reason: 'shop' }, 'spend');
  }
  await serve('ck-g', { type: 'GrantItem', itemId: 'qi-pill', quantity: 1, source: 'quest' }, 'pill');
  await serve(
    'ck-h',
    {
      type: 'Trade',
      tradeId: 'ck-trade',
      counterpartyId: 'ck-g',
      give: { gold: 5 },
      receive: { items: [{ itemId: 'qi-pill', quantity: 1 }] },
    },
    'trade',
  );
  await settled();
  // Views are cached on read.
  for (const id of players) await h.call('GET', `/v1/players/${id}`, { auth: h.service });
});
afterAll(async () => {
  await projection?.stop();
  await h?.stop();
  await Promise.all([stack?.stop(), redis?.stop()]);
});

describe('the consistency checker', () => {
  it('finds nothing on a sound table and read side, sampled or whole', async () => {
    const full = await check();
    expect(full.findings).toEqual([]);
    expect(full.status).toBe('done');
    expect(full.entitiesChecked).toBe(players.length);
    expect(full.claimsChecked).toBeGreaterThanOrEqual(players.length); // every name is a claim
    const sample = await check({ sample: 0.5 });
    expect(sample.findings).toEqual([]);
    expect(sample.entitiesChecked).toBeLessThanOrEqual(players.length);
  });

  it('runs as its Lambda across invocations from its checkpoint, a page at a time, to the same report', async () => {
    const { createConsistencyCheckerHandler } = await import('../../functions/consistency-checker/handler.js');
    const { lambdaContext } = await import('../../local/lambdaContext.js');
    const continuations: string[] = [];
    // No time to spare after a step: every invocation does one step per segment and continues itself.
    const handler = createConsistencyCheckerHandler(h.config, {
      readSide: h.readSide!,
      reserveMs: 120_000,
      continueRun: async ({ checkId }) => {
        continuations.push(checkId);
      },
    });
    let report = await handler({ sample: 1, scanPage: 5 }, lambdaContext('consistency-checker'));
    for (let i = 0; report.status !== 'done' && i < 200; i++) {
      expect(continuations.at(-1)).toBe(report.checkId);
      report = await handler({ checkId: report.checkId }, lambdaContext('consistency-checker'));
    }
    expect(report.status).toBe('done');
    expect(continuations.length).toBeGreaterThan(3);
    expect(report.entitiesChecked).toBe(players.length);
    expect(report.findings).toEqual([]);
  });

  it('finds each injected damage, repairs the safe class, and is clean of it afterwards', async () => {
    const redisClient = h.readSide!.redis;
    // 1. A state item edited: operator (a repair command is proposed).
    await db.send(
      new UpdateCommand({
        ...key('P#ck-a', 'STATE'),
        UpdateExpression: 'SET #s.gold = :g',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':g': 1_000_000 },
      }),
    );
    // 2. An event item deleted: isolate.
    await db.send(new DeleteCommand(key('P#ck-b', `E#${String(2).padStart(10, '0')}`)));
    // 3. A claim without its command: operator.
    await db.send(
      new PutCommand({
        TableName: h.config.tableName,
        Item: {
          pk: 'TASK#forged#ck-c',
          sk: 'TASK',
          commandId: `c${'0'.repeat(40)}`,
          entityType: 'player',
          entityId: 'ck-c',
          claimedAt: new Date().toISOString(),
        },
      }),
    );
    // 4. A cached view from an older version: safe.
    const cached = await redisClient.hmget('gk:player:{ck-d}', 'v', 'd');
    const older = { ...JSON.parse(cached[1]!), version: 1, gold: 1000 };
    await redisClient.hset('gk:player:{ck-d}', 'v', '1', 'd', JSON.stringify(older));
    // 5. A leaderboard score changed: safe.
    await redisClient.zadd('gk:lb:{wealth}', -123, 'ck-e');
    // 6. A snapshot corrupted (a player with 100+ versions has one): safe.
    await db.send(
      new PutCommand({
        TableName: h.config.tableName,
        Item: {
          pk: 'P#ck-f',
          sk: `S#${String(3).padStart(10, '0')}`,
          entityType: 'player',
          entityId: 'ck-f',
          version: 3,
          state: { garbage: true },
          stateHash: '0'.repeat(64),
          foldedFrom: 0,
          committedAt: new Date().toISOString(),
        },
      }),
    );
    const untouched = await Promise.all(['ck-g', 'ck-h'].map((id) => get(`P#${id}`, 'STATE')));

    const found = await check();
    expect(about(found, 'ck-a').map((f) => [f.class, f.kind])).toEqual(
      expect.arrayContaining([
        ['operator', 'state-not-fold'],
        ['operator', 'ledger'],
      ]),
    );
    const proposal = about(found, 'ck-a').find((f) => f.kind === 'state-not-fold' && f.repair);
    expect(proposal?.repair).toMatchObject({ action: 'repair-state', command: { expectedVersion: 3 } });
    expect(about(found, 'ck-b').map((f) => [f.class, f.kind])).toContainEqual(['isolate', 'version-gap']);
    expect(about(found, 'ck-c').map((f) => [f.class, f.kind])).toContainEqual(['operator', 'claim']);
    expect(about(found, 'ck-d').map((f) => [f.class, f.kind])).toContainEqual(['safe', 'cached-view']);
    expect(about(found, 'ck-e').map((f) => [f.class, f.kind])).toContainEqual(['safe', 'leaderboard']);
    expect(about(found, 'ck-f').map((f) => [f.class, f.kind])).toContainEqual(['safe', 'schema']);
    expect(about(found, 'ck-g')).toEqual([]);
    expect(about(found, 'ck-h')).toEqual([]);

    const repaired = await check({ repair: true });
    expect(
      repaired.repairs
        .filter((r) => r.result === 'repaired')
        .map((r) => r.finding.entityId)
        .sort(),
    ).toEqual(['ck-d', 'ck-e', 'ck-f']);
    const after = await check();
    for (const id of ['ck-d', 'ck-e', 'ck-f']) expect(about(after, id), id).toEqual([]);
    // What needs an operator or isolation is still reported, never "repaired" behind their back.
    expect(about(after, 'ck-a').length).toBeGreaterThan(0);
    expect(about(after, 'ck-b').length).toBeGreaterThan(0);
    expect(about(after, 'ck-c').length).toBeGreaterThan(0);
    // The repairs touched nothing else.
    expect(await Promise.all(['ck-g', 'ck-h'].map((id) => get(`P#${id}`, 'STATE')))).toEqual(untouched);
    expect(JSON.parse((await redisClient.hget('gk:player:{ck-d}', 'd'))!).version).toBe(3);
    expect(await redisClient.zscore('gk:lb:{wealth}', 'ck-e')).toBe(String(-(1000 - 10)));
    expect((await get('P#ck-f', `S#${String(3).padStart(10, '0')}`))?.state).toEqual(
      (await get('P#ck-f', 'STATE'))?.state,
    );

    // The operator's repair: an audited command appending StateRepaired, after which ck-a is sound.
    const r = await h.call('POST', '/v1/admin/players/ck-a/repairs', {
      auth: h.admin,
      body: { ...(proposal!.repair as { command: object }).command, reason: 'edited behind the engine', ticket: 'R-1' },
    });
    expect(r.status).toBe(202);
    expect((await outcomeOf(h, r.body.commandId, h.admin)).status).toBe('applied');
    const a = await get('P#ck-a', 'STATE');
    expect(a?.state.gold).toBe(1000 - 10);
    expect(a?.version).toBe(4);
    await until(async () => about(await check(), 'ck-a').length === 0, 'ck-a is sound after its repair');
  });
});
