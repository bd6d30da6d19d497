import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../../shared/payments/signature.js';
import { startApiHarness, type ApiHarness } from './harness.js';

let h: ApiHarness;
let buyer: string;

beforeAll(async () => {
  h = await startApiHarness({ webhookSecrets: { acme: ['acme-old', 'acme-new'], stripe: ['whsec_test_one'] } });
  buyer = await h.player('buyer');
  expect(
    (await h.call('POST', '/v1/players', { auth: buyer, body: { name: 'Buyer' }, headers: { prefer: 'wait=10' } })).body
      .status,
  ).toBe('applied');
});
afterAll(() => h.stop());

let order = 0;
const notice = (overrides: Record<string, unknown> = {}) => ({
  eventId: `evt-${++order}`,
  orderId: `order-${order}`,
  playerId: 'buyer',
  sku: 'stones-100',
  amount: 99,
  currency: 'USD',
  ...overrides,
});

function deliver(
  body: unknown,
  options: { secrets?: string[]; timestamp?: number; tamper?: (raw: string) => string; header?: string } = {},
) {
  const raw = JSON.stringify(body);
  const header = options.header ?? signatureHeader(options.secrets ?? ['acme-new'], raw, options.timestamp);
  return h.call('POST', '/v1/webhooks/payments/acme', {
    raw: options.tamper ? options.tamper(raw) : raw,
    headers: { 'gamekeep-signature': header },
  });
}

async function spiritStones(): Promise<number> {
  await h.pipeline!.drained();
  return (await h.call('GET', '/v1/players/buyer', { auth: buyer })).body.spiritStones;
}

describe('payment webhooks', () => {
  it('credits a signed payment once and answers a replay with duplicate: true', async () => {
    const before = await spiritStones();
    const n = notice();
    const first = await deliver(n);
    expect(first).toMatchObject({
      status: 200,
      body: { status: 'queued', duplicate: false, commandId: expect.stringMatching(/^c/) },
    });
    expect(await spiritStones()).toBe(before + 100);
    // Once the credit has its outcome, a replay says so.
    const replay = await deliver(n);
    expect(replay).toMatchObject({
      status: 200,
      body: { status: 'credited', duplicate: true, commandId: first.body.commandId },
    });
    expect(await spiritStones()).toBe(before + 100);
  });

  it('accepts either secret during a rotation, and several v1 signatures in one header', async () => {
    expect((await deliver(notice(), { secrets: ['acme-old'] })).status).toBe(200);
    expect((await deliver(notice(), { secrets: ['acme-new'] })).status).toBe(200);
    expect((await deliver(notice(), { secrets: ['retired', 'acme-old'] })).status).toBe(200);
  });

  it('refuses a tampered body, a wrong secret, a stale or future timestamp and a missing header with 401, writing nothing', async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    // Each timestamp is taken as its request is built (the window's edges are pinned in test/unit/payments): a
    // clock read once would drift into the window while the earlier refusals run on a loaded machine.
    const now = () => Math.floor(Date.now() / 1000);
    const refusals = [
      await deliver(notice(), { tamper: (raw) => raw.replace('"amount":99', '"amount":999') }),
      await deliver(notice(), { secrets: ['not-the-secret'] }),
      await deliver(notice(), { timestamp: now() - 301 }),
      await deliver(notice(), { timestamp: now() + 330 }),
      await deliver(notice(), { header: 't=1,v1=zz' }),
      await h.call('POST', '/v1/webhooks/payments/acme', { body: notice() }),
    ];
    for (const r of refusals) expect(r).toMatchObject({ status: 401, body: { error: { code: 'INVALID_SIGNATURE' } } });
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
  });

  it('refuses a notice that is not one (extra fields) and an unknown provider, storing nothing', async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    expect(await deliver(notice({ extra: true }))).toMatchObject({ status: 400 });
    const raw = JSON.stringify(notice());
    const unknown = await h.call('POST', '/v1/webhooks/payments/paypal', {
      raw,
      headers: { 'gamekeep-signature': signatureHeader(['x'], raw) },
    });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_PROVIDER' } } });
    expect(await h.itemCount()).toBe(before);
  });

  it('credits 50 concurrent deliveries of the same payment once', async () => {
    const before = await spiritStones();
    const n = notice({ sku: 'stones-550', amount: 499 });
    const answers = await Promise.all(Array.from({ length: 50 }, () => deliver(n)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => a.body.commandId)).size).toBe(1);
    expect(await spiritStones()).toBe(before + 550);
    const events = await h.call('GET', '/v1/players/buyer/events?limit=500', { auth: buyer });
    const credits = events.body.items
      .flatMap((i: any) => i.events)
      .filter((e: any) => e.type === 'PurchaseCredited' && e.orderId === n.orderId);
    expect(credits).toHaveLength(1);
  });

  it('keeps a payment for an unknown player as unmatched and lists it for operators', async () => {
    const n = notice({ playerId: 'ghost-1' });
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'unmatched', duplicate: false } });
    expect(await deliver(n)).toMatchObject({ status: 200, body: { status: 'unmatched', duplicate: true } });
    const list = await h.call('GET', '/v1/admin/payments/unmatched', { auth: h.admin });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        provider: 'acme',
        orderId: n.orderId,
        playerId: 'ghost-1',
        sku: 'stones-100',
        amount: 99,
        status: 'unmatched',
      }),
    ]);
    expect((await h.call('GET', '/v1/players/ghost-1', { auth: h.admin })).status).toBe(404);
  });
});

