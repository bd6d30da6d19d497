import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRewardSchedulerHandler } from '../../functions/reward-scheduler/handler.js';
import { startCommandPipeline, type CommandPipeline } from '../../local/commandPipeline.js';
import { lambdaContext } from '../../local/lambdaContext.js';
import { runRewardsToCompletion } from '../../local/scheduler.js';
import { signatureHeader } from '../../shared/payments/signature.js';
import { startApiHarness, type ApiHarness } from './api/harness.js';
import { startRestartableQueue, type RestartableQueue } from '../support/restartableQueue.js';

/**
 * Issue 8, defects 2 and 3 together, as the black-box run found them: webhooks answered `200 queued` and a reward
 * day sent, then the queue emulator dies before anything commits (every queued message is gone), and comes back
 * empty. Replaying the webhooks and re-running the day must credit every acknowledged payment exactly once and
 * reward every player exactly once; payments nobody replays are found by the reconciler.
 */
const PLAYERS = Array.from({ length: 20 }, (_, i) => `pr-${String(i).padStart(2, '0')}`);
const SECRET = 'acme-recovery-secret';
const DATE = '2026-05-01';

let queue: RestartableQueue;
let h: ApiHarness;
let pipeline: CommandPipeline | undefined;

beforeAll(async () => {
  queue = await startRestartableQueue();
  h = await startApiHarness({ stack: queue.resources, webhookSecrets: { acme: [SECRET] } });
  const created = await Promise.all(
    PLAYERS.map((playerId) =>
      h.call('POST', '/v1/players', { auth: h.service, body: { playerId, name: `Payer ${playerId}` } }),
    ),
  );
  expect(created.every((r) => r.status === 202)).toBe(true);
  await h.pipeline!.drained();
  // From here on nothing commits until the test starts a pipeline of its own.
  await h.pipeline!.stop();
});

afterAll(async () => {
  try {
    await pipeline?.stop();
    await h?.stop();
  } finally {
    await queue?.stop();
  }
});

const notices = PLAYERS.map((playerId, i) => ({
  eventId: `evt-pr-${i}`,
  orderId: `order-pr-${i}`,
  playerId,
  sku: 'stones-550',
  amount: 499,
  currency: 'USD',
}));
const deliver = (body: unknown) => {
  const raw = JSON.stringify(body);
  return h.call('POST', '/v1/webhooks/payments/acme', {
    raw,
    headers: { 'gamekeep-signature': signatureHeader([SECRET], raw) },
  });
};

/** Events of one player read from the table, counted here rather than by the code under test. */
async function eventsOf(playerId: string): Promise<{ type: string; orderId?: string; taskId?: string }[]> {
  return (await h.store.allEvents<{ type: string; orderId?: string; taskId?: string }>(`P#${playerId}`)).flatMap(
    (i) => i.events,
  );
}

describe('the local stack dies between the acknowledgement and the commit', () => {
  it('credits every acknowledged payment once and rewards every player once after a restart', async () => {
    for (const n of notices)
      expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'queued', duplicate: false } });
    const rewards = createRewardSchedulerHandler(h.config, {
      pageSize: 10,
      reserveMs: 1_000,
      continueRun: async () => undefined,
    });
    // Short invocations: the day is sent but cannot be confirmed, so it must not say done.
    const before = await rewards({ date: DATE }, lambdaContext('gamekeep-reward-scheduler', 3_000));
    expect(before.status).toBe('continue');

    await queue.kill();
    await queue.restart();
    pipeline = startCommandPipeline({ ...queue.resources, config: h.config }, { concurrency: 2 });

    // The provider replays half of the webhooks; those must re-send, not answer duplicate.
    const replayed = notices.filter((_, i) => i % 2 === 0);
    for (const n of replayed)
      expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'queued', duplicate: false } });
    // Nobody replays the other half: the reconciler re-sends them.
    const pass = await h.call('POST', '/v1/admin/payments/reconciliations', { auth: h.admin });
    expect(pass).toMatchObject({ status: 200, body: { complete: true } });
    expect(pass.body.sent).toBeGreaterThanOrEqual(notices.length - replayed.length);
    const results = await runRewardsToCompletion(
      createRewardSchedulerHandler(h.config, { pageSize: 10, continueRun: async () => undefined }),
      DATE,
      60_000,
    );
    expect(results.at(-1)).toMatchObject({ status: 'done', pending: 0 });
    await pipeline.drained();

    for (const n of notices) {
      const events = await eventsOf(n.playerId);
      expect(
        events.filter((e) => e.type === 'PurchaseCredited' && e.orderId === n.orderId),
        n.orderId,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e.type === 'RewardGranted' && e.taskId === `daily:${DATE}`),
        n.playerId,
      ).toHaveLength(1);
    }
    // And now every replay says so; nothing is credited twice.
    for (const n of notices)
      expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'credited', duplicate: true } });
    await pipeline.drained();
    for (const n of notices)
      expect(
        (await eventsOf(n.playerId)).filter((e) => e.type === 'PurchaseCredited'),
        n.playerId,
      ).toHaveLength(1);
    expect((await h.call('GET', '/v1/admin/payments/queued', { auth: h.admin })).body.items).toEqual([]);
  });
});
