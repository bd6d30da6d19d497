import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseBody, parseJson, parseQuery, parseWith, pathParameters, rawBody } from './input.js';
import type { Caller } from './caller.js';
import { requirePermission } from './operatorRoles.js';
import {
  noQuery,
  opaqueIdSchema,
  paymentCreditBody,
  paymentDismissalBody,
  providerSchema,
  rewardRunBody,
  unmatchedQuery,
} from './schemas.js';
import { withCreditOutcome, type PaymentDeps } from '../payments/intake.js';
import { listPayments, paymentRecord, type ListedStatus, type PaymentRecord } from '../payments/paymentRecords.js';
import type { ReconciliationReport } from '../payments/reconciler.js';
import { creditByOperator, dismissByOperator, type ResolutionResult } from '../payments/resolutions.js';
import { HttpError, json, notFound } from './errors.js';
import type { RunResult } from '../rewards/dailyRewards.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/**
 * GET /v1/admin/payments/{unmatched|disputed|queued}: the open payments of one status, by provider and order, with
 * a cursor. Unmatched: the player did not exist when it arrived; disputed: it cannot be credited without an operator.
 */
export async function listOpenPayments(
  deps: PaymentDeps,
  status: ListedStatus,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'payments.read');
  const { limit = 50, after } = parseQuery(event, unmatchedQuery);
  const page = await listPayments(deps, status, limit, after);
  // Queued credits are settled from their outcome first, so the page never shows a credited payment as queued.
  const items = status === 'queued' ? await Promise.all(page.items.map((r) => withCreditOutcome(deps, r))) : page.items;
  return json(200, { items: items.map(paymentView), next: page.next });
}

/** GET /v1/admin/payments/{provider}/{orderId}: one payment with its status and history. */
export async function getPayment(deps: PaymentDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'payments.read');
  parseQuery(event, noQuery);
  const { provider, orderId } = paymentPath(event);
  const record = await paymentRecord(deps, provider, orderId);
  if (!record) throw notFound('PAYMENT_NOT_FOUND', `no payment ${provider}/${orderId}`);
  return json(200, paymentView(await withCreditOutcome(deps, record)));
}

/** POST /v1/admin/payments/{provider}/{orderId}/credit: credit a disputed or unmatched payment, with reason and ticket. */
export async function creditPayment(deps: PaymentDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'payments.resolve');
  parseQuery(event, noQuery);
  const { provider, orderId } = paymentPath(event);
  const body = parseBody(event, paymentCreditBody);
  return resolved(await creditByOperator(deps, provider, orderId, { ...body, operator: operator.id }));
}

/** POST /v1/admin/payments/{provider}/{orderId}/dismiss: close a disputed or unmatched payment without crediting it. */
export async function dismissPayment(deps: PaymentDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'payments.resolve');
  parseQuery(event, noQuery);
  const { provider, orderId } = paymentPath(event);
  const body = parseBody(event, paymentDismissalBody);
  return resolved(await dismissByOperator(deps, provider, orderId, { ...body, operator: operator.id }));
}

/** POST /v1/admin/payments/reconciliations: one reconciliation pass now (it also runs on a schedule). */
export async function reconcilePayments(
  run: () => Promise<ReconciliationReport>,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'payments.reconcile');
  parseQuery(event, noQuery);
  if (rawBody(event).length > 0) parseWith(noQuery, parseJson(rawBody(event)), 'body');
  return json(200, await run());
}

/** The operators' view of a payment record: everything but the stored envelope, whose id and player it names. */
export function paymentView(record: PaymentRecord): Record<string, unknown> {
  const { credit, attempts: _attempts, revision: _revision, lastSentAt: _lastSentAt, ...rest } = record;
  return { ...rest, commandId: credit.commandId, creditedTo: credit.entityId };
}

function paymentPath(event: APIGatewayProxyEventV2): { provider: string; orderId: string } {
  return {
    provider: parseWith(providerSchema, pathParameters(event).provider, 'path.provider'),
    orderId: parseWith(opaqueIdSchema, pathParameters(event).orderId, 'path.orderId'),
  };
}

function resolved(result: ResolutionResult): Awaited<Result> {
  if ('payment' in result) return json(200, paymentView(result.payment));
  throw new HttpError(result.refused === 'PAYMENT_NOT_OPEN' ? 409 : 404, result.refused, result.message);
}

/**
 * POST /v1/admin/rewards/runs: runs (or resumes) a day's reward run for as long as the request may last. 200 only
 * once every grant of the day has an outcome; 202 while grants are still being sent or confirmed (call again).
 */
export async function triggerRewardRun(
  run: (date: string) => Promise<RunResult>,
  event: APIGatewayProxyEventV2,
  caller: Caller,
  today: () => Date,
): Result {
  requirePermission(caller, 'rewards.run');
  parseQuery(event, noQuery);
  const body = rawBody(event).length === 0 ? {} : parseWith(rewardRunBody, parseJson(rawBody(event)), 'body');
  const result = await run(body.date ?? today().toISOString().slice(0, 10));
  return json(result.status === 'done' ? 200 : 202, result);
}
