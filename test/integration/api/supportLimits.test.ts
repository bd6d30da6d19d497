import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorDay } from '../../../shared/approvals/supportDay.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import { signInOperators, type SignedInOperators } from '../../support/signedInOperators.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/**
 * Support's per-day limit, on top of the per-action one: the sum of absolute amounts per currency and UTC day,
 * charged with one conditional update so concurrent requests never pass it together, a retry charged once, a
 * refusal writing nothing, and the gm role without a limit.
 */
const LIMITS = { supportAdjustmentLimit: 1000, supportDailyLimit: 2500 };
let h: ApiHarness;
let ops: SignedInOperators;
let key = 0;

beforeAll(async () => {
  h = await startApiHarness({ config: LIMITS });
  ops = await signInOperators(h, {
    support: ['support'],
    racer: ['support'],
    spender: ['support'],
    gm: ['gm'],
  });
  for (const playerId of ['hero', 'rich'])
    expect(
      (
        await h.call('POST', '/v1/players', {
          auth: h.service,
          body: { playerId, name: `Player ${playerId}` },
          headers: { prefer: 'wait=10' },
        })
      ).body.status,
    ).toBe('applied');
});
afterAll(async () => {
  await ops?.stop();
  await h?.stop();
});

const adjust = (who: string, delta: number, o: { currency?: string; key?: string; player?: string } = {}) =>
  ops.call(who, 'POST', `/v1/admin/players/${o.player ?? 'hero'}/adjustments`, {
    body: { currency: o.currency ?? 'gold', delta, reason: 'goodwill', ticket: `SL-${++key}` },
    headers: { 'idempotency-key': o.key ?? `sl-${key}` },
  });
const today = () => new Date().toISOString().slice(0, 10);
const dayOf = (operator: string) =>
  operatorDay({ db: dynamoDbClient(h.config), tableName: h.config.tableName }, operator, today());

async function expectRefusedWithoutWrites(r: Promise<Awaited<ReturnType<typeof adjust>>>, code: string) {
  await h.pipeline!.drained();
  const before = await h.itemCount();
  const answer = await r;
  expect({ status: answer.status, code: answer.body.error?.code }).toEqual({ status: 403, code });
  await h.pipeline!.drained();
  expect(await h.itemCount()).toBe(before);
}

describe("support's daily limit", () => {
  it('caps the sum of absolute amounts per currency and day, and refuses past it with nothing written', async () => {
    expect((await adjust('support', 1000)).status).toBe(202);
    expect((await adjust('support', -1000)).status).toBe(202);
    expect((await adjust('support', 500)).status).toBe(202);
    await h.pipeline!.drained();
    const refused = adjust('support', 1);
    await expectRefusedWithoutWrites(refused, 'OVER_DAILY_LIMIT');
    // The per-action limit still comes first.
    await expectRefusedWithoutWrites(adjust('support', 1001), 'OVER_ADJUSTMENT_LIMIT');
    // Another currency has its own sum.
    expect((await adjust('support', 1000, { currency: 'spiritStones' })).status).toBe(202);
    const day = await dayOf('support');
    expect({ gold: day?.gold, spiritStones: day?.spiritStones }).toEqual({ gold: 2500, spiritStones: 1000 });
  });

  it('charges a retried request once', async () => {
    const first = await adjust('spender', 1000, { key: 'retry-me', player: 'rich' });
    await h.pipeline!.drained();
    const retried = await ops.call('spender', 'POST', '/v1/admin/players/rich/adjustments', {
      body: { currency: 'gold', delta: 1000, reason: 'goodwill', ticket: `SL-${key}` },
      headers: { 'idempotency-key': 'retry-me' },
    });
    expect(retried.body.commandId).toBe(first.body.commandId);
    expect((await dayOf('spender'))?.gold).toBe(1000);
  });

  it('holds under concurrent requests: exactly as many pass as fit, and the counter equals what was sent', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => adjust('racer', 400, { player: 'rich' })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 403, 403, 403, 403]);
    expect(answers.filter((a) => a.status === 403).every((a) => a.body.error.code === 'OVER_DAILY_LIMIT')).toBe(true);
    expect((await dayOf('racer'))?.gold).toBe(2400);
    await h.pipeline!.drained();
    const events = await h.call('GET', '/v1/players/rich/events?limit=100', { auth: h.admin });
    const byRacer = events.body.items.filter((i: any) => i.source.actor === 'racer');
    expect(byRacer.map((i: any) => i.events[0].delta)).toEqual([400, 400, 400, 400, 400, 400]);
  });

  it('keeps a charge when the command is then rejected (the limit caps attempts), and lets a gm past it', async () => {
    const spent = await ops.call('spender', 'POST', '/v1/admin/players/rich/adjustments', {
      body: { currency: 'gold', delta: -1000, reason: 'clawback', ticket: 'SL-claw' },
      headers: { prefer: 'wait=10' },
    });
    expect(spent.body.status).toBe('applied');
    // rich holds no spirit stones: rejected, and still counted.
    const broke = await ops.call('spender', 'POST', '/v1/admin/players/rich/adjustments', {
      body: { currency: 'spiritStones', delta: -1000, reason: 'clawback', ticket: 'SL-claw-2' },
      headers: { prefer: 'wait=10' },
    });
    expect(broke.body).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS' });
    expect(await dayOf('spender')).toMatchObject({ gold: 2000, spiritStones: 1000 });
    for (let i = 0; i < 4; i++) expect((await adjust('gm', 1000)).status).toBe(202);
    expect(await dayOf('gm')).toBeUndefined();
  });
});
