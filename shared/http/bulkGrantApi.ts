import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { maxAmount } from '../domain/player/index.js';
import { operatorReason, opaqueIdSchema } from '../domain/player/commandSchemas.js';
import { needsApproval, type Measure } from '../approvals/policy.js';
import { approvalIdOf } from '../approvals/approvalStore.js';
import {
  bulkGrantIdOf,
  bulkGrantNotes,
  bulkGrantProgress,
  createBulkGrant,
  listBulkGrants,
  payloadHashOf,
  readBulkGrant,
  type BulkGrantRecord,
  type Grant,
  type Target,
} from '../bulk/bulkGrants.js';
import type { Caller } from './caller.js';
import { badRequest, HttpError, json, notFound } from './errors.js';
import { parseBody, parseQuery, parseWith, pathParameters } from './input.js';
import { requirePermission } from './operatorRoles.js';
import { optionalIdempotencyKey } from './playerApi.js';
import { isoDateSchema, noQuery, pageLimitSchema, playerIdSchema } from './schemas.js';
import { requestApproval, type OperatorWriteDeps } from './approvalApi.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

export interface BulkGrantApiDeps extends OperatorWriteDeps {
  /** Starts (or resumes) a running bulk grant in the background: the function invoking itself on AWS, in process locally. */
  readonly startBulkGrant: (bulkGrantId: string) => Promise<void>;
}

/** At most this many listed players per request (a 64 KB body holds about as many ids). */
export const MAX_LISTED_PLAYERS = 5_000;

export const bulkGrantIdSchema = z
  .string()
  .regex(/^bg-[0-9a-f]{32}$/, 'must be a bulk grant id (bg- and 32 hex digits)');
const grantSchema = z.union([
  z.strictObject({ currency: z.enum(['gold', 'spiritStones']), amount: z.int().positive().max(maxAmount.currency) }),
  z.strictObject({ item: opaqueIdSchema, quantity: z.int().positive().max(maxAmount.quantity) }),
]);
export const bulkGrantBody = z
  .strictObject({
    players: z.array(playerIdSchema).min(1).max(MAX_LISTED_PLAYERS).optional(),
    activeOn: isoDateSchema.optional(),
    grant: grantSchema,
    reason: operatorReason,
    ticket: opaqueIdSchema,
  })
  .refine((b) => (b.players === undefined) !== (b.activeOn === undefined), 'must name either players or activeOn');
