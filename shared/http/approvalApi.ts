import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { operatorReason, type OperatorApproval, type PlayerCommand } from '../domain/player/commandSchemas.js';
import { playerCommandSchema } from '../domain/player/index.js';
import { commandEnvelope, payloadHashOf as commandPayloadHash } from '../engine/envelope.js';
import {
  APPROVAL_STATUSES,
  approvalIdOf,
  currentApproval,
  decideApproval,
  listApprovals,
  openApproval,
  payloadHashOf,
  readApproval,
  type ApprovalAction,
  type ApprovalRequest,
} from '../approvals/approvalStore.js';
import { needsApproval, type OperatorPolicy } from '../approvals/policy.js';
import { chargeOperatorDay } from '../approvals/supportDay.js';
import type { Caller } from './caller.js';
import { submitPlayerCommand, outcomeBody, type CommandChannel } from './commandSubmission.js';
import { HttpError, json, notFound } from './errors.js';
import { parseBody, parseJson, parseQuery, parseWith, pathParameters, preferredWaitMs, rawBody } from './input.js';
import { requireAdjustmentWithinLimit, requirePermission, type Permission } from './operatorRoles.js';
import { optionalIdempotencyKey, submitAndAnswer } from './playerApi.js';
import { adjustmentBody, noQuery, pageLimitSchema, playerIdSchema } from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;
type Operator = ReturnType<typeof requirePermission>;

/** What operators' money and approval routes need: the command channel, the table and the policy. */
export interface OperatorWriteDeps {
  readonly channel: CommandChannel;
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly policy: OperatorPolicy;
  /** Starts a bulk grant once its request is approved (shared/http/bulkGrantApi.ts). */
  readonly approveBulkGrant?: (bulkGrantId: string, approval: OperatorApproval) => Promise<void>;
  /** Closes a bulk grant whose request was declined or expired. */
  readonly declineBulkGrant?: (bulkGrantId: string) => Promise<void>;
}

export const approvalIdSchema = z.string().regex(/^ap-[0-9a-f]{32}$/, 'must be an approval id (ap- and 32 hex digits)');
export const approvalListQuery = z.strictObject({
  status: z.enum(APPROVAL_STATUSES).optional(),
  limit: pageLimitSchema.optional(),
  cursor: z
    .string()
    .regex(/^[0-9T:.Z-]{1,40}#ap-[0-9a-f]{32}$/, 'is not a cursor')
    .optional(),
});
export const approveBody = z.strictObject({ reason: operatorReason.optional() });
export const declineBody = z.strictObject({ reason: operatorReason });

const approvalActionAnswer = z.union([
  z.object({
    kind: z.literal('adjustment'),
    playerId: z.string(),
    currency: z.enum(['gold', 'spiritStones']),
    delta: z.int(),
  }),
  z.object({ kind: z.literal('bulk-grant'), bulkGrantId: z.string() }),
]);
export const approvalAnswer = z.object({
  approvalId: approvalIdSchema,
  status: z.enum(APPROVAL_STATUSES),
  action: approvalActionAnswer,
  permission: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
  reason: z.string(),
  ticket: z.string(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  decisionReason: z.string().optional(),
});
export const approvalPageAnswer = z.object({ items: z.array(approvalAnswer), next: z.string().nullable() });
export const pendingApprovalAnswer = z.object({
  status: z.literal('pending-approval'),
  approvalId: approvalIdSchema,
  approvalStatus: z.enum(APPROVAL_STATUSES),
});
export const approvedAnswer = z.object({
  approval: approvalAnswer,
  command: z
    .object({ commandId: z.string(), status: z.enum(['queued', 'applied', 'rejected']) })
    .loose()
    .optional(),
  bulkGrantId: z.string().optional(),
});

/**
 * POST /v1/admin/players/{playerId}/adjustments: an AdjustBalance whose events name the operator, the reason and
 * the ticket. Its identity is the operator, the player and the Idempotency-Key (the ticket when absent), so a
 * retried request is one adjustment. Support operators adjust up to their limit per action and per day, gm
 * without one; above the approval threshold it is a request a second operator approves (202 pending-approval).
 */
export async function adjustBalance(deps: OperatorWriteDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'balances.adjust');
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  parseQuery(event, noQuery);
  const body = parseBody(event, adjustmentBody);
  requireAdjustmentWithinLimit(operator, body.delta, deps.policy);
  const key = optionalIdempotencyKey(event) ?? `ticket:${body.ticket}`;
  const command = parseWith(
    playerCommandSchema,
    { type: 'AdjustBalance', ...body, operator: operator.id },
    'body',
    'INVALID_COMMAND',
  );
  if (needsApproval(deps.policy, body.currency, body.delta))
    return requestApproval(
      deps,
      operator,
      { kind: 'adjustment', playerId, currency: body.currency, delta: body.delta },
      'balances.adjust',
      body,
      `${playerId}:${key}`,
    );
  if (!operator.roles.includes('gm')) await chargeSupportDay(deps, operator, playerId, command, key);
  return submitAndAnswer(deps.channel, event, operator, playerId, command, key);
}

/**
 * Charges a support operator's day before the adjustment is sent; a retry of a request that was sent already
 * (its command recorded) is not charged again, and a reused key is refused here, before anything is written.
 */
async function chargeSupportDay(
  deps: OperatorWriteDeps,
  operator: Operator,
  playerId: string,
  command: PlayerCommand,
  key: string,
): Promise<void> {
  if (command.type !== 'AdjustBalance') return;
  const envelope = commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command,
    source: { kind: 'operator', actor: operator.id },
    identity: ['operator', operator.id, playerId, key],
    issuedAt: deps.channel.now(),
  });
  const record = await deps.channel.store.commandRecord(envelope.commandId);
  if (record && record.payloadHash !== commandPayloadHash(envelope))
    throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for another request');
  if (record) return;
  await chargeOperatorDay(
    deps,
    {
      operator: operator.id,
      currency: command.currency,
      delta: command.delta,
      request: `${playerId}:${key}`,
      now: deps.channel.now(),
    },
    deps.policy.supportDailyLimit,
  );
}

