import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../../shared/payments/signature.js';
import { provisionTestStack } from '../../support/stack.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/**
 * Payment operations: every verified paid notice is stored before anything else happens, and ends credited exactly
 * once or kept (unmatched, disputed) for operators, whatever the amount, the currency, the order of arrival or a
 * send that fails. Expected stones are computed here from the SKU sizes, not by the code under test.
 */
const STONES: Record<string, number> = { 'stones-100': 100, 'stones-550': 550, 'stones-1200': 1200 };

let h: ApiHarness;
/** Fails the next `failSends` SendMessageBatch calls of the HTTP functions, after the payment record was stored. */
let failSends = 0;

beforeAll(async () => {
  const stack = await provisionTestStack();
  const sqs = new SQSClient({
    region: stack.config.region,
    endpoint: stack.config.sqsEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand' && failSends > 0) {
        failSends--;
        throw Object.assign(new Error('injected: SQS unavailable'), { name: 'ServiceUnavailable', $fault: 'server' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'gamekeepSendFault' },
  );
  h = await startApiHarness({ stack, clients: { sqs }, webhookSecrets: { acme: ['acme-desk-secret'] } });
  for (const playerId of ['payer', 'other'])
    expect(
      (
        await h.call('POST', '/v1/players', {
          auth: h.service,
          body: { playerId, name: `N ${playerId}` },
          headers: { prefer: 'wait=10' },
        })
      ).body.status,
    ).toBe('applied');
});
afterAll(() => h.stop());

let order = 0;
const notice = (overrides: Record<string, unknown> = {}) => ({
  eventId: `evt-d${++order}`,
  orderId: `desk-${order}`,
  playerId: 'payer',
  sku: 'stones-100',
  amount: 99,
  currency: 'USD',
  ...overrides,
});
const deliver = (body: unknown) => {
  const raw = JSON.stringify(body);
  return h.call('POST', '/v1/webhooks/payments/acme', {
    raw,
    headers: { 'gamekeep-signature': signatureHeader(['acme-desk-secret'], raw) },
  });
};
const payment = (orderId: string) => h.call('GET', `/v1/admin/payments/acme/${orderId}`, { auth: h.admin });
const reconcile = () => h.call('POST', '/v1/admin/payments/reconciliations', { auth: h.admin });

async function stonesOf(playerId: string): Promise<number> {
  await h.pipeline!.drained();
  const state = await h.store.item<{ state: { spiritStones: number } }>({ pk: `P#${playerId}`, sk: 'STATE' });
  return state?.state.spiritStones ?? 0;
}

/** PurchaseCredited events of an order in a player's table events (read straight from the table). */
async function creditsOf(playerId: string, orderId: string): Promise<any[]> {
  const items = await h.store.allEvents<any>(`P#${playerId}`);
  return items.flatMap((i) => i.events).filter((e) => e.type === 'PurchaseCredited' && e.orderId === orderId);
}

describe('the payment policy: discounts, taxes and currencies', () => {
  it('credits a discounted, a taxed and a foreign-currency payment inside the policy band, each with what was paid', async () => {
    const before = await stonesOf('payer');
    const paid = [
      notice({ amount: 50 }), // half price: the lowest the default policy credits
      notice({ amount: 128 }), // 29 % tax on top
      notice({ currency: 'EUR', amount: 99 }),
      notice({ currency: 'jpy', amount: 150 }),
      notice({ sku: 'stones-1200', amount: 700 }), // this SKU's own policy: at least 70 %
    ];
    for (const n of paid)
      expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'queued', duplicate: false } });
    expect(await stonesOf('payer')).toBe(before + paid.reduce((sum, n) => sum + STONES[n.sku as string]!, 0));
    const [credit] = await creditsOf('payer', paid[0]!.orderId as string);
    expect(credit).toMatchObject({ price: { amount: 99, currency: 'USD' }, paid: { amount: 50, currency: 'USD' } });
    for (const n of paid) expect((await payment(n.orderId as string)).body).toMatchObject({ status: 'credited' });
  });

  it('keeps a payment it cannot credit as disputed with its reason, lists it, and credits nothing', async () => {
    const before = await stonesOf('payer');
    const cases = [
      { n: notice({ amount: 49 }), code: 'PRICE_MISMATCH' },
      { n: notice({ amount: 129 }), code: 'PRICE_MISMATCH' },
      { n: notice({ sku: 'stones-1200', amount: 699 }), code: 'PRICE_MISMATCH' },
      { n: notice({ currency: 'CHF' }), code: 'CURRENCY_NOT_SOLD' },
      { n: notice({ sku: 'stones-9999' }), code: 'UNKNOWN_SKU' },
    ];
    for (const { n, code } of cases) {
      expect(await deliver(n)).toMatchObject({
        status: 200,
        body: { status: 'disputed', duplicate: false, problem: { code } },
      });
      // A replay (the provider retrying) finds it stored and decided.
      expect(await deliver(n)).toMatchObject({
        status: 200,
        body: { status: 'disputed', duplicate: true, problem: { code } },
      });
    }
    expect(await stonesOf('payer')).toBe(before);
    const listed = await h.call('GET', '/v1/admin/payments/disputed?limit=100', { auth: h.admin });
    expect(listed.status).toBe(200);
    const orders = listed.body.items.map((p: any) => p.orderId);
    for (const { n } of cases) expect(orders).toContain(n.orderId);
    expect(listed.body.items.find((p: any) => p.orderId === cases[0]!.n.orderId)).toMatchObject({
      status: 'disputed',
      amount: 49,
      problem: { code: 'PRICE_MISMATCH' },
    });
  });
});