export const bulkGrantListQuery = z.strictObject({
  limit: pageLimitSchema.optional(),
  cursor: z
    .string()
    .regex(/^[0-9T:.Z-]{1,40}#bg-[0-9a-f]{32}$/, 'is not a cursor')
    .optional(),
});

const note = z.object({
  playerId: z.string(),
  outcome: z.enum(['skipped', 'failed']),
  code: z.string(),
  message: z.string(),
});
export const bulkGrantAnswer = z.object({
  bulkGrantId: bulkGrantIdSchema,
  status: z.enum(['pending-approval', 'running', 'done', 'declined']),
  target: z.union([z.object({ players: z.int() }), z.object({ activeOn: z.string() })]),
  grant: grantSchema,
  reason: z.string(),
  ticket: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  approvalId: z.string().optional(),
  approval: z.object({ approvalId: z.string(), requestedBy: z.string(), approvedBy: z.string() }).optional(),
  finishedAt: z.string().optional(),
  progress: z.object({
    phase: z.enum(['not-started', 'send', 'confirm', 'done']),
    total: z.int().nullable(),
    sent: z.int(),
    granted: z.int(),
    skipped: z.int(),
    failed: z.int(),
  }),
  report: z
    .object({
      granted: z.int(),
      skipped: z.array(note),
      failed: z.array(note),
      truncated: z.boolean(),
    })
    .optional(),
});
export const bulkGrantStartedAnswer = z.object({
  bulkGrantId: bulkGrantIdSchema,
  status: z.enum(['pending-approval', 'running', 'done', 'declined']),
  approvalId: z.string().optional(),
});
export const bulkGrantPageAnswer = z.object({ items: z.array(bulkGrantAnswer), next: z.string().nullable() });

/**
 * POST /v1/admin/bulk-grants: one grant to listed players or to every player active on a day, run in the
 * background as a resumable fan-out, once per (bulk grant, player). Its id comes from the operator and the
 * Idempotency-Key (the ticket when absent), so a retry is the same bulk grant. Above the approval threshold (the
 * grant times the players; every activeOn grant, whose count is not known beforehand) it waits for a second
 * operator's approval.
 */
export async function startBulkGrant(deps: BulkGrantApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'bulkGrants.run');
  parseQuery(event, noQuery);
  const body = parseBody(event, bulkGrantBody);
  const now = deps.channel.now();
  if (body.activeOn !== undefined && body.activeOn > now.toISOString().slice(0, 10))
    throw badRequest('INVALID_REQUEST', 'body.activeOn: must not be a future day');
  const target: Target = body.players ? { players: [...new Set(body.players)] } : { activeOn: body.activeOn! };
  const grant: Grant = body.grant;
  const key = optionalIdempotencyKey(event) ?? `ticket:${body.ticket}`;
  const bulkGrantId = bulkGrantIdOf(operator.id, key);
  const payloadHash = payloadHashOf(target, grant, body.reason, body.ticket);
  const [measure, each]: [Measure, number] =
    'currency' in grant ? [grant.currency, grant.amount] : ['items', grant.quantity];
  const pending = 'activeOn' in target || needsApproval(deps.policy, measure, each * target.players.length);
  const approvalKey = `bulk:${bulkGrantId}`;
  const record = await createBulkGrant(deps, {
    bulkGrantId,
    status: pending ? 'pending-approval' : 'running',
    target,
    grant,
    reason: body.reason,
    ticket: body.ticket,
    requestedBy: operator.id,
    requestedAt: now.toISOString(),
    payloadHash,
    ...(pending ? { approvalId: approvalIdOf(operator.id, approvalKey) } : {}),
  });
  if (record.payloadHash !== payloadHash)
    throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for another request');
  if (record.status === 'pending-approval')
    return requestApproval(deps, operator, { kind: 'bulk-grant', bulkGrantId }, 'bulkGrants.run', body, approvalKey, {
      bulkGrantId,
    });
  if (record.status === 'running') await deps.startBulkGrant(bulkGrantId);
  return json(
    202,
    { bulkGrantId, status: record.status, ...(record.approvalId ? { approvalId: record.approvalId } : {}) },
    { location: `/v1/admin/bulk-grants/${bulkGrantId}` },
  );
}

/** GET /v1/admin/bulk-grants?limit=&cursor=: bulk grants, newest first, each with its progress. */
export async function listBulkGrantPage(deps: BulkGrantApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'bulkGrants.read');
  const { limit = 20, cursor } = parseQuery(event, bulkGrantListQuery);
  const page = await listBulkGrants(deps, limit, cursor);
  return json(200, { items: await Promise.all(page.items.map((r) => bulkGrantView(deps, r, false))), next: page.next });
}

/** GET /v1/admin/bulk-grants/{bulkGrantId}: its progress and, once done, the report (skipped and failed players). */
export async function getBulkGrant(deps: BulkGrantApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'bulkGrants.read');
  parseQuery(event, noQuery);
  const bulkGrantId = parseWith(bulkGrantIdSchema, pathParameters(event).bulkGrantId, 'path.bulkGrantId');
  const record = await readBulkGrant(deps, bulkGrantId);
  if (!record) throw notFound('BULK_GRANT_NOT_FOUND', `no bulk grant ${bulkGrantId}`);
  return json(200, await bulkGrantView(deps, record, true));
}

async function bulkGrantView(
  deps: BulkGrantApiDeps,
  record: BulkGrantRecord,
  withReport: boolean,
): Promise<Record<string, unknown>> {
  const { payloadHash: _hash, pages: _pages, segments: _segments, ...view } = record;
  const progress = await bulkGrantProgress(deps, record);
  if (!withReport || record.status !== 'done') return { ...view, progress };
  const { notes, truncated } = await bulkGrantNotes(deps, record.bulkGrantId);
  return {
    ...view,
    progress,
    report: {
      granted: progress.granted,
      skipped: notes.filter((n) => n.outcome === 'skipped'),
      failed: notes.filter((n) => n.outcome === 'failed'),
      truncated,
    },
  };
}