/**
 * Stores a two-person approval request for `action` and answers 202 pending-approval. The request's id comes from
 * the operator and the key, so asking again is the same request; the same key with another payload is a 409.
 */
export async function requestApproval(
  deps: OperatorWriteDeps,
  operator: Operator,
  action: ApprovalAction,
  permission: Permission,
  why: { reason: string; ticket: string },
  key: string,
  extra: Record<string, unknown> = {},
): Result {
  const stored = await openApprovalRequest(deps, operator, action, permission, why, key);
  return json(
    202,
    { status: 'pending-approval', approvalId: stored.approvalId, approvalStatus: stored.status, ...extra },
    { location: `/v1/admin/approvals/${stored.approvalId}` },
  );
}

async function openApprovalRequest(
  deps: OperatorWriteDeps,
  operator: Operator,
  action: ApprovalAction,
  permission: Permission,
  why: { reason: string; ticket: string },
  key: string,
): Promise<ApprovalRequest> {
  const now = deps.channel.now();
  const payloadHash = payloadHashOf({ action, permission, reason: why.reason, ticket: why.ticket });
  const stored = await openApproval(deps, {
    approvalId: approvalIdOf(operator.id, key),
    status: 'pending',
    action,
    permission,
    requestedBy: operator.id,
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + deps.policy.approvalTtlMs).toISOString(),
    reason: why.reason,
    ticket: why.ticket,
    payloadHash,
  });
  if (stored.payloadHash !== payloadHash)
    throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for another request');
  return stored;
}

/** GET /v1/admin/approvals?status=&limit=&cursor=: requests of one status (pending by default), newest first. */
export async function listApprovalRequests(
  deps: OperatorWriteDeps,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'approvals.read');
  const { status = 'pending', limit = 50, cursor } = parseQuery(event, approvalListQuery);
  const page = await listApprovals(deps, status, limit, cursor, deps.channel.now());
  return json(200, { items: page.items.map(approvalView), next: page.next });
}

/** GET /v1/admin/approvals/{approvalId}. */
export async function getApprovalRequest(
  deps: OperatorWriteDeps,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'approvals.read');
  parseQuery(event, noQuery);
  const request = await approvalOf(deps, event);
  return json(200, approvalView(await currentApproval(deps, request, deps.channel.now())));
}

/**
 * POST /v1/admin/approvals/{approvalId}/approve: another operator than the requester, holding what the action
 * takes, approves; the action is then submitted with both identities in its events. One conditional write decides
 * the request, so it is applied once even when approved twice at once; the approver's own retry (a crash after the
 * decision) submits the same command again, which the engine applies once.
 */
