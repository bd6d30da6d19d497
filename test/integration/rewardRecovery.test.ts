import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRewardSchedulerHandler } from '../../functions/reward-scheduler/handler.js';
import { startCommandPipeline, type CommandPipeline } from '../../local/commandPipeline.js';
import { lambdaContext } from '../../local/lambdaContext.js';
import { runRewardsToCompletion } from '../../local/scheduler.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { readCheckpoint, type RunResult } from '../../shared/rewards/dailyRewards.js';
import { startApiHarness, type ApiHarness } from './api/harness.js';
import { startRestartableQueue, type RestartableQueue } from '../support/restartableQueue.js';

/**
 * Issue 8, defect 3: a reward day is done only when every grant has an outcome. The queue here is an emulator of
 * the test's own, killed between the send and the commit as a crash of the local stack would.
 */
const PLAYERS = Array.from({ length: 60 }, (_, i) => `rr-${String(i).padStart(2, '0')}`);
let queue: RestartableQueue;
let h: ApiHarness;
let db: DynamoDBDocumentClient;
let pipeline: CommandPipeline | undefined;

beforeAll(async () => {
  queue = await startRestartableQueue();
  h = await startApiHarness({ stack: queue.resources });
  db = dynamoDbClient(h.config);
  const created = await Promise.all(
    PLAYERS.map((playerId) =>
      h.call('POST', '/v1/players', { auth: h.service, body: { playerId, name: `Rewarded ${playerId}` } }),
    ),
  );
  expect(created.every((r) => r.status === 202)).toBe(true);
  await h.pipeline!.drained();
  // From here on nothing commits until a test starts a pipeline of its own.
  await h.pipeline!.stop();
});

afterAll(async () => {
  try {
    await pipeline?.stop();
    await h?.stop();
    db?.destroy();
  } finally {
    // Never leave the test's own emulator listening.
    await queue?.stop();
  }
});

const scheduler = (options: { pageSize?: number; reserveMs?: number; continued?: string[] } = {}) =>
  createRewardSchedulerHandler(h.config, {
    pageSize: options.pageSize ?? 25,
    continueRun: async ({ date }) => void options.continued?.push(date),
    ...(options.reserveMs ? { reserveMs: options.reserveMs } : {}),
  });

const startPipeline = (): CommandPipeline =>
  (pipeline ??= startCommandPipeline({ ...queue.resources, config: h.config }, { concurrency: 2 }));

/** RewardGranted events of the day per player, read from the players' event items (not from the run's own records). */
async function rewardsOf(date: string): Promise<number[]> {
  return Promise.all(
    PLAYERS.map(async (playerId) => {
      const out = await db.send(
        new QueryCommand({
          TableName: h.config.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :events)',
          ExpressionAttributeValues: { ':pk': `P#${playerId}`, ':events': 'E#' },
          ConsistentRead: true,
        }),
      );
      const events = (out.Items ?? []).flatMap((item) => item.events as { type: string; taskId?: string }[]);
      return events.filter((e) => e.type === 'RewardGranted' && e.taskId === `daily:${date}`).length;
    }),
  );
}

const total = (results: readonly RunResult[], field: 'sent' | 'resent') => results.reduce((n, r) => n + r[field], 0);

describe('a reward day whose grants the queue lost', () => {
  it('never answers done while grants have no outcome, and after a queue restart re-sends them until every player has one', async () => {
    const date = '2026-04-01';
    const continued: string[] = [];
    const stalled = scheduler({ reserveMs: 1_000, continued });
    // Short invocations until the run has sent every grant and is waiting for outcomes that cannot come.
    const waiting: RunResult[] = [];
    while (waiting.length < 10 && waiting.at(-1)?.phase !== 'confirm')
      waiting.push(await stalled({ date }, lambdaContext('gamekeep-reward-scheduler', 3_000)));
    waiting.push(await stalled({ date }, lambdaContext('gamekeep-reward-scheduler', 3_000)));
    expect(waiting.map((r) => r.status)).toEqual(waiting.map(() => 'continue'));
    expect(continued).toEqual(waiting.map(() => date));
    expect(waiting.at(-1)).toMatchObject({ phase: 'confirm', sent: 0 });
    expect(waiting.at(-1)!.pending).toBeGreaterThan(0);
    expect(total(waiting, 'sent')).toBe(PLAYERS.length);
    expect(await rewardsOf(date)).toEqual(PLAYERS.map(() => 0));

    // The crash: everything queued is gone; the checkpoint (in DynamoDB) says every grant was sent.
    await queue.kill();
    await queue.restart();
    startPipeline();
    const answers: { status: number; body: RunResult }[] = [];
    while (answers.length < 20 && answers.at(-1)?.status !== 200)
      answers.push(await h.call('POST', '/v1/admin/rewards/runs', { auth: h.admin, body: { date } }));
    expect(answers.at(-1)).toMatchObject({ status: 200, body: { date, status: 'done', phase: 'done', pending: 0 } });
    expect(answers.every((a) => (a.status === 202) === (a.body.status === 'continue'))).toBe(true);
    expect(
      total(
        answers.map((a) => a.body),
        'resent',
      ),
    ).toBeGreaterThanOrEqual(PLAYERS.length);

    expect(await rewardsOf(date)).toEqual(PLAYERS.map(() => 1));
    expect(await readCheckpoint({ db, tableName: h.config.tableName }, date)).toMatchObject({
      phase: 'done',
      done: true,
      granted: PLAYERS.length,
      confirmed: PLAYERS.length,
    });
    // Done means done: another run sends nothing and grants nothing more.
    const again = await runRewardsToCompletion(scheduler(), date);
    expect(again).toMatchObject([{ status: 'done', sent: 0, resent: 0 }]);
    expect(await rewardsOf(date)).toEqual(PLAYERS.map(() => 1));
  });

  it('does not trust a day that was marked done before runs confirmed their grants', async () => {
    const date = '2026-04-02';
    startPipeline();
    // The checkpoint the previous code left after sending every grant once, whose messages never reached the engine.
    await db.send(
      new PutCommand({
        TableName: h.config.tableName,
        Item: {
          pk: `REWARDRUN#${date}`,
          sk: 'RUN',
          seq: 3,
          granted: PLAYERS.length,
          done: true,
          startedAt: '2026-04-02T00:00:00.000Z',
          finishedAt: '2026-04-02T00:00:04.000Z',
        },
      }),
    );
    const results = await runRewardsToCompletion(scheduler({ pageSize: 1000 }), date);
    expect(await rewardsOf(date)).toEqual(PLAYERS.map(() => 1));
    expect(results.at(-1)).toMatchObject({ status: 'done', phase: 'done' });
    expect(total(results, 'sent')).toBe(0);
    expect(total(results, 'resent')).toBeGreaterThanOrEqual(PLAYERS.length);
  });
});