describe('operators resolve disputed and unmatched payments', () => {
  it('credits a disputed payment once, recording operator, reason and ticket in the credit event', async () => {
    const n = notice({ amount: 10 });
    await deliver(n);
    const before = await stonesOf('payer');
    const credit = await h.call('POST', `/v1/admin/payments/acme/${n.orderId}/credit`, {
      auth: h.admin,
      body: { reason: 'coupon SPRING90 approved', ticket: 'SUP-1' },
    });
    expect(credit).toMatchObject({
      status: 200,
      body: { status: 'queued', resolution: { action: 'credit', reason: 'coupon SPRING90 approved', ticket: 'SUP-1' } },
    });
    expect(await stonesOf('payer')).toBe(before + 100);
    const [event] = await creditsOf('payer', n.orderId as string);
    expect(event).toMatchObject({
      paid: { amount: 10 },
      resolution: { reason: 'coupon SPRING90 approved', ticket: 'SUP-1', operator: expect.any(String) },
    });
    // Settled, it can be neither credited nor dismissed again, and a replay of the webhook credits nothing.
    await reconcile();
    expect((await payment(n.orderId as string)).body).toMatchObject({ status: 'credited' });
    expect(
      await h.call('POST', `/v1/admin/payments/acme/${n.orderId}/credit`, {
        auth: h.admin,
        body: { reason: 'again', ticket: 'SUP-1' },
      }),
    ).toMatchObject({ status: 409, body: { error: { code: 'PAYMENT_NOT_OPEN' } } });
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'credited', duplicate: true } });
    expect(await stonesOf('payer')).toBe(before + 100);
    expect(await creditsOf('payer', n.orderId as string)).toHaveLength(1);
    const history = (await payment(n.orderId as string)).body.history.map((e: any) => e.status);
    expect(history).toEqual(['disputed', 'queued', 'credited']);
  });

  it('dismisses a disputed payment with a reason: nothing is credited, ever', async () => {
    const n = notice({ currency: 'CHF' });
    await deliver(n);
    const before = await stonesOf('payer');
    expect(
      await h.call('POST', `/v1/admin/payments/acme/${n.orderId}/dismiss`, {
        auth: h.admin,
        body: { reason: 'refunded at the provider', ticket: 'SUP-2' },
      }),
    ).toMatchObject({
      status: 200,
      body: { status: 'dismissed', resolution: { action: 'dismiss', ticket: 'SUP-2' } },
    });
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'dismissed', duplicate: true } });
    await reconcile();
    expect(await stonesOf('payer')).toBe(before);
    const listed = await h.call('GET', '/v1/admin/payments/disputed?limit=100', { auth: h.admin });
    expect(listed.body.items.map((p: any) => p.orderId)).not.toContain(n.orderId);
    expect(
      await h.call('POST', `/v1/admin/payments/acme/${n.orderId}/credit`, {
        auth: h.admin,
        body: { reason: 'x', ticket: 'SUP-2' },
      }),
    ).toMatchObject({ status: 409 });
  });

  it('assigns an unmatched payment to an existing player; refuses a player that does not exist', async () => {
    const n = notice({ playerId: 'typo-payer' });
    expect(await deliver(n)).toMatchObject({ body: { status: 'unmatched' } });
    expect(
      await h.call('POST', `/v1/admin/payments/acme/${n.orderId}/credit`, {
        auth: h.admin,
        body: { reason: 'wrong id', ticket: 'SUP-3', playerId: 'nobody-here' },
      }),
    ).toMatchObject({
      status: 404,
      body: { error: { code: 'PLAYER_NOT_FOUND' } },
    });
    const before = await stonesOf('other');
    expect(
      await h.call('POST', `/v1/admin/payments/acme/${n.orderId}/credit`, {
        auth: h.admin,
        body: { reason: 'player wrote a typo', ticket: 'SUP-3', playerId: 'other' },
      }),
    ).toMatchObject({
      status: 200,
      body: { status: 'queued', creditedTo: 'other' },
    });
    expect(await stonesOf('other')).toBe(before + 100);
  });

  it('refuses resolutions from non-operators and bad bodies, writing nothing', async () => {
    const n = notice({ amount: 1 });
    await deliver(n);
    await h.pipeline!.drained();
    const before = await h.itemCount();
    const path = `/v1/admin/payments/acme/${n.orderId}/credit`;
    expect((await h.call('POST', path, { auth: h.service, body: { reason: 'r', ticket: 't' } })).status).toBe(403);
    expect((await h.call('POST', path, { body: { reason: 'r', ticket: 't' } })).status).toBe(401);
    expect((await h.call('POST', path, { auth: h.admin, body: { reason: '', ticket: 't' } })).status).toBe(400);
    expect((await h.call('POST', path, { auth: h.admin, body: { reason: 'r', ticket: 'a#b' } })).status).toBe(400);
    expect(
      (
        await h.call('POST', `/v1/admin/payments/acme/no-such-order/credit`, {
          auth: h.admin,
          body: { reason: 'r', ticket: 't' },
        })
      ).status,
    ).toBe(404);
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
  });
});

