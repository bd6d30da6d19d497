import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRewardSchedulerHandler } from '../../../functions/reward-scheduler/handler.js';
import { runRewardsToCompletion } from '../../../local/scheduler.js';
import { lambdaContext } from '../../../local/lambdaContext.js';
import { readCheckpoint, DAILY_REWARD } from '../../../shared/rewards/dailyRewards.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import { startApiHarness, type ApiHarness } from './harness.js';

const PLAYERS = Array.from({ length: 30 }, (_, i) => `r-${String(i).padStart(2, '0')}`);
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness();
  const created = await Promise.all(
    PLAYERS.map((playerId) =>
      h.call('POST', '/v1/players', { auth: h.service, body: { playerId, name: `Rewarded ${playerId}` } }),
    ),
  );
  expect(created.every((r) => r.status === 202)).toBe(true);
  await h.pipeline!.drained();
});
afterAll(() => h.stop());

/** Every player's RewardGranted events for a task, from the audit trail. */
async function grantsOf(taskId: string): Promise<Map<string, number>> {
  await h.pipeline!.drained();
  const counts = new Map<string, number>();
  for (const playerId of PLAYERS) {
    const page = await h.call('GET', `/v1/players/${playerId}/events?limit=500`, { auth: h.admin });
    counts.set(
      playerId,
      page.body.items
        .flatMap((i: any) => i.events)
        .filter((e: any) => e.type === 'RewardGranted' && e.taskId === taskId).length,
    );
  }
  return counts;
}

const scheduler = (options: { pageSize?: number; reserveMs?: number } = {}) =>
  createRewardSchedulerHandler(h.config, { pageSize: 7, continueRun: async () => undefined, ...options });

describe('scheduled daily rewards', () => {
  it('grants the day once per player when the run is executed twice and twice at once', async () => {
    const date = '2026-03-01';
    const [a, b] = await Promise.all([
      runRewardsToCompletion(scheduler(), date),
      runRewardsToCompletion(scheduler(), date),
    ]);
    const third = await runRewardsToCompletion(scheduler(), date);
    // The two concurrent runs split the table between them; the third finds the day done.
    const sent = [...a, ...b].reduce((n, r) => n + r.sent, 0);
    expect(sent).toBeGreaterThanOrEqual(PLAYERS.length);
    expect(third).toEqual([
      { date, status: 'done', phase: 'done', pages: 0, sent: 0, resent: 0, confirmed: 0, pending: 0 },
    ]);
    const grants = await grantsOf(`daily:${date}`);
    expect([...grants.values()]).toEqual(PLAYERS.map(() => 1));
    const view = await h.call('GET', '/v1/players/r-00', { auth: h.admin });
    expect(view.body.gold).toBe(1000 + DAILY_REWARD.gold);
    expect(await readCheckpoint({ db: dynamoDbClient(h.config), tableName: h.config.tableName }, date)).toMatchObject({
      done: true,
      granted: sent,
    });
  });

  it('continues itself from the checkpoint when the time budget runs low', async () => {
    const date = '2026-03-02';
    const continued: string[] = [];
    // A budget that only allows a segment or so per invocation: the run has to resume many times.
    const handler = createRewardSchedulerHandler(h.config, {
      pageSize: 7,
      reserveMs: 59_950,
      continueRun: async (input) => void continued.push(input.date),
    });
    const results = await runRewardsToCompletion(handler, date, 60_000);
    expect(results.length).toBeGreaterThan(2);
    expect(results.at(-1)?.status).toBe('done');
    expect(continued.length).toBe(results.length - 1);
    expect(continued.every((d) => d === date)).toBe(true);
    expect([...(await grantsOf(`daily:${date}`)).values()]).toEqual(PLAYERS.map(() => 1));
  });

  it('runs from an EventBridge scheduled event for the day of its time', async () => {
    const result = await scheduler({ pageSize: 1000 })(
      { time: '2026-03-03T00:00:00Z' },
      lambdaContext('gamekeep-reward-scheduler'),
    );
    expect(result).toMatchObject({ date: '2026-03-03', status: 'done' });
    expect([...(await grantsOf('daily:2026-03-03')).values()]).toEqual(PLAYERS.map(() => 1));
  });

  it('lets an operator trigger a run through the admin API, and a second trigger grants nothing more', async () => {
    const first = await h.call('POST', '/v1/admin/rewards/runs', { auth: h.admin, body: { date: '2026-03-04' } });
    expect(first).toMatchObject({ status: 200, body: { date: '2026-03-04', status: 'done' } });
    expect(first.body.sent).toBeGreaterThanOrEqual(PLAYERS.length);
    const again = await h.call('POST', '/v1/admin/rewards/runs', { auth: h.admin, body: { date: '2026-03-04' } });
    expect(again).toMatchObject({ status: 200, body: { status: 'done', sent: 0 } });
    expect([...(await grantsOf('daily:2026-03-04')).values()]).toEqual(PLAYERS.map(() => 1));
    expect(
      await h.call('POST', '/v1/admin/rewards/runs', { auth: h.admin, body: { date: '2026-13-45' } }),
    ).toMatchObject({ status: 400 });
  });
});

