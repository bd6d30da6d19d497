import { z } from 'zod';
import { maxAmount } from './gameConfig.js';

// Every id below can end up inside a DynamoDB key (claims, related entities), so none may contain '#'.
export const playerIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -');
export const opaqueIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
    'must be 1-128 of A-Z a-z 0-9 _ . : - and start with a letter or digit',
  );
const opaqueId = opaqueIdSchema;
const providerId = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be 1-32 of a-z 0-9 - and start with a letter');
/** Why currency or energy moved, or where experience came from: a short code, not free text. */
const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'must be 1-64 of A-Z a-z 0-9 _ . : -');

const currencyAmount = z.int().positive().max(maxAmount.currency);
const experienceAmount = z.int().positive().max(maxAmount.experience);
const energyAmount = z.int().positive().max(maxAmount.energy);
const quantity = z.int().positive().max(maxAmount.quantity);

/** Words of letters, marks and digits (any script), `_` or `-`, joined by single spaces. */
const NAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_-]+(?: [\p{L}\p{M}\p{Nd}_-]+)*$/u;

/** The form a name is unique under: `Lin Feng`, ` lin feng ` and `ｌｉｎ ｆｅｎｇ` are one name. */
export function normalizePlayerName(name: string): string {
  return name.trim().normalize('NFKC').toLowerCase();
}

const playerName = z
  .string()
  .trim()
  .min(1)
  .max(24)
  .regex(NAME_PATTERN, 'must be letters, digits, _ or - separated by single spaces')
  // NFKC can expand a character into others; the key built from the normalized form must obey the same rule.
  .refine((name) => NAME_PATTERN.test(normalizePlayerName(name)), 'must stay letters and digits once normalized');

const itemStack = z.strictObject({ itemId: opaqueId, quantity });
export type ItemStack = z.infer<typeof itemStack>;

// One entry per item keeps stack-limit checks and event records unambiguous.
const itemStacks = z
  .array(itemStack)
  .min(1)
  .max(20)
  .refine((stacks) => new Set(stacks.map((s) => s.itemId)).size === stacks.length, 'must not repeat an itemId');

const tradeBundle = z.strictObject({
  gold: currencyAmount.optional(),
  spiritStones: currencyAmount.optional(),
  items: itemStacks.optional(),
});
export type TradeBundle = z.infer<typeof tradeBundle>;

const isEmptyBundle = (b: TradeBundle): boolean =>
  b.gold === undefined && b.spiritStones === undefined && b.items === undefined;

const CreatePlayer = z.strictObject({ type: z.literal('CreatePlayer'), name: playerName });

/** Why an operator did something, and under which support ticket: every operator write carries both. */
export const operatorReason = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

const CreditPurchase = z.strictObject({
  type: z.literal('CreditPurchase'),
  provider: providerId,
  orderId: opaqueId,
  sku: opaqueId,
  /** What the provider says was paid (minor units), kept beside the list price for the ledger. */
  paid: z
    .strictObject({ amount: z.int().nonnegative().max(maxAmount.currency), currency: z.string().regex(/^[A-Z]{3}$/) })
    .optional(),
  /** Present when an operator credits a payment the intake could not (disputed, unmatched): who, why, which ticket. */
  resolution: z.strictObject({ operator: opaqueId, reason: operatorReason, ticket: opaqueId }).optional(),
});

const GrantReward = z
  .strictObject({
    type: z.literal('GrantReward'),
    taskId: opaqueId,
    gold: currencyAmount.optional(),
    spiritStones: currencyAmount.optional(),
    experience: experienceAmount.optional(),
    items: itemStacks.optional(),
  })
  .refine(
    (r) => r.gold !== undefined || r.spiritStones !== undefined || r.experience !== undefined || r.items !== undefined,
    'a reward must grant gold, spiritStones, experience or items',
  );

const SpendCurrency = z.strictObject({
  type: z.literal('SpendCurrency'),
  currency: z.enum(['gold', 'spiritStones']),
  amount: currencyAmount,
  reason: label,
});

const AddExperience = z.strictObject({ type: z.literal('AddExperience'), amount: experienceAmount, source: label });

const ConsumeEnergy = z.strictObject({ type: z.literal('ConsumeEnergy'), amount: energyAmount, reason: label });

const RestoreEnergy = z.strictObject({ type: z.literal('RestoreEnergy'), amount: energyAmount, reason: label });

const GrantItem = z.strictObject({ type: z.literal('GrantItem'), itemId: opaqueId, quantity, source: label });

const UseItem = z.strictObject({ type: z.literal('UseItem'), itemId: opaqueId, quantity });

