import { z } from 'zod';
import { COMMAND_ID_PATTERN, SourceKind } from '../engine/envelope.js';
import { maxAmount, playerCommandSchema, type PlayerCommandType } from '../domain/player/index.js';
import {
  adjustBalanceSchema,
  opaqueIdSchema,
  operatorReason,
  playerIdSchema,
} from '../domain/player/commandSchemas.js';
import { boardNames } from '../readside/leaderboards.js';
import type { PlayerView } from '../readside/playerView.js';

/**
 * Every input of every route, as schemas: the handlers parse with them and docs/openapi.json is generated from
 * them, so the document cannot drift from what is enforced.
 */

export { playerIdSchema };
export const commandIdSchema = z.string().regex(COMMAND_ID_PATTERN, 'must be c followed by 40 hex digits');
export const providerSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be 1-32 of a-z 0-9 - and start with a letter');
/** Ids that reach a key: letters, digits and `_ . : -` only, never `#`. */
export { opaqueIdSchema };
export const idempotencyKeySchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
    'must be 1-128 of A-Z a-z 0-9 _ . : - and start with a letter or digit',
  );
export const isoDateSchema = z.iso.date();

/** A non-negative integer in a query string; its digit pattern derives from `max`, so the OpenAPI document agrees. */
const counter = (max: number) =>
  z
    .string()
    .regex(new RegExp(`^\\d{1,${String(max).length}}$`), `must be an integer from 0 to ${max}`)
    .transform(Number)
    .pipe(z.int().min(0).max(max));

export const createPlayerBody = z.strictObject({
  playerId: playerIdSchema.optional(),
  name: z.string().max(200),
});

/**
 * Commands a player may send for themself: they only spend or use what the player already has, or propose an
 * action the server decides (cultivation's experience comes from the server's clock and the technique's capped rate).
 */
export const PLAYER_SAFE_COMMANDS: readonly PlayerCommandType[] = [
  'PurchaseItem',
  'UseItem',
  'ConsumeEnergy',
  'StartCultivation',
  'CompleteCultivation',
];
/** Server-authoritative commands a game service may send (creation has its own route; adjustments are the operators'). */
export const SERVICE_COMMANDS: readonly PlayerCommandType[] = [
  'CreditPurchase',
  'GrantReward',
  'SpendCurrency',
  'AddExperience',
  'ConsumeEnergy',
  'RestoreEnergy',
  'GrantItem',
  'UseItem',
  'Trade',
  'PurchaseItem',
  'StartCultivation',
  'CompleteCultivation',
  'RecordCombatResult',
];
export const ALL_COMMAND_TYPES: readonly string[] = playerCommandSchema.options.map((o) => o.shape.type.value);

export const commandBody = playerCommandSchema;

/** `limit=` of a paged admin listing: 1 to 100. */
export const pageLimitSchema = counter(100).pipe(z.int().min(1));

/** Routes that take no query parameters refuse any, like unknown body fields. */
export const noQuery = z.strictObject({});

/** The highest version an event key can hold (10 zero-padded digits, see `eventSk`). */
const MAX_VERSION = 9_999_999_999;
export const playerViewQuery = z.strictObject({ minVersion: counter(MAX_VERSION).optional() });
export const eventsQuery = z.strictObject({
  afterVersion: counter(MAX_VERSION).optional(),
  limit: counter(500).pipe(z.int().min(1)).optional(),
});

/** Leaderboards: `period` only on the periodic boards (a UTC day or an ISO week), `around` a player id. */
export const boardSchema = z.enum(boardNames);
export const isoWeekSchema = z.string().regex(/^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/, 'must be an ISO week like 2026-W48');
export const leaderboardQuery = z.strictObject({
  period: z
    .union([isoDateSchema, isoWeekSchema], { error: 'must be a UTC day (YYYY-MM-DD) or an ISO week (YYYY-Www)' })
    .optional(),
  limit: counter(100).pipe(z.int().min(1)).optional(),
  around: playerIdSchema.optional(),
});