describe('a payment that overtakes its player', () => {
  it('is credited exactly once when the player appears, by the reconciler and any replay alike', async () => {
    const n = notice({ playerId: 'late-signup' });
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'unmatched', duplicate: false } });
    expect(
      (
        await h.call('POST', '/v1/players', {
          auth: h.service,
          body: { playerId: 'late-signup', name: 'Late Signup' },
          headers: { prefer: 'wait=10' },
        })
      ).body.status,
    ).toBe('applied');
    // A replay and two reconciliation passes at once: one credit.
    const [replay] = await Promise.all([deliver(n), reconcile(), reconcile()]);
    expect(replay.status).toBe(200);
    await reconcile();
    expect(await stonesOf('late-signup')).toBe(100);
    expect(await creditsOf('late-signup', n.orderId as string)).toHaveLength(1);
    expect((await payment(n.orderId as string)).body).toMatchObject({ status: 'credited' });
    expect(await deliver(n)).toMatchObject({ body: { status: 'credited', duplicate: true } });
    const unmatched = await h.call('GET', '/v1/admin/payments/unmatched?limit=100', { auth: h.admin });
    expect(unmatched.body.items.map((p: any) => p.orderId)).not.toContain(n.orderId);
  });
});

describe('a send that fails after the payment was stored', () => {
  it('answers 5xx, keeps the payment, and the provider replay (or the reconciler) credits it once', async () => {
    const before = await stonesOf('payer');
    const n = notice({ sku: 'stones-550', amount: 499 });
    // Every attempt of the first delivery's send fails (the SDK would retry a few times).
    failSends = 1;
    const first = await deliver(n);
    expect(first.status).toBeGreaterThanOrEqual(500);
    failSends = 0;
    expect((await payment(n.orderId as string)).body).toMatchObject({ status: 'queued' });
    // The receipt exists but nothing was queued: the replay must re-send, not answer duplicate.
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'queued', duplicate: false } });
    expect(await stonesOf('payer')).toBe(before + 550);
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'credited', duplicate: true } });
    expect(await creditsOf('payer', n.orderId as string)).toHaveLength(1);
  });

  it('is found by the reconciler alone when the provider never replays', async () => {
    const before = await stonesOf('payer');
    const n = notice({ sku: 'stones-100', amount: 99 });
    failSends = 1;
    expect((await deliver(n)).status).toBeGreaterThanOrEqual(500);
    failSends = 0;
    const pass = await reconcile();
    expect(pass).toMatchObject({ status: 200, body: { complete: true } });
    expect(pass.body.sent).toBeGreaterThanOrEqual(1);
    expect(await stonesOf('payer')).toBe(before + 100);
    await reconcile();
    expect((await payment(n.orderId as string)).body).toMatchObject({ status: 'credited' });
  });
});

describe('only operators resolve payments', () => {
  it('refuses a game service that sends a CreditPurchase carrying an operator resolution, writing nothing', async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    const forged = {
      type: 'CreditPurchase',
      provider: 'acme',
      orderId: 'forged-1',
      sku: 'stones-100',
      resolution: { operator: 'someone', reason: 'trust me', ticket: 'T-1' },
    };
    const answer = await h.call('POST', '/v1/players/payer/commands', {
      auth: h.service,
      body: forged,
      headers: { 'idempotency-key': 'forged-1' },
    });
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
  });
});