export async function approveRequest(deps: OperatorWriteDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'approvals.read');
  parseQuery(event, noQuery);
  const body = rawBody(event).length === 0 ? {} : parseWith(approveBody, parseJson(rawBody(event)), 'body');
  const request = await approvalOf(deps, event);
  const approver = requireSecondOperator(deps, caller, request);
  const now = deps.channel.now();
  let current = request;
  if (current.status === 'pending') {
    requireUnexpired(request, now);
    const won = await decideApproval(deps, request, {
      status: 'approved',
      by: approver.id,
      at: now,
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
    });
    current = won
      ? { ...request, status: 'approved', decidedBy: approver.id }
      : ((await readApproval(deps, request.approvalId)) ?? request);
  }
  if (current.status !== 'approved' || current.decidedBy !== approver.id)
    throw new HttpError(
      409,
      'APPROVAL_NOT_PENDING',
      `approval ${request.approvalId} is ${current.status}${current.decidedBy ? ` (by ${current.decidedBy})` : ''}`,
    );
  const approval: OperatorApproval = {
    approvalId: request.approvalId,
    requestedBy: request.requestedBy,
    approvedBy: approver.id,
  };
  const decided = (await readApproval(deps, request.approvalId)) ?? current;
  if (request.action.kind === 'bulk-grant') {
    if (!deps.approveBulkGrant) throw new HttpError(503, 'BULK_GRANTS_UNAVAILABLE', 'bulk grants are not served here');
    await deps.approveBulkGrant(request.action.bulkGrantId, approval);
    return json(200, { approval: approvalView(decided), bulkGrantId: request.action.bulkGrantId });
  }
  const { playerId, currency, delta } = request.action;
  const command = parseWith(
    playerCommandSchema,
    {
      type: 'AdjustBalance',
      currency,
      delta,
      operator: request.requestedBy,
      reason: request.reason,
      ticket: request.ticket,
      approval,
    },
    'approval',
    'INVALID_COMMAND',
  );
  const { outcome } = await submitPlayerCommand(
    deps.channel,
    approver,
    playerId,
    command,
    `approval:${request.approvalId}`,
    preferredWaitMs(event),
  );
  return json(200, { approval: approvalView(decided), command: outcomeBody(outcome) });
}

/** POST /v1/admin/approvals/{approvalId}/decline {reason}: another operator than the requester declines it. */
export async function declineRequest(deps: OperatorWriteDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'approvals.read');
  parseQuery(event, noQuery);
  const body = parseBody(event, declineBody);
  const request = await approvalOf(deps, event);
  const decliner = requireSecondOperator(deps, caller, request);
  const now = deps.channel.now();
  if (request.status === 'pending') requireUnexpired(request, now);
  const won =
    request.status === 'pending' &&
    (await decideApproval(deps, request, { status: 'declined', by: decliner.id, at: now, reason: body.reason }));
  const current = (await readApproval(deps, request.approvalId)) ?? request;
  if (!won) throw new HttpError(409, 'APPROVAL_NOT_PENDING', `approval ${request.approvalId} is ${current.status}`);
  if (request.action.kind === 'bulk-grant') await deps.declineBulkGrant?.(request.action.bulkGrantId);
  return json(200, approvalView(current));
}

/**
 * The deciding operator: not the requester, holding the permission the action takes and, for an adjustment, the
 * per-action limit it is within (a gm's large adjustment takes another gm).
 */
function requireSecondOperator(deps: OperatorWriteDeps, caller: Caller, request: ApprovalRequest): Operator {
  const operator = requirePermission(caller, request.permission);
  if (operator.id === request.requestedBy)
    throw new HttpError(
      403,
      'SELF_APPROVAL',
      `operator ${operator.id} asked for approval ${request.approvalId}: another operator decides it`,
    );
  if (request.action.kind === 'adjustment') requireAdjustmentWithinLimit(operator, request.action.delta, deps.policy);
  return operator;
}

/** A pending request past its time is not decided (409 APPROVAL_EXPIRED); readers mark it expired. */
function requireUnexpired(request: ApprovalRequest, now: Date): void {
  if (Date.parse(request.expiresAt) <= now.getTime())
    throw new HttpError(409, 'APPROVAL_EXPIRED', `approval ${request.approvalId} expired at ${request.expiresAt}`);
}

async function approvalOf(deps: OperatorWriteDeps, event: APIGatewayProxyEventV2): Promise<ApprovalRequest> {
  const approvalId = parseWith(approvalIdSchema, pathParameters(event).approvalId, 'path.approvalId');
  const request = await readApproval(deps, approvalId);
  if (!request) throw notFound('APPROVAL_NOT_FOUND', `no approval ${approvalId}`);
  return request;
}

export function approvalView(request: ApprovalRequest): Record<string, unknown> {
  const { payloadHash: _hash, commandId: _commandId, ...view } = request;
  return view;
}
