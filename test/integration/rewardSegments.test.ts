import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRewardSchedulerHandler } from '../../functions/reward-scheduler/handler.js';
import { runRewardsToCompletion } from '../../local/scheduler.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { readCheckpoint } from '../../shared/rewards/dailyRewards.js';
import { startApiHarness, type ApiHarness } from './api/harness.js';
import { injectFaults } from '../support/faults.js';

/**
 * Issue 9, item 3: a reward run lists players through the entity index, in segments worked in parallel, and
 * never pages the table with a Scan (the wrapper below refuses one before it leaves).
 */
const PLAYERS = Array.from({ length: 40 }, (_, i) => `seg-${String(i).padStart(2, '0')}`);
let h: ApiHarness;
let db: DynamoDBDocumentClient;
const requests: string[] = [];

beforeAll(async () => {
  h = await startApiHarness();
  db = injectFaults(dynamoDbClient(h.config), ({ commandName }) =>
    commandName.includes('Scan') ? new Error('a Scan was issued') : undefined,
  );
  db.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(
        `${String(context.commandName)}${(args.input as { IndexName?: string }).IndexName ? `@${(args.input as { IndexName?: string }).IndexName}` : ''}`,
      );
      return next(args);
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  const created = await Promise.all(
    PLAYERS.map((playerId) =>
      h.call('POST', '/v1/players', { auth: h.service, body: { playerId, name: `Segmented ${playerId}` } }),
    ),
  );
  expect(created.every((r) => r.status === 202)).toBe(true);
  // Histories and records beside the states: a Scan would have to read all of them.
  for (const playerId of PLAYERS.slice(0, 10)) {
    await h.call('POST', `/v1/players/${playerId}/commands`, {
      auth: h.service,
      headers: { 'idempotency-key': 'xp' },
      body: { type: 'AddExperience', amount: 10, source: 'quest' },
    });
  }
  await h.pipeline!.drained();
});

afterAll(async () => {
  db?.destroy();
  await h?.stop();
});

/** RewardGranted events of a task per player, read from the players' event items. */
async function grantsOf(taskId: string): Promise<number[]> {
  await h.pipeline!.drained();
  return Promise.all(
    PLAYERS.map(async (playerId) => {
      const out = await db.send(
        new QueryCommand({
          TableName: h.config.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
          ExpressionAttributeValues: { ':pk': `P#${playerId}`, ':e': 'E#' },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? [])
        .flatMap((i) => i.events as { type: string; taskId?: string }[])
        .filter((e) => e.type === 'RewardGranted' && e.taskId === taskId).length;
    }),
  );
}

const scheduler = () =>
  createRewardSchedulerHandler(h.config, {
    db,
    pageSize: 3,
    segments: 5,
    concurrency: 3,
    continueRun: async () => undefined,
  });

describe('a reward run over the entity index', () => {
  it('grants every player once, in segments, listing players without a Scan', async () => {
    const date = '2026-05-01';
    requests.length = 0;
    const results = await runRewardsToCompletion(scheduler(), date, 60_000);
    expect(results.at(-1)).toMatchObject({ status: 'done', phase: 'done', pending: 0 });
    expect(results.reduce((n, r) => n + r.sent, 0)).toBe(PLAYERS.length);
    expect(await grantsOf(`daily:${date}`)).toEqual(PLAYERS.map(() => 1));
    expect(requests.some((r) => r.includes('Scan'))).toBe(false);
    expect(requests).toContain('QueryCommand@entities');
    const checkpoint = await readCheckpoint({ db, tableName: h.config.tableName }, date);
    expect(checkpoint).toMatchObject({ phase: 'done', done: true, granted: PLAYERS.length, confirmed: PLAYERS.length });
    expect(Object.values(checkpoint!.segments!).map((s) => s.phase)).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('carries a run that was sending on a Scan cursor over to the segments, granting nothing twice', async () => {
    const date = '2026-05-02';
    // What the previous code left mid-run: a page counter and a Scan position (meaningless to the listing).
    await db.send(
      new PutCommand({
        TableName: h.config.tableName,
        Item: {
          pk: `REWARDRUN#${date}`,
          sk: 'RUN',
          seq: 2,
          phase: 'send',
          cursor: { pk: 'P#seg-07', sk: 'STATE' },
          granted: 6,
          confirmed: 0,
          resent: 0,
          startedAt: '2026-05-02T00:00:00.000Z',
        },
      }),
    );
    const results = await runRewardsToCompletion(scheduler(), date, 60_000);
    expect(results.at(-1)).toMatchObject({ status: 'done', phase: 'done' });
    expect(await grantsOf(`daily:${date}`)).toEqual(PLAYERS.map(() => 1));
    expect(await readCheckpoint({ db, tableName: h.config.tableName }, date)).toMatchObject({
      done: true,
      confirmed: PLAYERS.length,
    });
  });
});