export const paymentNoticeBody = z.strictObject({
  eventId: opaqueIdSchema,
  orderId: opaqueIdSchema,
  playerId: playerIdSchema,
  sku: opaqueIdSchema,
  /** Minor units (cents); what was actually paid, which the shop's payment policy compares with the list price. */
  amount: z.int().positive().max(maxAmount.currency),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code'),
});
export type PaymentNotice = z.infer<typeof paymentNoticeBody> & { provider: string };

/** The adjustment an operator sends: the AdjustBalance command without its type, and the operator taken from the caller. */
export const adjustmentBody = adjustBalanceSchema.omit({
  type: true,
  operator: true,
  approval: true,
  bulkGrantId: true,
});

export const unmatchedQuery = z.strictObject({
  limit: counter(100).pipe(z.int().min(1)).optional(),
  after: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'is not a cursor')
    .optional(),
});

/** An operator's resolution of an open payment: why, under which ticket, and (to credit) optionally another player. */
export const paymentCreditBody = z.strictObject({
  reason: operatorReason,
  ticket: opaqueIdSchema,
  playerId: playerIdSchema.optional(),
});
export const paymentDismissalBody = z.strictObject({ reason: operatorReason, ticket: opaqueIdSchema });

export const paymentStatusSchema = z.enum(['queued', 'credited', 'unmatched', 'disputed', 'dismissed']);
/** What operators see of a payment (GET /v1/admin/payments/...). */
export const paymentAnswer = z.object({
  provider: z.string(),
  orderId: z.string(),
  eventId: z.string(),
  playerId: z.string(),
  sku: z.string(),
  amount: z.int(),
  currency: z.string(),
  status: paymentStatusSchema,
  problem: z.object({ code: z.string(), message: z.string() }).optional(),
  commandId: commandIdSchema,
  creditedTo: z.string(),
  resolution: z
    .object({
      action: z.enum(['credit', 'dismiss']),
      operator: z.string(),
      reason: z.string(),
      ticket: z.string(),
      at: z.string(),
    })
    .optional(),
  receivedAt: z.string(),
  updatedAt: z.string(),
  history: z.array(
    z.object({
      at: z.string(),
      status: paymentStatusSchema,
      by: z.string(),
      note: z.string().optional(),
      reason: z.string().optional(),
      ticket: z.string().optional(),
    }),
  ),
});
export const paymentPageAnswer = z.object({ items: z.array(paymentAnswer), next: z.string().nullable() });
export const webhookAnswer = z.object({
  status: z.union([paymentStatusSchema, z.literal('ignored')]),
  duplicate: z.boolean(),
  commandId: commandIdSchema.optional(),
  problem: z.object({ code: z.string(), message: z.string() }).optional(),
});
export const reconciliationAnswer = z.object({
  checked: z.int(),
  ended: z.record(paymentStatusSchema, z.int()),
  sent: z.int(),
  complete: z.boolean(),
});

export const rewardRunAnswer = z.object({
  date: isoDateSchema,
  status: z.enum(['done', 'continue']),
  phase: z.enum(['send', 'confirm', 'done']),
  pages: z.int(),
  sent: z.int(),
  resent: z.int(),
  confirmed: z.int(),
  pending: z.int(),
});

export const rewardRunBody = z.strictObject({ date: isoDateSchema.optional() });

