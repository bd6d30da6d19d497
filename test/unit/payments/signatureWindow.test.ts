import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_TOLERANCE_SECONDS, signatureHeader, verifySignature } from '../../../shared/payments/signature.js';
import { stripeDelivery } from '../../../shared/payments/stripe.js';

// The replay window at its edges, with the clock fixed: the integration tests cannot pin a second on a loaded machine.
const now = 1_800_000_000;
const body = Buffer.from('{"orderId":"o-1","playerId":"p-1","amount":99}');
const secret = 'acme-secret';

describe('the webhook replay window', () => {
  it('is 300 seconds either way', () => expect(SIGNATURE_TOLERANCE_SECONDS).toBe(300));

  it.each([
    [-300, true],
    [-301, false],
    [300, true],
    [301, false],
    [0, true],
  ])('accepts our own signature made %i s from now: %s', (offset, accepted) => {
    expect(verifySignature(signatureHeader([secret], body, now + offset), body, [secret], now)).toBe(accepted);
  });

  it.each([
    [-300, true],
    [-301, false],
    [300, true],
    [301, false],
  ])('accepts a Stripe signature made %i s from now: %s', (offset, accepted) => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created', data: { object: {} } });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: now + offset });
    expect(stripeDelivery(Buffer.from(payload), header, [secret], now).kind !== 'bad-signature').toBe(accepted);
  });
});