describe('Stripe webhooks', () => {
  const secret = 'whsec_test_one';
  let n = 0;
  const checkoutEvent = (
    overrides: {
      type?: string;
      paymentIntent?: string;
      eventId?: string;
      metadata?: Record<string, string>;
      amount?: number;
    } = {},
  ) => ({
    id: overrides.eventId ?? `evt_test_${++n}`,
    object: 'event',
    type: overrides.type ?? 'checkout.session.completed',
    data: {
      object: {
        id: `cs_test_${n}`,
        object: 'checkout.session',
        payment_intent: overrides.paymentIntent ?? `pi_test_${n}`,
        payment_status: 'paid',
        amount_total: overrides.amount ?? 999,
        currency: 'usd',
        metadata: overrides.metadata ?? { playerId: 'buyer', sku: 'stones-1200' },
      },
    },
  });
  const send = (event: unknown, signWith = secret, timestamp?: number) => {
    const payload = JSON.stringify(event);
    const header = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: signWith,
      ...(timestamp !== undefined ? { timestamp } : {}),
    });
    return h.call('POST', '/v1/webhooks/payments/stripe', { raw: payload, headers: { 'stripe-signature': header } });
  };

  it('refuses a Stripe event signed an hour ago or an hour ahead (replay window 300 s), storing and crediting nothing', async () => {
    await h.pipeline!.drained();
    const before = { items: await h.itemCount(), stones: await spiritStones() };
    // The window's edges (300 s in, 301 s out) are pinned with a fixed clock in test/unit/payments; here each
    // timestamp is taken as its request is built, with margin, so a loaded machine cannot drift it into the window.
    for (const offset of [-3600, -301, 330, 3600]) {
      const timestamp = Math.floor(Date.now() / 1000) + offset;
      expect(await send(checkoutEvent(), secret, timestamp), `t = now ${offset}`).toMatchObject({
        status: 401,
        body: { error: { code: 'INVALID_SIGNATURE' } },
      });
    }
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before.items);
    expect(await spiritStones()).toBe(before.stones);
    // Inside the window either way it is credited.
    const now = Math.floor(Date.now() / 1000);
    expect(await send(checkoutEvent(), secret, now - 200)).toMatchObject({ status: 200, body: { status: 'queued' } });
    expect(await send(checkoutEvent(), secret, now + 200)).toMatchObject({ status: 200, body: { status: 'queued' } });
    expect(await spiritStones()).toBe(before.stones + 2400);
  });

  it('credits checkout.session.completed once per Stripe event and per payment', async () => {
    const before = await spiritStones();
    const event = checkoutEvent();
    expect(await send(event)).toMatchObject({ status: 200, body: { status: 'queued', duplicate: false } });
    await h.pipeline!.drained();
    expect(await send(event)).toMatchObject({ status: 200, body: { status: 'credited', duplicate: true } });
    // Another event about the same payment (same PaymentIntent) is the same order.
    const again = checkoutEvent({
      type: 'checkout.session.async_payment_succeeded',
      paymentIntent: event.data.object.payment_intent,
    });
    expect(await send(again)).toMatchObject({ status: 200, body: { status: 'credited', duplicate: true } });
    expect(await spiritStones()).toBe(before + 1200);
  });

  it('refuses a wrong Stripe signature with 401 and ignores other event types', async () => {
    expect(await send(checkoutEvent(), 'whsec_wrong')).toMatchObject({
      status: 401,
      body: { error: { code: 'INVALID_SIGNATURE' } },
    });
    expect(await send(checkoutEvent({ type: 'customer.created' }))).toMatchObject({
      status: 200,
      body: { status: 'ignored' },
    });
    expect(await send(checkoutEvent({ amount: 1 }))).toMatchObject({
      status: 200,
      body: { status: 'disputed', problem: { code: 'PRICE_MISMATCH' } },
    });
    expect(await send(checkoutEvent({ metadata: { playerId: 'a#STATE', sku: 'stones-100' } }))).toMatchObject({
      status: 400,
    });
  });
});