/** Answers, for the OpenAPI document. */
export const errorAnswer = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export const acceptedAnswer = z.object({
  commandId: commandIdSchema,
  status: z.enum(['queued', 'applied', 'rejected']),
});
const statistics = z.object({
  cultivation: z.object({ sessions: z.int(), seconds: z.int(), experience: z.int() }),
  combat: z.object({ fought: z.int(), wins: z.int(), losses: z.int(), draws: z.int(), winRate: z.number() }),
});
export const playerViewAnswer = z.object({
  playerId: playerIdSchema,
  version: z.int(),
  updatedAt: z.string(),
  name: z.string(),
  level: z.int(),
  realm: z.string(),
  experience: z.int(),
  energy: z.int(),
  maxEnergy: z.int(),
  gold: z.int(),
  spiritStones: z.int(),
  attributes: z.record(z.string(), z.int()),
  inventory: z.record(z.string(), z.int()),
  cultivating: z.object({ sessionId: z.string(), techniqueId: z.string(), startedAt: z.string() }).nullable(),
  statistics,
});
// The contract describes the view the read side builds, field for field: a drift on either side breaks the build.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
export const viewMatchesContract: SameKeys<z.infer<typeof playerViewAnswer>, PlayerView> = true;
const viewFitsContract = (view: PlayerView): z.infer<typeof playerViewAnswer> => view;
void viewFitsContract;
const leaderboardEntry = z.object({
  rank: z.int(),
  playerId: playerIdSchema,
  score: z.number(),
  level: z.int().optional(),
  experience: z.int().optional(),
});
export const leaderboardAnswer = z.object({
  board: boardSchema,
  period: z.string().optional(),
  total: z.int(),
  entries: z.array(leaderboardEntry),
  player: leaderboardEntry.nullable().optional(),
  /** True while the boards are rebuilt after the cache lost its data: the page may be partial (also `X-Leaderboard-Status`). */
  rebuilding: z.boolean(),
});
const cacheCounters = z.object({
  hits: z.int(),
  misses: z.int(),
  hitRatio: z.number(),
  tableReads: z.int(),
  fallbacks: z.int(),
  redisErrors: z.int(),
  writes: z.int(),
  staleWritesRefused: z.int(),
});
export const statsAnswer = z.object({
  /** The system's counters (every API instance's, summed in Redis), or this instance's when Redis cannot be read. */
  cache: cacheCounters.nullable(),
  scope: z.enum(['system', 'instance']),
  instance: cacheCounters.nullable(),
  /** The command queue now (SQS's approximate counts), null when it cannot be read. */
  queue: z.object({ depth: z.int(), inFlight: z.int() }).nullable().optional(),
  /** Commands decided since the read side's data began, counted from the stream (a rate: compare two readings). */
  commands: z.object({ applied: z.int(), rejected: z.int() }).nullable().optional(),
  /** The last projected batch's commit-to-projection lag, and when it was measured. */
  projection: z.object({ lagMs: z.int().nullable(), measuredAt: z.string().nullable() }).nullable().optional(),
});

export const commandStatusAnswer = z.object({
  commandId: commandIdSchema,
  status: z.enum(['queued', 'applied', 'rejected']),
  code: z.string().optional(),
  message: z.string().optional(),
  version: z.int().optional(),
  entityType: z.string().optional(),
  entityId: z.string().optional(),
});

// Recovery (docs/recovery.md): history, diff, rollback with its impact analysis, quarantine.

const MAX_VERSION_FOR_RECOVERY = 9_999_999_999;
const isoInstant = z.iso.datetime({ offset: true });
export const historyQuery = z
  .strictObject({ atVersion: counter(MAX_VERSION_FOR_RECOVERY).optional(), atTime: isoInstant.optional() })
  .refine((q) => (q.atVersion === undefined) !== (q.atTime === undefined), {
    error: 'give exactly one of atVersion and atTime',
  });
export const historyAnswer = z.object({
  version: z.int(),
  state: z.record(z.string(), z.unknown()),
  /** When that version was committed; null for version 0 (before the player existed). */
  committedAt: z.string().nullable(),
});
export const diffQuery = z.strictObject({
  from: counter(MAX_VERSION_FOR_RECOVERY),
  to: counter(MAX_VERSION_FOR_RECOVERY),
});
const fieldChange = z.object({ path: z.string(), before: z.unknown().optional(), after: z.unknown().optional() });
export const diffAnswer = z.object({ from: z.int(), to: z.int(), changes: z.array(fieldChange) });

