/**
 * The reference game's rules as data: level curve, realms, growth, items and the real-money shop.
 * `decide` reads it through its context; `evolve` never does, because events carry every value they apply.
 */

export const attributeNames = ['strength', 'agility', 'intelligence', 'constitution'] as const;
export type AttributeName = (typeof attributeNames)[number];
export type Attributes = Readonly<Record<AttributeName, number>>;

export type Currency = 'gold' | 'spiritStones';

export interface Realm {
  readonly id: string;
  readonly name: string;
  readonly firstLevel: number;
}

/** What using one unit of an item does; an item with no effect cannot be used. */
export interface ItemEffect {
  readonly restoresEnergy?: number;
  readonly grantsExperience?: number;
}

export interface ItemDefinition {
  readonly name: string;
  readonly kind: 'consumable' | 'weapon' | 'material';
  readonly stackLimit: number;
  readonly effect?: ItemEffect;
}

export interface Price {
  /** Minor units (cents), so prices never pass through floating point. */
  readonly amount: number;
  readonly currency: string;
}

export interface ShopSku {
  readonly spiritStones: number;
  /** The reference list price. */
  readonly price: Price;
  /** List prices in the other currencies the SKU is sold in (each in its own minor units). */
  readonly localPrices?: Readonly<Record<string, number>>;
  /** Overrides of the shop's payment policy for this SKU. */
  readonly paymentPolicy?: Partial<PaymentPolicy>;
}

/**
 * Which paid amounts credit a SKU without a human: a provider's total differs from the list price whenever a
 * coupon, a tax or a rounding applies, so a band around the list price of the paid currency is credited and
 * anything outside it is kept as disputed for an operator.
 */
export interface PaymentPolicy {
  /** Lowest share of the list price credited automatically (discounts, coupons). */
  readonly minPaidShare: number;
  /** Highest share credited automatically (taxes added on top of the list price). */
  readonly maxPaidShare: number;
}

/** An in-game market offer: one unit of an item for a price in an in-game currency, decided server-side. */
export interface MarketOffer {
  readonly currency: Currency;
  readonly price: number;
}

export interface Growth {
  readonly attributeGains: Attributes;
  readonly maxEnergyGain: number;
}

export interface GameConfig {
  readonly version: number;
  readonly maxLevel: number;
  /** Cumulative experience needed to reach each level: index 0 is level 1. */
  readonly experienceThresholds: readonly number[];
  readonly realms: readonly Realm[];
  readonly newPlayer: {
    readonly level: number;
    readonly energy: number;
    readonly maxEnergy: number;
    readonly gold: number;
    readonly spiritStones: number;
    readonly attributes: Attributes;
  };
  readonly levelUp: Growth;
  /** Bonus on top of the level-up when a level opens a new realm. */
  readonly breakthrough: Growth;
  readonly items: Readonly<Record<string, ItemDefinition>>;
  readonly shop: Readonly<Record<string, ShopSku>>;
  /** The shop's default payment policy; a SKU may override it. */
  readonly paymentPolicy: PaymentPolicy;
  /** What players may buy with in-game currency (PurchaseItem), by item id. */
  readonly market: Readonly<Record<string, MarketOffer>>;
  /** Cultivation techniques (StartCultivation), by id. */
  readonly techniques: Readonly<Record<string, Technique>>;
  readonly limits: typeof maxAmount;
}

/** A cultivation technique: what a session costs up front and what its elapsed time yields, capped per session. */
export interface Technique {
  readonly name: string;
  readonly energyCost: number;
  readonly experiencePerMinute: number;
  readonly maxExperiencePerSession: number;
}

/** Bounds on what one command may carry and what one wallet may hold; schemas and decide share them. */
export const maxAmount = Object.freeze({
  currency: 1_000_000_000,
  experience: 10_000_000,
  quantity: 10_000,
  energy: 10_000,
  /** Largest balance of one currency, far below 2^53 so sums stay exact. */
  balance: 1_000_000_000_000,
});

const maxLevel = 50;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const nested of Object.values(value)) deepFreeze(nested);
    Object.freeze(value);
  }
  return value;
}

const eachAttribute = (n: number): Attributes => ({ strength: n, agility: n, intelligence: n, constitution: n });

