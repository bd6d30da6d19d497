import type { SourceKind } from '../../engine/envelope.js';
import type { PlayerEvent, PlayerEventType } from './events.js';
import { isRecoveryEvent, type RecoveryEvent } from '../../engine/recovery.js';

/**
 * A player's view of their own history. Operators' names, reasons and tickets are the support team's, not the
 * player's; services and operators read events whole.
 */

/** Who may read a field of an event in its player's audit trail: its owner too, or only operators and services. */
type Audience = 'owner' | 'staff';

type EventOf<T extends PlayerEventType> = Extract<PlayerEvent, { type: T }>;

/**
 * Every field of every event type, with its audience. A new event type, or a new field on one, does not compile
 * until someone decides who may read it; fields not listed (older or unknown ones) are never shown to the owner.
 */
const AUDIENCE = {
  PlayerCreated: {
    name: 'owner',
    configVersion: 'owner',
    level: 'owner',
    realm: 'owner',
    experience: 'owner',
    energy: 'owner',
    maxEnergy: 'owner',
    gold: 'owner',
    spiritStones: 'owner',
    attributes: 'owner',
  },
  PurchaseCredited: {
    provider: 'owner',
    orderId: 'owner',
    sku: 'owner',
    spiritStones: 'owner',
    price: 'owner',
    paid: 'owner',
    resolution: 'staff',
  },
  RewardGranted: { taskId: 'owner', gold: 'owner', spiritStones: 'owner', items: 'owner' },
  CurrencySpent: { currency: 'owner', amount: 'owner', reason: 'owner' },
  ExperienceGained: { amount: 'owner', source: 'owner' },
  LevelledUp: { level: 'owner', attributeGains: 'owner', maxEnergy: 'owner' },
  RealmAdvanced: { realm: 'owner', attributeGains: 'owner', maxEnergy: 'owner' },
  EnergyConsumed: { amount: 'owner', reason: 'owner' },
  EnergyRestored: { amount: 'owner', reason: 'owner' },
  ItemGranted: { itemId: 'owner', quantity: 'owner', source: 'owner' },
  ItemUsed: { itemId: 'owner', quantity: 'owner' },
  TradeCompleted: { tradeId: 'owner', counterpartyId: 'owner', role: 'owner', gave: 'owner', received: 'owner' },
  ItemPurchased: { itemId: 'owner', quantity: 'owner', currency: 'owner', price: 'owner' },
  BalanceAdjusted: {
    currency: 'owner',
    delta: 'owner',
    operator: 'staff',
    reason: 'staff',
    ticket: 'staff',
    approval: 'staff',
    bulkGrantId: 'staff',
  },
  InventoryAdjusted: {
    itemId: 'owner',
    delta: 'owner',
    operator: 'staff',
    reason: 'staff',
    ticket: 'staff',
    approval: 'staff',
    bulkGrantId: 'staff',
  },
  PlayerBanned: { since: 'owner', until: 'owner', operator: 'staff', reason: 'staff', ticket: 'staff' },
  PlayerUnbanned: { operator: 'staff', reason: 'staff', ticket: 'staff' },
  CultivationStarted: { sessionId: 'owner', techniqueId: 'owner', startedAt: 'owner' },
  CultivationCompleted: { sessionId: 'owner', techniqueId: 'owner', seconds: 'owner', experience: 'owner' },
  CombatRecorded: {
    combatId: 'owner',
    opponentId: 'owner',
    kind: 'owner',
    outcome: 'owner',
    gold: 'owner',
    spiritStones: 'owner',
    items: 'owner',
  },
} as const satisfies {
  readonly [T in PlayerEventType]: { readonly [F in Exclude<keyof EventOf<T>, 'type'>]-?: Audience };
};

type OwnerFields<T extends PlayerEventType> = {
  [F in keyof (typeof AUDIENCE)[T]]: (typeof AUDIENCE)[T][F] extends 'owner' ? F : never;
}[keyof (typeof AUDIENCE)[T]];

/** An event as its owner sees it: the event without its staff-only fields. */
export type OwnerEvent = {
  [T in PlayerEventType]: Pick<EventOf<T>, Extract<'type' | OwnerFields<T>, keyof EventOf<T>>>;
}[PlayerEventType];

/** The engine's recovery events (rollback, repair, quarantine): the owner sees what changed, never who or why. */
const RECOVERY_AUDIENCE = {
  RolledBack: {
    fromVersion: 'owner',
    toVersion: 'owner',
    state: 'owner',
    deltas: 'owner',
    undone: 'staff',
    together: 'staff',
    acknowledgedImbalance: 'staff',
    operator: 'staff',
    reason: 'staff',
    ticket: 'staff',
  },
  StateRepaired: {
    state: 'owner',
    deltas: 'owner',
    finding: 'staff',
    operator: 'staff',
    reason: 'staff',
    ticket: 'staff',
  },
  EntityQuarantined: { operator: 'staff', reason: 'staff', ticket: 'staff' },
  EntityReleased: { operator: 'staff', reason: 'staff', ticket: 'staff' },
} as const satisfies {
  readonly [T in RecoveryEvent['type']]: {
    readonly [F in Exclude<keyof Extract<RecoveryEvent, { type: T }>, 'type'>]-?: Audience;
  };
};

/** What the owner of `event` may see of it (pure): the fields their audience includes, nothing else. */
export function ownerViewOfEvent(event: PlayerEvent | RecoveryEvent): OwnerEvent {
  const audience: Readonly<Record<string, Audience>> | undefined = isRecoveryEvent(event)
    ? RECOVERY_AUDIENCE[event.type]
    : Object.hasOwn(AUDIENCE, event.type)
      ? AUDIENCE[event.type]
      : undefined;
  // An event type this code does not know (newer than it) shows the owner its type alone.
  if (!audience) return { type: event.type } as OwnerEvent;
  return Object.fromEntries(
    Object.entries(event).filter(([field]) => field === 'type' || audience[field] === 'owner'),
  ) as OwnerEvent;
}

/** Whose actor id the owner may read: their own, a payment provider's, a schedule's; staff and hosts are named by kind. */
const OWNER_SEES_ACTOR: { readonly [K in SourceKind]: boolean } = {
  client: true,
  payment: true,
  schedule: true,
  service: false,
  operator: false,
  system: false,
};

/** Who sent a command, as its player sees it (pure): an operator or service is named by its kind, not its id. */
export function ownerViewOfSource(source: { readonly kind: string; readonly actor: string }): {
  kind: string;
  actor: string;
} {
  const shown = Object.hasOwn(OWNER_SEES_ACTOR, source.kind) && OWNER_SEES_ACTOR[source.kind as SourceKind];
  return { kind: source.kind, actor: shown ? source.actor : source.kind };
}
