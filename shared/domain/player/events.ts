import type { Attributes, Currency, Price } from './gameConfig.js';
import type { PlayerProfile } from './state.js';
import type { RecoveryEvent } from '../../engine/recovery.js';

// Events carry every value evolve applies, so replaying history never consults the (possibly newer) game config.

export interface ItemQuantity {
  readonly itemId: string;
  readonly quantity: number;
}

/** One side's part of a trade, with absent parts spelled out as zero. */
export interface Goods {
  readonly gold: number;
  readonly spiritStones: number;
  readonly items: readonly ItemQuantity[];
}

export interface PlayerCreated extends PlayerProfile {
  readonly type: 'PlayerCreated';
}

export interface PurchaseCredited {
  readonly type: 'PurchaseCredited';
  readonly provider: string;
  readonly orderId: string;
  readonly sku: string;
  readonly spiritStones: number;
  /** The SKU's list price. */
  readonly price: Price;
  /** What was actually paid (discounts, taxes, another currency), when the provider said. */
  readonly paid?: Price;
  /** The operator who credited it by hand (a disputed or unmatched payment), why, and the ticket. */
  readonly resolution?: { readonly operator: string; readonly reason: string; readonly ticket: string };
}

/** The task's currencies and items; its experience follows as ExperienceGained with source `task:<taskId>`. */
export interface RewardGranted {
  readonly type: 'RewardGranted';
  readonly taskId: string;
  readonly gold: number;
  readonly spiritStones: number;
  readonly items: readonly ItemQuantity[];
}

export interface CurrencySpent {
  readonly type: 'CurrencySpent';
  readonly currency: Currency;
  readonly amount: number;
  readonly reason: string;
}

export interface ExperienceGained {
  readonly type: 'ExperienceGained';
  readonly amount: number;
  readonly source: string;
}

export interface LevelledUp {
  readonly type: 'LevelledUp';
  readonly level: number;
  readonly attributeGains: Attributes;
  readonly maxEnergy: number;
}

/** Breakthrough into a new realm, with its bonus on top of the level-up that opened it. */
export interface RealmAdvanced {
  readonly type: 'RealmAdvanced';
  readonly realm: string;
  readonly attributeGains: Attributes;
  readonly maxEnergy: number;
}

export interface EnergyConsumed {
  readonly type: 'EnergyConsumed';
  readonly amount: number;
  readonly reason: string;
}

/** `amount` is what was actually restored after clamping to maxEnergy. */
export interface EnergyRestored {
  readonly type: 'EnergyRestored';
  readonly amount: number;
  readonly reason: string;
}

export interface ItemGranted {
  readonly type: 'ItemGranted';
  readonly itemId: string;
  readonly quantity: number;
  readonly source: string;
}

/** Removes the items; their effects follow as EnergyRestored / ExperienceGained with reason `item:<itemId>`. */
export interface ItemUsed {
  readonly type: 'ItemUsed';
  readonly itemId: string;
  readonly quantity: number;
}

/** Recorded on both players, each from its own side: `gave` left this player, `received` came in. */
export interface TradeCompleted {
  readonly type: 'TradeCompleted';
  readonly tradeId: string;
  readonly counterpartyId: string;
  readonly role: 'initiator' | 'counterparty';
  readonly gave: Goods;
  readonly received: Goods;
}

/** Items bought from the in-game market at the config's price at the time. */
export interface ItemPurchased {
  readonly type: 'ItemPurchased';
  readonly itemId: string;
  readonly quantity: number;
  readonly currency: Currency;
  readonly price: number;
}

/** An operator's correction: `delta` is signed; who, why and the ticket are part of the audit trail. */
export interface BalanceAdjusted {
  readonly type: 'BalanceAdjusted';
  readonly currency: Currency;
  readonly delta: number;
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
  /** Present when a second operator approved it: who asked (`operator`) and who approved. */
  readonly approval?: OperatorApprovalRecord;
  /** Present when it is one player's part of a bulk grant. */
  readonly bulkGrantId?: string;
}

/** Who asked for an operator change and who approved it (two-person approval). */
export interface OperatorApprovalRecord {
  readonly approvalId: string;
  readonly requestedBy: string;
  readonly approvedBy: string;
}

/** An operator's grant (delta > 0) or revocation (delta < 0) of an item; never below zero items. */
export interface InventoryAdjusted {
  readonly type: 'InventoryAdjusted';
  readonly itemId: string;
  readonly delta: number;
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
  readonly approval?: OperatorApprovalRecord;
  readonly bulkGrantId?: string;
}

/** An operator's ban from `since` (the command's issue time) to `until` (absent: until PlayerUnbanned). */
export interface PlayerBanned {
  readonly type: 'PlayerBanned';
  readonly since: string;
  readonly until?: string;
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
}