export const rollbackBody = z
  .strictObject({
    toVersion: z.int().min(1).max(MAX_VERSION_FOR_RECOVERY).optional(),
    toTime: isoInstant.optional(),
    reason: operatorReason,
    ticket: opaqueIdSchema,
    /** Roll back, in the same transaction, every other player the undone commands touched (a trade's counterparty). */
    includeRelated: z.boolean().optional(),
    /** Roll back this player alone although undone commands touched others: recorded, and the ledger check accounts for it. */
    acknowledgeImbalance: z.boolean().optional(),
    /** Only the impact analysis: nothing is sent. */
    dryRun: z.boolean().optional(),
  })
  .refine((b) => (b.toVersion === undefined) !== (b.toTime === undefined), {
    error: 'give exactly one of toVersion and toTime',
  });
const undoneCommand = z.object({
  version: z.int(),
  commandId: z.string(),
  commandType: z.string(),
  source: z.object({ kind: z.string(), actor: z.string() }),
  issuedAt: z.string(),
  committedAt: z.string(),
  related: z.record(z.string(), z.int()).optional(),
});
const entityRollback = z.object({
  entityId: z.string(),
  fromVersion: z.int(),
  toVersion: z.int(),
  undone: z.array(undoneCommand),
  deltas: z.record(z.string(), z.number()),
  state: z.record(z.string(), z.unknown()),
});
export const rollbackPreviewAnswer = z.object({
  entityType: z.string(),
  entity: entityRollback,
  related: z.array(entityRollback),
  untouched: z.array(z.object({ entityId: z.string(), versions: z.array(z.int()) })),
  balanced: z.boolean(),
});
export const quarantineBody = z.strictObject({ reason: operatorReason, ticket: opaqueIdSchema });

/** Dead letters (GET/POST /v1/admin/dead-letters...): SQS message ids are UUIDs; the pattern keeps `#` out of keys. */
export const deadLetterIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/, 'must be an SQS message id (1-100 of A-Z a-z 0-9 -)');
export const deadLetterListQuery = z.strictObject({ limit: counter(100).pipe(z.int().min(1)).optional() });
/** A replay over an entity that moved on since the dead letter was issued must be forced, with reason and ticket. */
export const deadLetterReplayBody = z
  .strictObject({ force: z.boolean().optional(), reason: operatorReason.optional(), ticket: opaqueIdSchema.optional() })
  .refine((b) => !b.force || (b.reason !== undefined && b.ticket !== undefined), {
    message: 'force needs a reason and a ticket',
  });
export const deadLetterDiscardBody = z.strictObject({ reason: operatorReason, ticket: opaqueIdSchema });
export const deadLetterAnswer = z.object({
  messageId: z.string(),
  messageGroupId: z.string().nullable(),
  receiveCount: z.int(),
  sentAt: z.string().nullable(),
  /** The processor's `gamekeep-reason` attribute (malformed messages); null for one SQS moved after maxReceiveCount. */
  reason: z.string().nullable(),
  sourceMessageId: z.string().nullable(),
  /** False when an earlier message of its FIFO group is in the DLQ too: that one goes first. */
  firstInGroup: z.boolean(),
  /** The first 500 characters of the body. */
  bodyPreview: z.string(),
  /** Null when the body is not a command envelope (it cannot be replayed). */
  envelope: z
    .object({
      commandId: z.string(),
      entityType: z.string(),
      entityId: z.string(),
      commandType: z.string(),
      issuedAt: z.string(),
    })
    .nullable(),
  /** The recorded outcome of its command id, null when it has none (it was never applied). */
  commandOutcome: z.enum(['applied', 'rejected']).nullable(),
  /** The entity now (null for an unknown entity type): its version (0: not created) and whether it moved on. */
  entity: z.object({ version: z.int(), movedOn: z.boolean() }).nullable(),
});
export const deadLetterPageAnswer = z.object({
  items: z.array(deadLetterAnswer),
  /** True when the look ended with nothing else visible; false when it stopped at the limit. */
  complete: z.boolean(),
  /** SQS's count before the look (visible + in flight), including letters behind their group's first. */
  approximateCount: z.int(),
});
export const deadLetterReplayAnswer = z.object({
  messageId: z.string(),
  commandId: commandIdSchema,
  status: z.literal('queued'),
  forced: z.boolean(),
  entity: z.object({ version: z.int(), movedOn: z.boolean() }),
});
export const deadLetterAuditAnswer = z.object({
  pk: z.string(),
  sk: z.enum(['DISCARDED', 'REPLAYED']),
  messageId: z.string(),
  operator: z.string(),
  reason: z.string().nullable(),
  ticket: z.string().nullable(),
  at: z.string(),
});
export const deadLetterDiscardAnswer = z.object({
  messageId: z.string(),
  discarded: z.literal(true),
  audit: deadLetterAuditAnswer,
});
export const repairBody = z.strictObject({
  /** The version the check saw: the repair is refused (REPAIR_STALE) if the player moved since. */
  expectedVersion: z.int().min(1).max(MAX_VERSION_FOR_RECOVERY),
  /** The checker's finding the repair answers. */
  finding: z.string().min(1).max(500),
  reason: operatorReason,
  ticket: opaqueIdSchema,
});
export const checkBody = z.strictObject({
  /** Check a random share of the players (0 < sample ≤ 1); every player by default. */
  sample: z.number().gt(0).max(1).optional(),
  /** Repair the safe class of findings (re-project the read side, rewrite snapshots). */
  repair: z.boolean().optional(),
});
export const rebuildBody = z.strictObject({
  /** Resume the run an earlier rebuild left unfinished (its checkpoint in Redis) instead of starting a new one. */
  resume: z.boolean().optional(),
});