/** A player buys items from the in-game market; the price comes from the game config, never from the caller. */
const PurchaseItem = z.strictObject({ type: z.literal('PurchaseItem'), itemId: opaqueId, quantity });

/**
 * A change a second operator approved (two-person approval): `operator` asked, `approvedBy` approved. Set by the
 * server from the stored approval request, never by the caller.
 */
const operatorApproval = z.strictObject({ approvalId: opaqueId, requestedBy: opaqueId, approvedBy: opaqueId });
export type OperatorApproval = z.infer<typeof operatorApproval>;

/** Set on the per-player commands of a bulk grant: its id makes the grant once per (operation, player). */
const bulkGrantId = opaqueId;

/** An operator's correction of a balance, recorded with who made it, why and under which ticket. */
export const adjustBalanceSchema = z.strictObject({
  type: z.literal('AdjustBalance'),
  currency: z.enum(['gold', 'spiritStones']),
  delta: z
    .int()
    .min(-maxAmount.currency)
    .max(maxAmount.currency)
    .refine((d) => d !== 0, 'must not be zero'),
  operator: opaqueId,
  reason: operatorReason,
  ticket: opaqueId,
  approval: operatorApproval.optional(),
  bulkGrantId: bulkGrantId.optional(),
});

/** An operator's grant (delta > 0) or revocation (delta < 0) of an item, with who, why and the ticket. */
export const adjustInventorySchema = z.strictObject({
  type: z.literal('AdjustInventory'),
  itemId: opaqueId,
  delta: z
    .int()
    .min(-maxAmount.quantity)
    .max(maxAmount.quantity)
    .refine((d) => d !== 0, 'must not be zero'),
  operator: opaqueId,
  reason: operatorReason,
  ticket: opaqueId,
  approval: operatorApproval.optional(),
  bulkGrantId: bulkGrantId.optional(),
});

/**
 * An operator's ban: while it lasts the player's own API calls are refused (PLAYER_BANNED); `until` ends it by
 * itself, absent means until an UnbanPlayer. Game services and operators still act on the player.
 */
export const banPlayerSchema = z.strictObject({
  type: z.literal('BanPlayer'),
  operator: opaqueId,
  reason: operatorReason,
  ticket: opaqueId,
  until: z.iso.datetime({ offset: true }).optional(),
});

export const unbanPlayerSchema = z.strictObject({
  type: z.literal('UnbanPlayer'),
  operator: opaqueId,
  reason: operatorReason,
  ticket: opaqueId,
});

/** Starts a cultivation session; its id comes from the game client, so a resent start is recognised. */
const StartCultivation = z.strictObject({
  type: z.literal('StartCultivation'),
  sessionId: opaqueId,
  techniqueId: opaqueId,
});

const CompleteCultivation = z.strictObject({ type: z.literal('CompleteCultivation'), sessionId: opaqueId });

/** A combat's result for one player, reported by a game service once per combat and player. */
const RecordCombatResult = z.strictObject({
  type: z.literal('RecordCombatResult'),
  combatId: opaqueId,
  opponentId: playerIdSchema.optional(),
  kind: z.enum(['duel', 'arena', 'tournament', 'monster']),
  outcome: z.enum(['win', 'loss', 'draw']),
  rewards: z.strictObject({
    gold: currencyAmount.optional(),
    spiritStones: currencyAmount.optional(),
    experience: experienceAmount.optional(),
    items: itemStacks.optional(),
  }),
});

const Trade = z
  .strictObject({
    type: z.literal('Trade'),
    tradeId: opaqueId,
    counterpartyId: playerIdSchema,
    give: tradeBundle,
    receive: tradeBundle,
  })
  .refine((t) => !(isEmptyBundle(t.give) && isEmptyBundle(t.receive)), 'a trade must move something');

export const playerCommandSchema = z.discriminatedUnion('type', [
  CreatePlayer,
  CreditPurchase,
  GrantReward,
  SpendCurrency,
  AddExperience,
  ConsumeEnergy,
  RestoreEnergy,
  GrantItem,
  UseItem,
  Trade,
  PurchaseItem,
  adjustBalanceSchema,
  adjustInventorySchema,
  StartCultivation,
  CompleteCultivation,
  RecordCombatResult,
  banPlayerSchema,
  unbanPlayerSchema,
]);

export type PlayerCommand = z.infer<typeof playerCommandSchema>;
export type PlayerCommandType = PlayerCommand['type'];
export type PlayerCommandOf<T extends PlayerCommandType> = Extract<PlayerCommand, { type: T }>;