export interface PlayerUnbanned {
  readonly type: 'PlayerUnbanned';
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
}

/** The session's energy cost follows as EnergyConsumed with reason `cultivation:<sessionId>`. */
export interface CultivationStarted {
  readonly type: 'CultivationStarted';
  readonly sessionId: string;
  readonly techniqueId: string;
  readonly startedAt: string;
}

/** The session's experience follows as ExperienceGained with source `cultivation:<sessionId>` (when above zero). */
export interface CultivationCompleted {
  readonly type: 'CultivationCompleted';
  readonly sessionId: string;
  readonly techniqueId: string;
  readonly seconds: number;
  readonly experience: number;
}

/** One combat's result and its rewards; experience follows as ExperienceGained with source `combat:<combatId>`. */
export interface CombatRecorded {
  readonly type: 'CombatRecorded';
  readonly combatId: string;
  readonly opponentId?: string;
  readonly kind: 'duel' | 'arena' | 'tournament' | 'monster';
  readonly outcome: 'win' | 'loss' | 'draw';
  readonly gold: number;
  readonly spiritStones: number;
  readonly items: readonly ItemQuantity[];
}

export type PlayerEvent =
  | PlayerCreated
  | PurchaseCredited
  | RewardGranted
  | CurrencySpent
  | ExperienceGained
  | LevelledUp
  | RealmAdvanced
  | EnergyConsumed
  | EnergyRestored
  | ItemGranted
  | ItemUsed
  | TradeCompleted
  | ItemPurchased
  | BalanceAdjusted
  | InventoryAdjusted
  | PlayerBanned
  | PlayerUnbanned
  | CultivationStarted
  | CultivationCompleted
  | CombatRecorded;

export type PlayerEventType = PlayerEvent['type'];

/**
 * How one event moves a player's currencies, for audits: new money enters only as `credit`, leaves only as `spend`,
 * and `trade` deltas of both sides of a trade cancel out. Summing every event's deltas gives the balances.
 */
export interface CurrencyFlow {
  /** `rollback`: an operator's compensating event, its deltas the state it restored minus the one before. */
  readonly category: 'credit' | 'spend' | 'trade' | 'rollback' | 'none';
  readonly gold: number;
  readonly spiritStones: number;
}

export function currencyFlow(event: PlayerEvent | RecoveryEvent): CurrencyFlow {
  switch (event.type) {
    case 'RolledBack':
      return { category: 'rollback', gold: event.deltas.gold ?? 0, spiritStones: event.deltas.spiritStones ?? 0 };
    // A repair sets the stored state back to the fold of the events before it: no money moves in the ledger.
    case 'StateRepaired':
    case 'EntityQuarantined':
    case 'EntityReleased':
      return { category: 'none', gold: 0, spiritStones: 0 };
    case 'PlayerCreated':
    case 'RewardGranted':
      return { category: 'credit', gold: event.gold, spiritStones: event.spiritStones };
    case 'PurchaseCredited':
      return { category: 'credit', gold: 0, spiritStones: event.spiritStones };
    case 'CurrencySpent':
      return event.currency === 'gold'
        ? { category: 'spend', gold: -event.amount, spiritStones: 0 }
        : { category: 'spend', gold: 0, spiritStones: -event.amount };
    case 'ItemPurchased':
      return event.currency === 'gold'
        ? { category: 'spend', gold: -event.price * event.quantity, spiritStones: 0 }
        : { category: 'spend', gold: 0, spiritStones: -event.price * event.quantity };
    case 'BalanceAdjusted':
      // New money enters only as credit and leaves only as spend, so the conservation audit still holds.
      return {
        category: event.delta > 0 ? 'credit' : 'spend',
        gold: event.currency === 'gold' ? event.delta : 0,
        spiritStones: event.currency === 'spiritStones' ? event.delta : 0,
      };
    case 'CombatRecorded':
      return { category: 'credit', gold: event.gold, spiritStones: event.spiritStones };
    case 'TradeCompleted':
      return {
        category: 'trade',
        gold: event.received.gold - event.gave.gold,
        spiritStones: event.received.spiritStones - event.gave.spiritStones,
      };
    case 'ExperienceGained':
    case 'LevelledUp':
    case 'RealmAdvanced':
    case 'EnergyConsumed':
    case 'EnergyRestored':
    case 'ItemGranted':
    case 'ItemUsed':
    case 'InventoryAdjusted':
    case 'PlayerBanned':
    case 'PlayerUnbanned':
    case 'CultivationStarted':
    case 'CultivationCompleted':
      return { category: 'none', gold: 0, spiritStones: 0 };
  }
}
