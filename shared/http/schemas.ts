import { z } from 'zod';
import { COMMAND_ID_PATTERN } from '../engine/envelope.js';
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
export const adjustmentBody = adjustBalanceSchema.omit({ type: true, operator: true });

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
