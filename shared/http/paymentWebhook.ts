import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError, badRequest, json, notFound } from './errors.js';
import { parseJson, parseWith, pathParameters, rawBody } from './input.js';
import { paymentNoticeBody, providerSchema } from './schemas.js';
import { acceptPayment, type PaymentDeps } from '../payments/intake.js';
import type { WebhookSecrets } from '../payments/webhookSecrets.js';
import { verifySignature } from '../payments/signature.js';
import { stripeDelivery } from '../payments/stripe.js';

/**
 * POST /v1/webhooks/payments/{provider}: unauthenticated at the gateway, so the signature is the authority. It
 * answers as soon as the credit is enqueued (or the payment recorded as unmatched).
 */
export async function receivePayment(
  deps: PaymentDeps,
  secrets: WebhookSecrets,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const provider = parseWith(providerSchema, pathParameters(event).provider, 'path.provider');
  const known = await secrets(provider);
  if (known.length === 0) throw notFound('UNKNOWN_PROVIDER', `no payment provider ${provider}`);
  const body = rawBody(event);
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);

  if (provider === 'stripe') {
    const delivery = stripeDelivery(body, event.headers?.['stripe-signature'], known, nowSeconds);
    if (delivery.kind === 'bad-signature') throw invalidSignature();
    if (delivery.kind === 'unreadable') throw badRequest(delivery.code, delivery.message);
    if (delivery.kind === 'ignored') return json(200, { status: 'ignored', duplicate: false });
    return json(200, await acceptPayment(deps, delivery.notice));
  }

  if (!verifySignature(event.headers?.['gamekeep-signature'], body, known, nowSeconds)) throw invalidSignature();
  const notice = parseWith(paymentNoticeBody, parseJson(body), 'body');
  return json(200, await acceptPayment(deps, { ...notice, provider }));
}

const invalidSignature = () => new HttpError(401, 'INVALID_SIGNATURE', 'the signature is missing, wrong or stale');
