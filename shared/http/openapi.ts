import { z } from 'zod';
import { routes, type Route } from './routes.js';
import * as s from './schemas.js';
import * as b from './backupApi.js';
import * as ap from './approvalApi.js';
import * as bg from './bulkGrantApi.js';
import * as it from './itemGrantApi.js';

/** JSON Schema of a zod schema as the caller sends it (the input side of transforms). */
const schema = (t: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(t, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const ok = (description: string, body?: z.ZodType) => ({
  description,
  ...(body ? { content: { 'application/json': { schema: schema(body) } } } : {}),
});
const pathParam = (name: string, t: z.ZodType) => ({ name, in: 'path', required: true, schema: schema(t) });
const queryParams = (t: z.ZodObject) =>
  Object.entries(t.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: false,
    schema: schema(field as z.ZodType),
  }));
const idempotencyKey = (required: boolean) => ({
  name: 'Idempotency-Key',
  in: 'header',
  required,
  schema: schema(s.idempotencyKeySchema),
});
const prefer = {
  name: 'Prefer',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description:
    'wait=N, N an integer 0-10 (seconds): answer with the outcome (200) once known, else 202; the answer carries Preference-Applied: wait=N. Another wait value is 400; other preferences are ignored',
};
const PAYMENT_PATH = [pathParam('provider', s.providerSchema), pathParam('orderId', s.opaqueIdSchema)];
const jsonBody = (t: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(t) } } });
const refusals = {
  '400': error('invalid input'),
  '401': error('missing or invalid credentials'),
  '403': error(
    'the caller may not do this (FORBIDDEN); a banned player calling for themself, while the ban lasts, tokens issued before it included (PLAYER_BANNED)',
  ),
  '413': error('body over 64 KB'),
};

/** An operator's command for one player (IAM): queued (202), or its outcome with Prefer: wait (200). */
const operatorCommand = (summary: string, body: z.ZodType, decided = 'decided (Prefer: wait)') => ({
  summary,
  security: [{ iam: [] }],
  parameters: [pathParam('playerId', s.playerIdSchema), idempotencyKey(false), prefer],
  requestBody: jsonBody(body),
  responses: {
    '202': ok('queued', s.acceptedAnswer),
    '200': ok(decided, s.commandStatusAnswer),
    '404': error('no such player'),
    ...refusals,
  },
});

