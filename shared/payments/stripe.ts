import Stripe from 'stripe';
import { z } from 'zod';
import { opaqueIdSchema, playerIdSchema } from '../domain/player/commandSchemas.js';
import type { PaidNotice } from './paymentRecords.js';
import { maxAmount } from '../domain/player/index.js';
import { SIGNATURE_TOLERANCE_SECONDS } from './signature.js';

/** The events that mean "paid": a card payment completes the session; delayed methods succeed later. */
const PAID_EVENTS = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);

const checkoutSession = z.object({
  id: opaqueIdSchema,
  payment_intent: opaqueIdSchema.nullish(),
  payment_status: z.string(),
  amount_total: z.int().nonnegative().max(maxAmount.currency),
  currency: z.string().regex(/^[A-Za-z]{3}$/),
  metadata: z.object({ playerId: playerIdSchema, sku: opaqueIdSchema }),
});

export type StripeDelivery =
  | { kind: 'bad-signature' }
  /** Signed by Stripe but not something Gamekeep can read (not JSON, not a checkout session, bad metadata). */
  | { kind: 'unreadable'; code: 'INVALID_JSON' | 'INVALID_REQUEST'; message: string }
  | { kind: 'ignored'; eventId: string }
  | { kind: 'payment'; notice: PaidNotice };

/**
 * Verifies `Stripe-Signature` with Stripe's own library (any of the endpoint's secrets, for rotation) and turns a
 * paid Checkout Session into a payment notice. The order is the PaymentIntent (the payment itself), so a
 * redelivered event and another event about the same payment credit once.
 */
export function stripeDelivery(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  nowSeconds: number,
): StripeDelivery {
  if (!header) return { kind: 'bad-signature' };
  // Stripe's library refuses only old timestamps; one far in the future is refused too, as our own scheme does.
  const signedAt = /(?:^|,)\s*t=(\d{1,12})(?:,|$)/.exec(header)?.[1];
  if (signedAt === undefined || Number(signedAt) - nowSeconds > SIGNATURE_TOLERANCE_SECONDS)
    return { kind: 'bad-signature' };
  let event: Stripe.Event | undefined;
  for (const secret of secrets) {
    try {
      // The library's clock argument is in milliseconds.
      event = Stripe.webhooks.constructEvent(
        rawBody,
        header,
        secret,
        SIGNATURE_TOLERANCE_SECONDS,
        undefined,
        nowSeconds * 1000,
      );
      break;
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeSignatureVerificationError))
        return { kind: 'unreadable', code: 'INVALID_JSON', message: 'the body is not a Stripe event' };
    }
  }
  if (!event) return { kind: 'bad-signature' };
  if (!PAID_EVENTS.has(event.type)) return { kind: 'ignored', eventId: event.id };
  const session = checkoutSession.safeParse(event.data.object);
  if (!session.success)
    return { kind: 'unreadable', code: 'INVALID_REQUEST', message: firstIssue('data.object', session.error) };
  if (session.data.payment_status !== 'paid') return { kind: 'ignored', eventId: event.id };
  const eventId = opaqueIdSchema.safeParse(event.id);
  if (!eventId.success) return { kind: 'unreadable', code: 'INVALID_REQUEST', message: 'id: is not a Stripe event id' };
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

function firstIssue(where: string, error: z.ZodError): string {
  const issue = error.issues[0];
  return issue
    ? `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`.slice(0, 300)
    : `${where} is invalid`;
}
