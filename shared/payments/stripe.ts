import Stripe from 'stripe';
import { z } from 'zod';
import { badRequest } from '../http/errors.js';
import { describeIssue } from '../http/input.js';
import { opaqueIdSchema, playerIdSchema, type PaymentNotice } from '../http/schemas.js';
import { SIGNATURE_TOLERANCE_SECONDS } from './signature.js';

/** The events that mean "paid": a card payment completes the session; delayed methods succeed later. */
const PAID_EVENTS = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);

const checkoutSession = z.object({
  id: opaqueIdSchema,
  payment_intent: opaqueIdSchema.nullish(),
  payment_status: z.string(),
  amount_total: z.int().nonnegative(),
  currency: z.string(),
  metadata: z.object({ playerId: playerIdSchema, sku: opaqueIdSchema }),
});

export type StripeDelivery = { kind: 'bad-signature' } | { kind: 'ignored'; eventId: string } | { kind: 'payment'; notice: PaymentNotice };

/**
 * Verifies `Stripe-Signature` with Stripe's own library (any of the endpoint's secrets, for rotation) and turns a
 * paid Checkout Session into a payment notice. The order is the PaymentIntent (the payment itself), so a
 * redelivered event and another event about the same payment credit once.
 */
export function stripeDelivery(rawBody: Buffer, header: string | undefined, secrets: readonly string[], nowSeconds: number): StripeDelivery {
  if (!header) return { kind: 'bad-signature' };
  let event: Stripe.Event | undefined;
  for (const secret of secrets) {
    try {
      event = Stripe.webhooks.constructEvent(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS, undefined, nowSeconds);
      break;
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw badRequest('INVALID_JSON', 'the body is not a Stripe event');
    }
  }
  if (!event) return { kind: 'bad-signature' };
  if (!PAID_EVENTS.has(event.type)) return { kind: 'ignored', eventId: event.id };
  const session = checkoutSession.safeParse(event.data.object);
  if (!session.success) throw badRequest('INVALID_REQUEST', describeIssue('data.object', session.error));
  if (session.data.payment_status !== 'paid') return { kind: 'ignored', eventId: event.id };
  const eventId = opaqueIdSchema.safeParse(event.id);
  if (!eventId.success) throw badRequest('INVALID_REQUEST', 'id: is not a Stripe event id');
  const s = session.data;
  return {
    kind: 'payment',
    notice: {
      provider: 'stripe',
      eventId: eventId.data,
      orderId: s.payment_intent ?? s.id,
      playerId: s.metadata.playerId,
      sku: s.metadata.sku,
      amount: s.amount_total,
      currency: s.currency,
    },
  };
}
