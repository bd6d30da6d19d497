import { z } from 'zod';
import { COMMAND_ID_PATTERN } from '../engine/envelope.js';
import { maxAmount, playerCommandSchema, type PlayerCommandType } from '../domain/player/index.js';
import { playerIdSchema } from '../domain/player/commands.js';

/**
 * Every input of every route, as schemas: the handlers parse with them and docs/openapi.json is generated from
 * them, so the document cannot drift from what is enforced.
 */

export { playerIdSchema };
export const commandIdSchema = z.string().regex(COMMAND_ID_PATTERN, 'must be c followed by 40 hex digits');
export const providerSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be 1-32 of a-z 0-9 - and start with a letter');
/** Ids that reach a key: letters, digits and `_ . : -` only, never `#`. */
export const opaqueIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 of A-Z a-z 0-9 _ . : - and start with a letter or digit');
export const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 of A-Z a-z 0-9 _ . : - and start with a letter or digit');
export const isoDateSchema = z.iso.date();

const counter = (max: number) => z.string().regex(/^\d{1,13}$/, 'must be a non-negative integer').transform(Number).pipe(z.int().min(0).max(max));

export const createPlayerBody = z.strictObject({
  playerId: playerIdSchema.optional(),
  name: z.string().max(200),
});

/** Commands a player may send for themself: they only spend or use what the player already has. */
export const PLAYER_SAFE_COMMANDS: readonly PlayerCommandType[] = ['PurchaseItem', 'UseItem', 'ConsumeEnergy'];
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
];
export const ALL_COMMAND_TYPES: readonly string[] = playerCommandSchema.options.map((o) => o.shape.type.value);

export const commandBody = playerCommandSchema;

/** Routes that take no query parameters refuse any, like unknown body fields. */
export const noQuery = z.strictObject({});

export const playerViewQuery = z.strictObject({ minVersion: counter(9_999_999_999).optional() });
export const eventsQuery = z.strictObject({
  afterVersion: counter(9_999_999_998).optional(),
  limit: counter(500).pipe(z.int().min(1)).optional(),
});

export const paymentNoticeBody = z.strictObject({
  eventId: opaqueIdSchema,
  orderId: opaqueIdSchema,
  playerId: playerIdSchema,
  sku: opaqueIdSchema,
  /** Minor units (cents). */
  amount: z.int().positive().max(maxAmount.currency),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code'),
});
export type PaymentNotice = z.infer<typeof paymentNoticeBody> & { provider: string };

export const adjustmentBody = z.strictObject({
  currency: z.enum(['gold', 'spiritStones']),
  delta: z
    .int()
    .min(-maxAmount.currency)
    .max(maxAmount.currency)
    .refine((d) => d !== 0, 'must not be zero'),
  reason: z.string().trim().min(1).max(200).regex(/^[^\p{Cc}]+$/u, 'must not contain control characters'),
  ticket: opaqueIdSchema,
});

export const unmatchedQuery = z.strictObject({
  limit: counter(100).pipe(z.int().min(1)).optional(),
  after: z.string().regex(/^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'is not a cursor').optional(),
});

export const rewardRunBody = z.strictObject({ date: isoDateSchema.optional() });

/** Answers, for the OpenAPI document. */
export const errorAnswer = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export const acceptedAnswer = z.object({ commandId: commandIdSchema, status: z.enum(['queued', 'applied', 'rejected']) });
export const commandStatusAnswer = z.object({
  commandId: commandIdSchema,
  status: z.enum(['queued', 'applied', 'rejected']),
  code: z.string().optional(),
  message: z.string().optional(),
  version: z.int().optional(),
  entityType: z.string().optional(),
  entityId: z.string().optional(),
});