describe('operator adjustments', () => {
  const adjust = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    h.call('POST', '/v1/admin/players/r-01/adjustments', {
      auth: h.admin,
      body,
      headers: { prefer: 'wait=10', ...headers },
    });

  it('records the operator, the reason and the ticket in the audit trail', async () => {
    const r = await adjust({
      currency: 'spiritStones',
      delta: 250,
      reason: 'refund for a lost order',
      ticket: 'SUP-1',
    });
    expect(r).toMatchObject({ status: 200, body: { status: 'applied' } });
    const page = await h.call('GET', `/v1/players/r-01/events?afterVersion=${r.body.version - 1}`, { auth: h.admin });
    expect(page.body.items[0]).toMatchObject({
      commandType: 'AdjustBalance',
      source: { kind: 'operator', actor: 'local-gm' },
      events: [
        {
          type: 'BalanceAdjusted',
          currency: 'spiritStones',
          delta: 250,
          operator: 'local-gm',
          reason: 'refund for a lost order',
          ticket: 'SUP-1',
        },
      ],
    });
  });

  it('never drives a balance below zero', async () => {
    const view = await h.call('GET', '/v1/players/r-01', { auth: h.admin });
    const r = await adjust({ currency: 'gold', delta: -(view.body.gold + 1), reason: 'chargeback', ticket: 'SUP-2' });
    expect(r.body).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS' });
    expect((await h.call('GET', '/v1/players/r-01', { auth: h.admin })).body.gold).toBe(view.body.gold);
  });

  it('treats the ticket as the idempotency key: a retry is one adjustment, another payload is 409', async () => {
    const body = { currency: 'gold', delta: 10, reason: 'goodwill', ticket: 'SUP-3' };
    const first = await adjust(body);
    const retry = await adjust(body);
    expect(retry.body.commandId).toBe(first.body.commandId);
    expect(await adjust({ ...body, delta: 20 })).toMatchObject({
      status: 409,
      body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } },
    });
    expect((await adjust({ ...body, delta: 20 }, { 'idempotency-key': 'SUP-3-b' })).body.status).toBe('applied');
  });

  it('validates the body: zero, fractional or huge deltas, unknown fields, key-like tickets', async () => {
    const before = await h.itemCount();
    for (const body of [
      { currency: 'gold', delta: 0, reason: 'x', ticket: 'T' },
      { currency: 'gold', delta: 1.5, reason: 'x', ticket: 'T' },
      { currency: 'gold', delta: 1e300, reason: 'x', ticket: 'T' },
      { currency: 'gems', delta: 1, reason: 'x', ticket: 'T' },
      { currency: 'gold', delta: 1, reason: 'x', ticket: 'a#STATE' },
      { currency: 'gold', delta: 1, reason: 'x', ticket: 'T', operator: 'someone-else' },
    ])
      expect((await adjust(body)).status).toBe(400);
    expect(await h.itemCount()).toBe(before);
  });
});