const operations: Record<string, Record<string, unknown>> = {
  'GET /v1/health': {
    summary: 'Liveness',
    security: [],
    responses: { '200': ok('up', z.object({ status: z.literal('ok') })) },
  },
  'GET /v1/openapi.json': { summary: 'This document', security: [], responses: { '200': ok('OpenAPI 3.1') } },
  'POST /v1/players': {
    summary: 'Create a player (a player creates themself: playerId defaults to the token subject)',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [idempotencyKey(false), prefer],
    requestBody: jsonBody(s.createPlayerBody),
    responses: {
      '202': ok('queued', s.acceptedAnswer.extend({ playerId: s.playerIdSchema })),
      '200': ok('decided (Prefer: wait)'),
      '409': error('Idempotency-Key reused'),
      ...refusals,
    },
  },
  'POST /v1/players/{playerId}/commands': {
    summary: `Submit a command. Players, for themselves: ${s.PLAYER_SAFE_COMMANDS.join(', ')}; game services: the server-authoritative commands`,
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), idempotencyKey(true), prefer],
    requestBody: jsonBody(s.commandBody),
    responses: {
      '202': ok('queued', s.acceptedAnswer),
      '200': ok('decided (Prefer: wait)', s.commandStatusAnswer),
      '409': error('Idempotency-Key reused with another payload'),
      ...refusals,
    },
  },
  'GET /v1/commands/{commandId}': {
    summary: 'Outcome of a command',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('commandId', s.commandIdSchema)],
    responses: { '200': ok('status', s.commandStatusAnswer), '404': error('not visible to this caller'), ...refusals },
  },
  'GET /v1/players/{playerId}': {
    summary: 'Player view with its version: from the cache (Redis) or DynamoDB, never older than minVersion',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), ...queryParams(s.playerViewQuery)],
    responses: {
      '200': {
        ...ok('the player', s.playerViewAnswer),
        headers: {
          'X-Cache': {
            description: 'cache: served by Redis; table: read from DynamoDB (strongly consistent)',
            schema: { type: 'string', enum: ['cache', 'table'] },
          },
        },
      },
      '404': error('no such player'),
      '409': {
        ...error(
          'minVersion not reached (VERSION_NOT_REACHED); the message names the current version, 0 if the player does not exist yet',
        ),
        headers: { 'X-Player-Version': { description: 'the version the player is at', schema: { type: 'integer' } } },
      },
      ...refusals,
    },
  },
  'GET /v1/players/{playerId}/events': {
    summary: 'Audit trail page; pass nextAfterVersion as afterVersion for the next page',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), ...queryParams(s.eventsQuery)],
    responses: { '200': ok('a page of event items and nextAfterVersion (null at the end)'), ...refusals },
  },
  'GET /v1/leaderboards/{board}': {
    summary:
      'A leaderboard page: the top `limit` (default 10, at most 100) or the page around a player. Ties rank by player id; period (periodic boards only) defaults to the current UTC day or ISO week',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('board', s.boardSchema), ...queryParams(s.leaderboardQuery)],
    responses: {
      '200': ok('entries best first (rank 1); with around, the player entry (null if not ranked)', s.leaderboardAnswer),
      '404': error('unknown board (UNKNOWN_BOARD)'),
      '503': {
        ...error(
          'leaderboards unavailable (LEADERBOARDS_UNAVAILABLE): Redis unreachable or not configured; retry later',
        ),
        headers: { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } },
      },
      ...refusals,
    },
  },
  'POST /v1/webhooks/payments/{provider}': {
    summary:
      'Payment notification. Gamekeep-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">; provider "stripe" takes Stripe events signed with Stripe-Signature',
    security: [],
    parameters: [
      pathParam('provider', s.providerSchema),
      { name: 'Gamekeep-Signature', in: 'header', required: false, schema: { type: 'string' } },
    ],
    requestBody: jsonBody(s.paymentNoticeBody),
    responses: {
      '200': ok(
        'stored: queued (credit sent), unmatched (no such player yet: credited once it exists), disputed (outside the payment policy: kept for operators); a replay answers the current status, credited once the credit applied, duplicate: true once the outcome is known, and re-sends a credit that has none',
        s.webhookAnswer,
      ),
      '400': error('not a payment notice (bad JSON, fields or ids)'),
      '401': error('bad, stale (over 300 s old) or future (over 300 s ahead) signature'),
      '404': error('unknown provider'),
      '413': error('body over 64 KB'),
    },
  },
  'POST /v1/admin/players/{playerId}/adjustments': {
    summary:
      'Operator balance adjustment (AdjustBalance, balances.adjust); never below zero. Support: at most the per-action limit (OVER_ADJUSTMENT_LIMIT) and the per-day limit per currency (OVER_DAILY_LIMIT). Above the approval threshold: a request a second operator approves (202 pending-approval)',
    security: [{ iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), idempotencyKey(false), prefer],
    requestBody: jsonBody(s.adjustmentBody),
    responses: {
      '202': ok(
        'queued ({commandId, status}), or stored for approval ({status: pending-approval, approvalId})',
        z.union([s.acceptedAnswer, ap.pendingApprovalAnswer]),
      ),
      '200': ok('decided (Prefer: wait)', s.commandStatusAnswer),
      '409': error('ticket / key reused'),
      ...refusals,
    },
  },
  'POST /v1/admin/players/{playerId}/items': operatorCommand(
    'Grant or revoke an item (AdjustInventory, items.grant); a revocation of more than the player holds is rejected INSUFFICIENT_ITEMS, an unknown item UNKNOWN_ITEM, past the stack limit STACK_LIMIT_EXCEEDED',
    it.itemChangeBody,
  ),
  'GET /v1/admin/approvals': {
    summary: 'Two-person approval requests of one status (pending by default), newest first (approvals.read)',
    security: [{ iam: [] }],
    parameters: queryParams(ap.approvalListQuery),
    responses: { '200': ok('a page of requests and next (null at the end)', ap.approvalPageAnswer), ...refusals },
  },
  'GET /v1/admin/approvals/{approvalId}': {
    summary: 'One approval request: what, who asked, why, the ticket, when, until when, and the decision',
    security: [{ iam: [] }],
    parameters: [pathParam('approvalId', ap.approvalIdSchema)],
    responses: {
      '200': ok('the request', ap.approvalAnswer),
      '404': error('no such request (APPROVAL_NOT_FOUND)'),
      ...refusals,
    },
  },
  'POST /v1/admin/approvals/{approvalId}/approve': {
    summary:
      "Approve a request: another operator than the requester (SELF_APPROVAL), holding the action's permission and limit. The action is then submitted once, its events naming requestedBy and approvedBy",
    security: [{ iam: [] }],
    parameters: [pathParam('approvalId', ap.approvalIdSchema), prefer],
    requestBody: { required: false, content: { 'application/json': { schema: schema(ap.approveBody) } } },
    responses: {
      '200': ok('approved: the request and the command (or the bulk grant) it started', ap.approvedAnswer),
      '404': error('no such request (APPROVAL_NOT_FOUND)'),
      '409': error('decided already (APPROVAL_NOT_PENDING) or expired (APPROVAL_EXPIRED)'),
      ...refusals,
    },
  },
  'POST /v1/admin/approvals/{approvalId}/decline': {
    summary: 'Decline a request with a reason: another operator than the requester, holding its permission',
    security: [{ iam: [] }],
    parameters: [pathParam('approvalId', ap.approvalIdSchema)],
    requestBody: jsonBody(ap.declineBody),
    responses: {
      '200': ok('declined', ap.approvalAnswer),
      '404': error('no such request (APPROVAL_NOT_FOUND)'),
      '409': error('decided already (APPROVAL_NOT_PENDING) or expired (APPROVAL_EXPIRED)'),
      ...refusals,
    },
  },
  'POST /v1/admin/bulk-grants': {
    summary:
      'Grant one thing to listed players (deduplicated) or to every player active on a day (bulkGrants.run), in the background, once per player. Above the approval threshold (grant × players; every activeOn grant) it waits for a second operator',
    security: [{ iam: [] }],
    parameters: [idempotencyKey(false)],
    requestBody: jsonBody(bg.bulkGrantBody),
    responses: {
      '202': {
        ...ok(
          'running ({bulkGrantId, status}), or waiting for approval ({status: pending-approval, approvalId, bulkGrantId})',
          z.union([bg.bulkGrantStartedAnswer, ap.pendingApprovalAnswer.extend({ bulkGrantId: bg.bulkGrantIdSchema })]),
        ),
        headers: { Location: { description: 'its progress, or the approval request', schema: { type: 'string' } } },
      },
      '409': error('ticket / key reused with another payload'),
      ...refusals,
    },
  },
  'GET /v1/admin/bulk-grants': {
    summary: 'Bulk grants, newest first, each with its progress (bulkGrants.read)',
    security: [{ iam: [] }],
    parameters: queryParams(bg.bulkGrantListQuery),
    responses: { '200': ok('a page of bulk grants and next (null at the end)', bg.bulkGrantPageAnswer), ...refusals },
  },
  'GET /v1/admin/bulk-grants/{bulkGrantId}': {
    summary:
      'A bulk grant: progress (total, sent, granted, skipped, failed) and, once done, the report of skipped (unknown players) and failed players with their rejection',
    security: [{ iam: [] }],
    parameters: [pathParam('bulkGrantId', bg.bulkGrantIdSchema)],
    responses: {
      '200': ok('the bulk grant', bg.bulkGrantAnswer),
      '404': error('no such bulk grant (BULK_GRANT_NOT_FOUND)'),
      ...refusals,
    },
  },
  'GET /v1/admin/payments/unmatched': {
    summary:
      'Payments for players that did not exist when they arrived; each is credited by the reconciler once its player exists, or by an operator',
    security: [{ iam: [] }],
    parameters: queryParams(s.unmatchedQuery),
    responses: {
      '200': ok('a page of unmatched payments and next (null at the end)', s.paymentPageAnswer),
      ...refusals,
    },
  },
  'GET /v1/admin/payments/disputed': {
    summary:
      'Paid notices that cannot be credited without an operator (unknown SKU, currency not sold, amount outside the policy, a rejected credit)',
    security: [{ iam: [] }],
    parameters: queryParams(s.unmatchedQuery),
    responses: {
      '200': ok('a page of disputed payments and next (null at the end)', s.paymentPageAnswer),
      ...refusals,
    },
  },
  'GET /v1/admin/payments/queued': {
    summary: 'Payments whose credit was sent and has no outcome yet (the reconciler settles or re-sends them)',
    security: [{ iam: [] }],
    parameters: queryParams(s.unmatchedQuery),
    responses: { '200': ok('a page of queued payments and next (null at the end)', s.paymentPageAnswer), ...refusals },
  },
  'GET /v1/admin/payments/{provider}/{orderId}': {
    summary: 'One payment: its status, problem, credit command and history',
    security: [{ iam: [] }],
    parameters: PAYMENT_PATH,
    responses: {
      '200': ok('the payment', s.paymentAnswer),
      '404': error('no such payment (PAYMENT_NOT_FOUND)'),
      ...refusals,
    },
  },
  'POST /v1/admin/payments/{provider}/{orderId}/credit': {
    summary:
      'Credit a disputed or unmatched payment (optionally to another player), recording the operator, reason and ticket in the credit event',
    security: [{ iam: [] }],
    parameters: PAYMENT_PATH,
    requestBody: jsonBody(s.paymentCreditBody),
    responses: {
      '200': ok('the payment, now queued (or credited)', s.paymentAnswer),
      '404': error('no such payment (PAYMENT_NOT_FOUND) or player (PLAYER_NOT_FOUND)'),
      '409': error('the payment is not disputed or unmatched (PAYMENT_NOT_OPEN)'),
      ...refusals,
    },
  },
  'POST /v1/admin/payments/{provider}/{orderId}/dismiss': {
    summary:
      'Close a disputed or unmatched payment without crediting it (refunded, fraud, a test), with reason and ticket',
    security: [{ iam: [] }],
    parameters: PAYMENT_PATH,
    requestBody: jsonBody(s.paymentDismissalBody),
    responses: {
      '200': ok('the payment, now dismissed', s.paymentAnswer),
      '404': error('no such payment (PAYMENT_NOT_FOUND)'),
      '409': error('not disputed or unmatched (PAYMENT_NOT_OPEN)'),
      ...refusals,
    },
  },
  'POST /v1/admin/payments/reconciliations': {
    summary:
      'Reconcile every open payment now (it also runs on a schedule): settle queued credits, re-send those without an outcome, credit unmatched payments whose player exists',
    security: [{ iam: [] }],
    responses: { '200': ok('what the pass did', s.reconciliationAnswer), ...refusals },
  },
  'GET /v1/admin/stats': {
    summary:
      'Player-cache counters of the whole system (scope: system, summed in Redis by every API instance, at most a second late each) or, when Redis cannot be read, of the answering instance (scope: instance); instance: the answering instance alone; cache is null without Redis',
    security: [{ iam: [] }],
    responses: { '200': ok('counters since the process started', s.statsAnswer), ...refusals },
  },
  'POST /v1/admin/rewards/runs': {
    summary: 'Trigger the daily reward run of a date (default today, UTC); grants once per player whatever happens',
    security: [{ iam: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: schema(s.rewardRunBody) } } },
    responses: {
      '202': ok(
        'not done yet (call again): grants still being sent, or sent without an outcome yet (re-sent while they have none)',
        s.rewardRunAnswer,
      ),
      '200': ok('done: every grant of the day has an outcome', s.rewardRunAnswer),
      ...refusals,
    },
  },
  'GET /v1/admin/dead-letters': {
    summary:
      'What the command DLQ holds, consuming nothing: SQS has no peek, so the look receives with a short visibility timeout and makes every message visible again at once. It sees the first message of every FIFO group (and later ones SQS hands out in the same receive); each look counts in receiveCount. For an envelope: its command, its recorded outcome, and whether its entity moved on (committed a version issued after it)',
    security: [{ iam: [] }],
    parameters: queryParams(s.deadLetterListQuery),
    responses: {
      '200': ok('up to limit (default 20, at most 100) dead letters', s.deadLetterPageAnswer),
      '503': error('no dead-letter queue configured (DEAD_LETTERS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'POST /v1/admin/dead-letters/{messageId}/replay': {
    summary:
      'Send a dead letter back to the command queue under its own command id (the engine applies it at most once), then delete it; recorded as DLQ#<messageId> / REPLAYED with the operator',
    security: [{ iam: [] }],
    parameters: [pathParam('messageId', s.deadLetterIdSchema)],
    requestBody: { required: false, content: { 'application/json': { schema: schema(s.deadLetterReplayBody) } } },
    responses: {
      '202': ok('sent to the command queue: poll GET /v1/commands/{commandId}', s.deadLetterReplayAnswer),
      '404': error(
        'not visible in the DLQ (DEAD_LETTER_NOT_FOUND): gone, held by another request, or behind its group',
      ),
      '409': error(
        'its entity moved on since it was issued (<TYPE>_MOVED_ON, e.g. PLAYER_MOVED_ON: force it with reason and ticket), or an earlier dead letter of its group waits (NOT_FIRST_IN_GROUP)',
      ),
      '422': error(
        'the body is not a command envelope (NOT_AN_ENVELOPE) or names an unknown entity type (UNKNOWN_ENTITY_TYPE)',
      ),
      '503': error('no dead-letter queue configured (DEAD_LETTERS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'POST /v1/admin/dead-letters/{messageId}/discard': {
    summary:
      'Delete a dead letter after recording it, body included, with the operator, reason and ticket (DLQ#<messageId> / DISCARDED)',
    security: [{ iam: [] }],
    parameters: [pathParam('messageId', s.deadLetterIdSchema)],
    requestBody: jsonBody(s.deadLetterDiscardBody),
    responses: {
      '200': ok('deleted; the audit item', s.deadLetterDiscardAnswer),
      '404': error('not visible in the DLQ (DEAD_LETTER_NOT_FOUND)'),
      '503': error('no dead-letter queue configured (DEAD_LETTERS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'GET /v1/admin/players/{playerId}/history': {
    summary:
      "A player's state at a past version (atVersion) or as of a time (atTime: the last version committed by then)",
    security: [{ iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), ...queryParams(s.historyQuery)],
    responses: {
      '200': ok('the state at that version', s.historyAnswer),
      '404': error('no such player'),
      '409': error('an event item is missing (HISTORY_DAMAGED): run the consistency check'),
      '422': error('the version is after the current one'),
      ...refusals,
    },
  },
  'GET /v1/admin/players/{playerId}/diff': {
    summary: 'Every field that changed between two versions, before and after (dotted paths)',
    security: [{ iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), ...queryParams(s.diffQuery)],
    responses: {
      '200': ok('the changed fields', s.diffAnswer),
      '404': error('no such player'),
      '409': error('an event item is missing (HISTORY_DAMAGED)'),
      '422': error('a version is after the current one'),
      ...refusals,
    },
  },
  'POST /v1/admin/players/{playerId}/rollbacks': {
    summary:
      "Roll a player back to a version or time by a compensating RolledBack event (history is never rewritten): the impact analysis with dryRun, else the command through the player's queue group",
    security: [{ iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), idempotencyKey(false), prefer],
    requestBody: jsonBody(s.rollbackBody),
    responses: {
      '200': ok(
        'dryRun: the impact analysis (undone commands, deltas, related and untouched players)',
        s.rollbackPreviewAnswer,
      ),
      '202': ok('queued', s.acceptedAnswer),
      '409': error('undone commands touched players left alone (ROLLBACK_BREAKS_TRADE), or a reused key'),
      '422': error('nothing to roll back, too long, across an earlier rollback, or too many related players'),
      '404': error('no such player'),
      ...refusals,
    },
  },
  'POST /v1/admin/players/{playerId}/quarantine': operatorCommand(
    'Quarantine a player: its commands are then recorded rejected ENTITY_QUARANTINED until it is released',
    s.quarantineBody,
  ),
  'POST /v1/admin/players/{playerId}/repairs': operatorCommand(
    "Act on a checker's finding that needs an operator: a RepairState command sets the state to the fold of its events (a StateRepaired event with the deltas)",
    s.repairBody,
    'decided (Prefer: wait): applied, or REPAIR_STALE / NOTHING_TO_REPAIR',
  ),
  'POST /v1/admin/checks': {
    summary:
      'Start a consistency check (schema, invariants, integrity, references, ledger, read side) over every player or a sample; repair applies the safe class',
    security: [{ iam: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: schema(s.checkBody) } } },
    responses: {
      '202': ok('started', z.object({ checkId: z.string(), status: z.literal('running') })),
      ...refusals,
    },
  },
  'POST /v1/admin/rebuilds': {
    summary:
      'Rebuild the read side (every cached view and leaderboard) from the table in the rebuild function, which continues itself until done',
    security: [{ iam: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: schema(s.rebuildBody) } } },
    responses: {
      '202': ok('started', z.object({ status: z.literal('started'), resume: z.boolean() })),
      '503': error('no rebuild function here (REBUILD_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'GET /v1/admin/checks/{checkId}': {
    summary: "A check's report: counts per class, the first findings and what was repaired",
    security: [{ iam: [] }],
    parameters: [pathParam('checkId', z.string().regex(/^k[0-9a-f]{32}$/))],
    responses: { '200': ok('the report (status running or done)'), '404': error('no such check'), ...refusals },
  },
  'POST /v1/admin/players/{playerId}/release': operatorCommand('Release a quarantined player', s.quarantineBody),
  'POST /v1/admin/backups': {
    summary:
      'Take a backup in the backup worker: full (every item, the default; tier daily or weekly) or incremental (what the event archive received since the last backup). The answer names the backup; GET /v1/admin/backups?backupId= lists it once its manifest is written',
    security: [{ iam: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: schema(b.backupStartBody) } } },
    responses: {
      '202': {
        ...ok('started', b.backupStartedAnswer),
        headers: { Location: { description: 'the listing of this backup', schema: { type: 'string' } } },
      },
      '409': error('an increment without a backup to start from (INCREMENT_WITHOUT_BASE)'),
      '503': error('this stack keeps no backups (BACKUPS_UNAVAILABLE): no backup bucket, or no key for it'),
      ...refusals,
    },
  },
  'GET /v1/admin/backups': {
    summary:
      'Every whole backup, newest first, with its counts, chunks, bytes, chain link and last verification; and the last drill',
    security: [{ iam: [] }],
    parameters: queryParams(b.backupListQuery),
    responses: {
      '200': ok('a page of backups (limit default 20, at most 100) and next (null at the end)', b.backupPageAnswer),
      '503': error('this stack keeps no backups (BACKUPS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'POST /v1/admin/backups/{backupId}/verifications': {
    summary:
      "Verify a backup in the backup worker: re-read every chunk (size, SHA-256, decryption, content), the manifest's seal and the chain. The result becomes the backup's lastVerification: passed, or failed with the damage code (CHUNK_HASH_MISMATCH, CHUNK_TRUNCATED, CHUNK_MISSING, WRONG_KEY, CHAIN_BROKEN, …)",
    security: [{ iam: [] }],
    parameters: [pathParam('backupId', b.backupIdSchema)],
    requestBody: { required: false, content: { 'application/json': { schema: schema(b.emptyBody) } } },
    responses: {
      '202': {
        ...ok('started: the verification as it starts (status running)', b.verificationAnswer),
        headers: { Location: { description: 'the listing of its backup', schema: { type: 'string' } } },
      },
      '404': error('no such backup (BACKUP_NOT_FOUND)'),
      '503': error('this stack keeps no backups (BACKUPS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'POST /v1/admin/drills': {
    summary:
      'Run a restore drill in the backup worker: a full backup and an increment, restored into a scratch table, verified, compared with the source and checked, then the scratch table removed; the report is the RTO/RPO table, measured',
    security: [{ iam: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: schema(b.emptyBody) } } },
    responses: {
      '202': {
        ...ok('started', b.drillStartedAnswer),
        headers: { Location: { description: 'its report', schema: { type: 'string' } } },
      },
      '503': error('this stack keeps no backups (BACKUPS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'GET /v1/admin/drills/{drillId}': {
    summary: "A drill's report: running, then passed or failed with its RTO and RPO figures",
    security: [{ iam: [] }],
    parameters: [pathParam('drillId', b.drillIdSchema)],
    responses: {
      '200': ok('the report', b.drillReportAnswer),
      '404': error('no such drill, or not started by the worker yet (DRILL_NOT_FOUND)'),
      '503': error('this stack keeps no backups (BACKUPS_UNAVAILABLE)'),
      ...refusals,
    },
  },
  'GET /v1/admin/players': {
    summary:
      'Find a player by name: exact and case-insensitive (the name as CreatePlayer claimed it, normalized); items is empty when nobody holds it',
    security: [{ iam: [] }],
    parameters: queryParams(s.playerLookupQuery),
    responses: { '200': ok('the player holding the name, if any', s.playerLookupAnswer), ...refusals },
  },
  'GET /v1/admin/players/{playerId}': {
    summary:
      "The console's player page: the whole state read strongly consistently, with its version, the lasting ban (banned) and the quarantine (quarantined), or null",
    security: [{ iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema)],
    responses: { '200': ok('the player', s.adminPlayerAnswer), '404': error('no such player'), ...refusals },
  },
  'POST /v1/admin/players/{playerId}/ban': operatorCommand(
    "Ban a player (gm): a BanPlayer command whose PlayerBanned event names the operator, reason, ticket and until; while it lasts the player's own calls are refused 403 PLAYER_BANNED, until ends it by itself. Game services and operators still act on the player",
    s.banBody,
    'decided (Prefer: wait): applied, or BAN_ALREADY_OVER',
  ),
  'POST /v1/admin/players/{playerId}/unban': operatorCommand(
    'Lift the lasting ban (gm): an UnbanPlayer command, its PlayerUnbanned event naming the operator, reason and ticket',
    s.unbanBody,
    'decided (Prefer: wait): applied, or NOT_BANNED',
  ),
  'GET /v1/admin/audit': {
    summary:
      'The audit: every decided command (applied or rejected) of every player, service, payment provider, schedule, operator and the system, newest first, filtered by actor, source kind, command type, player and time (from/to inclusive), with the events applied commands committed. Entries are kept per source kind (GAMEKEEP_AUDIT_RETENTION_DAYS); pass cursor for the next page',
    security: [{ iam: [] }],
    parameters: queryParams(s.auditQuery),
    responses: {
      '200': ok('a page (limit default 50, at most 100) and cursor (null at the end)', s.auditPageAnswer),
      ...refusals,
    },
  },
};

/** Routes of the table with no operation described here. */
export function undocumentedRoutes(): string[] {
  return routes.map((r) => `${r.method} ${r.path}`).filter((key) => !operations[key]);
}

/** The OpenAPI 3.1 document of API v1, generated from the route table and the schemas the handlers enforce. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes as readonly Route[]) {
    // A route added without its description still appears (a test insists every route is described).
    const op = operations[`${r.method} ${r.path}`] ?? {
      summary: `${r.method} ${r.path}`,
      responses: { '200': ok('ok'), ...refusals },
    };
    const path = paths[r.path] ?? {};
    path[r.method.toLowerCase()] = { operationId: operationId(r), ...op };
    paths[r.path] = path;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gamekeep HTTP API',
      version: '1.0.0',
      description: 'Errors are {"error": {"code", "message"}}; bad input is a 4xx and writes nothing.',
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start' }],
    paths,
    components: {
      schemas: { Error: schema(s.errorAnswer) },
      securitySchemes: {
        playerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'players: sub = playerId (HS256 locally)',
        },
        iam: {
          type: 'http',
          scheme: 'bearer',
          description: 'AWS: SigV4 (IAM) on the internal API; locally the service or admin token',
        },
      },
    },
  };
}

function operationId(r: Route): string {
  return (
    r.method.toLowerCase() +
    r.path
      .replace(/[{}]/g, '')
      .split(/[/.]/)
      .filter((p) => p && p !== 'v1')
      .map((p) => p[0]!.toUpperCase() + p.slice(1))
      .join('')
  ).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
}