// The console's players and audit (docs/console.md): bans, the player lookup, the audit.

/** A ban: why, under which ticket, and until when (absent: until an unban). */
export const banBody = z.strictObject({ reason: operatorReason, ticket: opaqueIdSchema, until: isoInstant.optional() });
export const unbanBody = z.strictObject({ reason: operatorReason, ticket: opaqueIdSchema });
/** A name as players write it: matched exactly once normalized (case, width and spacing do not count). */
export const playerLookupQuery = z.strictObject({ name: z.string().min(1).max(200) });
const operatorNote = z.object({ since: z.string(), reason: z.string(), ticket: z.string(), by: z.string() });
export const adminPlayerAnswer = playerViewAnswer.extend({
  configVersion: z.int(),
  /** The ban that lasts now, or null (an expired ban is null). */
  banned: operatorNote.extend({ until: z.string().nullable() }).nullable(),
  /** The quarantine that holds the player's commands, or null. */
  quarantined: operatorNote.nullable(),
  lastCommandId: z.string(),
});
export const playerLookupAnswer = z.object({
  items: z.array(
    z.object({
      playerId: playerIdSchema,
      name: z.string(),
      version: z.int(),
      banned: z.boolean(),
      quarantined: z.boolean(),
    }),
  ),
});
/** The audit's cursor: where the previous page stopped (opaque to callers). */
export const auditCursorSchema = z.string().regex(/^[A-Za-z0-9_-]{8,200}$/, 'is not an audit cursor');
export const auditQuery = z.strictObject({
  actor: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/,
      'must be 1-128 of A-Z a-z 0-9 _ . : @ - and start with a letter or digit',
    )
    .optional(),
  source: SourceKind.optional(),
  type: z
    .string()
    .regex(/^[A-Za-z]{1,64}$/, 'must be a command type (letters only)')
    .optional(),
  playerId: playerIdSchema.optional(),
  from: isoInstant.optional(),
  to: isoInstant.optional(),
  cursor: auditCursorSchema.optional(),
  limit: counter(100).pipe(z.int().min(1)).optional(),
});
export const auditPageAnswer = z.object({
  items: z.array(
    z.object({
      commandId: commandIdSchema,
      commandType: z.string(),
      status: z.enum(['applied', 'rejected']),
      code: z.string().optional(),
      entityType: z.string(),
      entityId: z.string(),
      version: z.int().optional(),
      source: z.object({ kind: SourceKind, actor: z.string() }),
      decidedAt: z.string(),
      /** The events the command committed (applied commands): what changed, with the operator, reason and ticket. */
      events: z.array(z.record(z.string(), z.unknown())).optional(),
    }),
  ),
  /** Pass as `cursor` for the next (older) page; null at the end. */
  cursor: z.string().nullable(),
});