export const gameConfig: GameConfig = deepFreeze({
  version: 1,
  maxLevel,
  // 100·(L-1)²: level 2 at 100, level 11 at 10 000, level 50 at 240 100.
  experienceThresholds: Array.from({ length: maxLevel }, (_, i) => 100 * i * i),
  realms: [
    { id: 'qi-refining', name: '练气期', firstLevel: 1 },
    { id: 'foundation-establishment', name: '筑基期', firstLevel: 11 },
    { id: 'golden-core', name: '金丹期', firstLevel: 21 },
    { id: 'nascent-soul', name: '元婴期', firstLevel: 31 },
    { id: 'spirit-severing', name: '化神期', firstLevel: 41 },
  ],
  newPlayer: { level: 1, energy: 100, maxEnergy: 100, gold: 1000, spiritStones: 0, attributes: eachAttribute(10) },
  levelUp: { attributeGains: eachAttribute(2), maxEnergyGain: 5 },
  breakthrough: { attributeGains: eachAttribute(5), maxEnergyGain: 20 },
  items: {
    'spirit-herb': { name: '灵草', kind: 'consumable', stackLimit: 99, effect: { restoresEnergy: 20 } },
    'energy-elixir': { name: '回元丹', kind: 'consumable', stackLimit: 99, effect: { restoresEnergy: 50 } },
    'qi-pill': { name: '聚气丹', kind: 'consumable', stackLimit: 99, effect: { grantsExperience: 150 } },
    'greater-qi-pill': { name: '大聚气丹', kind: 'consumable', stackLimit: 99, effect: { grantsExperience: 1000 } },
    'iron-sword': { name: '铁剑', kind: 'weapon', stackLimit: 5 },
    'spirit-ore': { name: '灵矿', kind: 'material', stackLimit: 999 },
  },
  shop: {
    'stones-100': {
      spiritStones: 100,
      price: { amount: 99, currency: 'USD' },
      localPrices: { EUR: 99, GBP: 89, JPY: 150 },
    },
    'stones-550': {
      spiritStones: 550,
      price: { amount: 499, currency: 'USD' },
      localPrices: { EUR: 499, GBP: 449, JPY: 750 },
    },
    // The largest pack is never sold below 70 %: deeper coupons on it are a misconfiguration to look at.
    'stones-1200': {
      spiritStones: 1200,
      price: { amount: 999, currency: 'USD' },
      localPrices: { EUR: 999, GBP: 899, JPY: 1500 },
      paymentPolicy: { minPaidShare: 0.7 },
    },
  },
  // Coupons down to half price; taxes up to 30 % on top (the highest VAT rates are 27 %).
  paymentPolicy: { minPaidShare: 0.5, maxPaidShare: 1.3 },
  market: {
    'spirit-herb': { currency: 'gold', price: 20 },
    'energy-elixir': { currency: 'gold', price: 45 },
    'qi-pill': { currency: 'spiritStones', price: 10 },
    'iron-sword': { currency: 'gold', price: 300 },
  },
  techniques: {
    'breathing-method': { name: '吐纳术', energyCost: 10, experiencePerMinute: 20, maxExperiencePerSession: 2_400 },
    'nine-suns-art': { name: '九阳功', energyCost: 30, experiencePerMinute: 80, maxExperiencePerSession: 12_000 },
  },
  limits: maxAmount,
});

/** Catalog lookups go through own properties only, so an id like `constructor` is simply unknown. */
export function itemDefinition(config: GameConfig, itemId: string): ItemDefinition | undefined {
  return Object.hasOwn(config.items, itemId) ? config.items[itemId] : undefined;
}

export function shopSku(config: GameConfig, sku: string): ShopSku | undefined {
  return Object.hasOwn(config.shop, sku) ? config.shop[sku] : undefined;
}

export type PaymentCheck =
  | { readonly ok: true; readonly listPrice: Price }
  | {
      readonly ok: false;
      readonly code: 'UNKNOWN_SKU' | 'CURRENCY_NOT_SOLD' | 'PRICE_MISMATCH';
      readonly message: string;
    };

/**
 * Whether a paid notice credits its SKU without a human: the SKU exists, is sold in the paid currency, and the
 * amount lies in the policy's band around that currency's list price. Anything else is disputed, never dropped.
 */
export function paymentCheck(
  config: GameConfig,
  paid: { sku: string; amount: number; currency: string },
): PaymentCheck {
  const sku = shopSku(config, paid.sku);
  if (!sku) return { ok: false, code: 'UNKNOWN_SKU', message: `no shop item ${paid.sku}` };
  const currency = paid.currency.toUpperCase();
  const list =
    currency === sku.price.currency
      ? sku.price.amount
      : sku.localPrices && Object.hasOwn(sku.localPrices, currency)
        ? sku.localPrices[currency]
        : undefined;
  if (list === undefined)
    return { ok: false, code: 'CURRENCY_NOT_SOLD', message: `${paid.sku} is not sold in ${currency}` };
  const policy = { ...config.paymentPolicy, ...sku.paymentPolicy };
  // Integer bounds in minor units, so the comparison never depends on floating-point shares.
  const lowest = Math.ceil(list * policy.minPaidShare);
  const highest = Math.floor(list * policy.maxPaidShare);
  if (paid.amount < lowest || paid.amount > highest)
    return {
      ok: false,
      code: 'PRICE_MISMATCH',
      message: `${paid.sku} lists at ${list} ${currency}; ${paid.amount} is outside the credited band ${lowest}-${highest}`,
    };
  return { ok: true, listPrice: { amount: list, currency } };
}

export function technique(config: GameConfig, techniqueId: string): Technique | undefined {
  return Object.hasOwn(config.techniques, techniqueId) ? config.techniques[techniqueId] : undefined;
}

export function marketOffer(config: GameConfig, itemId: string): MarketOffer | undefined {
  return Object.hasOwn(config.market, itemId) ? config.market[itemId] : undefined;
}

/** Cumulative experience to reach `level`; beyond the last level there is nothing to reach. */
export function experienceToReach(config: GameConfig, level: number): number {
  return config.experienceThresholds[level - 1] ?? Number.POSITIVE_INFINITY;
}

/** The highest level whose threshold `experience` has met. */
export function levelForExperience(config: GameConfig, experience: number): number {
  let level = 1;
  while (level < config.maxLevel && experience >= experienceToReach(config, level + 1)) level++;
  return level;
}

export function realmOfLevel(config: GameConfig, level: number): Realm {
  const realm = config.realms.findLast((r) => r.firstLevel <= level) ?? config.realms[0];
  if (!realm) throw new Error('game config has no realms');
  return realm;
}
