import { commandEnvelope, type CommandEnvelope, type SourceKind } from '../shared/engine/envelope.js';
import type { PlayerCommand } from '../shared/domain/player/index.js';
import type { PaidNotice } from '../shared/payments/paymentRecords.js';

/** A seeded generator (mulberry32), so a workload is the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GameWorkload {
  readonly players: readonly string[];
  /**
   * One CreatePlayer per player, each with a name no other player of this prefix asks for: on a table where no
   * other workload of the same prefix ran, every create applies, so no command of the workload meets
   * PLAYER_NOT_FOUND. (A CreatePlayer sent alongside that asks for one of these names races the player's own
   * create in another message group: send it only once the creates committed.)
   */
  readonly creates: readonly CommandEnvelope[];
  /** Every command is for one of `players`. */
  readonly commands: readonly CommandEnvelope[];
  /** Commands whose rejection the workload guarantees, by command id, with the expected code. */
  readonly mustReject: ReadonlyMap<string, string>;
  /**
   * Second payments: an order of `commands` credited again under another command id (the same payment arriving
   * through another door), one per player for ten players spread over the workload. Sent once `commands` were
   * accepted by the queue, each follows its original in its player's group, so each must be rejected
   * ORDER_ALREADY_CREDITED, and nothing else.
   */
  readonly secondPayments: readonly CommandEnvelope[];
}

const ISSUED = Date.parse('2026-11-24T00:00:00Z');

/**
 * A day of the reference game for `players` players: rewards from the schedule, purchases from a payment
 * provider, experience that cascades level-ups, spends (some beyond any balance), energy, items and trades.
 * The commands carry the identity their real source would derive their id from.
 */
export function gameWorkload(options: {
  players: number;
  commandsPerPlayer: number;
  seed?: number;
  prefix?: string;
}): GameWorkload {
  const rnd = random(options.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const prefix = options.prefix ?? 'p';
  const players = Array.from({ length: options.players }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}`);
  let tick = 0;
  const make = (
    playerId: string,
    command: PlayerCommand,
    kind: SourceKind,
    actor: string,
    identity: string[],
  ): CommandEnvelope =>
    commandEnvelope({
      entityType: 'player',
      entityId: playerId,
      command: command as PlayerCommand & Record<string, unknown>,
      source: { kind, actor },
      identity,
      issuedAt: new Date(ISSUED + tick++ * 10),
    });
  const service = (playerId: string, command: PlayerCommand, key: string) =>
    make(playerId, command, 'service', 'game-server', ['service', 'game-server', playerId, key]);

  const creates = players.map((id, i) =>
    make(id, { type: 'CreatePlayer', name: `Cultivator ${prefix}${i + 1}` }, 'client', id, ['client', id, 'create']),
  );
  const commands: CommandEnvelope[] = [];
  const mustReject = new Map<string, string>();
  for (const [i, id] of players.entries()) {
    for (let n = 0; n < options.commandsPerPlayer; n++) {
      const key = `k${n}`;
      const roll = rnd();
      let envelope: CommandEnvelope;
      if (n === 0) {
        // Far beyond any balance this workload can build: must be rejected.
        envelope = service(
          id,
          { type: 'SpendCurrency', currency: 'gold', amount: 900_000_000, reason: 'overdraw' },
          key,
        );
        mustReject.set(envelope.commandId, 'INSUFFICIENT_FUNDS');
      } else if (roll < 0.12) {
        const taskId = `daily:2026-11-${String(1 + (n % 28)).padStart(2, '0')}`;
        envelope = make(
          id,
          { type: 'GrantReward', taskId, gold: int(10, 200), experience: int(50, 500) },
          'schedule',
          'daily-rewards',
          ['schedule', taskId, id],
        );
      } else if (roll < 0.22) {
        const orderId = `ord-${id}-${n}`;
        envelope = make(
          id,
          {
            type: 'CreditPurchase',
            provider: 'demo-pay',
            orderId,
            sku: pick(['stones-100', 'stones-550', 'stones-1200']),
          },
          'payment',
          'demo-pay',
          ['payment', 'demo-pay', orderId],
        );
      } else if (roll < 0.4) {
        envelope = service(
          id,
          { type: 'AddExperience', amount: pick([80, 400, 2_500, 12_000, 30_000]), source: 'quest' },
          key,
        );
      } else if (roll < 0.55) {
        envelope = service(
          id,
          {
            type: 'SpendCurrency',
            currency: rnd() < 0.7 ? 'gold' : 'spiritStones',
            amount: int(5, 400),
            reason: 'shop',
          },
          key,
        );
      } else if (roll < 0.65) {
        envelope = service(
          id,
          rnd() < 0.6
            ? { type: 'ConsumeEnergy', amount: int(5, 40), reason: 'cultivate' }
            : { type: 'RestoreEnergy', amount: int(5, 60), reason: 'rest' },
          key,
        );
      } else if (roll < 0.75) {
        envelope = service(
          id,
          {
            type: 'GrantItem',
            itemId: pick(['qi-pill', 'spirit-herb', 'spirit-ore', 'iron-sword']),
            quantity: int(1, 3),
            source: 'loot',
          },
          key,
        );
      } else if (roll < 0.83) {
        envelope = service(id, { type: 'UseItem', itemId: pick(['qi-pill', 'spirit-herb']), quantity: 1 }, key);
      } else {
        const other = players[(i + int(1, players.length - 1)) % players.length]!;
        const tradeId = `tr-${id}-${n}`;
        envelope = make(
          id,
          {
            type: 'Trade',
            tradeId,
            counterpartyId: other,
            give: { gold: int(10, 150) },
            receive: rnd() < 0.5 ? { spiritStones: int(1, 50) } : { gold: int(1, 100) },
          },
          'service',
          'game-server',
          ['service', 'trade', tradeId],
        );
      }
      commands.push(envelope);
    }
  }
  // Chosen without drawing from `rnd`, so the rest of the workload is the same with or without them.
  const firstOrders = new Map<string, CommandEnvelope>();
  for (const c of commands)
    if (c.command.type === 'CreditPurchase' && !firstOrders.has(c.entityId)) firstOrders.set(c.entityId, c);
  const step = Math.max(1, Math.floor(firstOrders.size / 10));
  const secondPayments = [...firstOrders.values()]
    .filter((_, i) => i % step === 0)
    .slice(0, 10)
    .map((c) =>
      make(c.entityId, c.command as PlayerCommand, 'payment', c.source.actor, ['payment', 'api', c.commandId]),
    );
  return { players, creates, commands, mustReject, secondPayments };
}

/**
 * The shop's price sheet as published to the studio: stones per SKU, list prices per currency (minor units) and
 * the lowest share of the list price credited without a human. Copied here, not imported from the game config,
 * so that what the demo expects does not come from the code it checks.
 */
const PRICE_SHEET: Readonly<
  Record<string, { stones: number; prices: Readonly<Record<string, number>>; minPercent: number }>
> = {
  'stones-100': { stones: 100, prices: { USD: 99, EUR: 99, GBP: 89, JPY: 150 }, minPercent: 50 },
  'stones-550': { stones: 550, prices: { USD: 499, EUR: 499, GBP: 449, JPY: 750 }, minPercent: 50 },
  'stones-1200': { stones: 1200, prices: { USD: 999, EUR: 999, GBP: 899, JPY: 1500 }, minPercent: 70 },
};
/** Taxes on top of the list price are credited up to +30 %. */
const MAX_PERCENT = 130;

export type PaymentEnd = 'credited' | 'disputed' | 'unmatched';

/** The policy band in integers: credited when minPercent % of the list price ≤ paid ≤ 130 % of it, in the paid currency. */
export function bandRule(
  sku: string,
  amount: number,
  currency: string,
):
  | { credits: true; stones: number }
  | { credits: false; code: 'UNKNOWN_SKU' | 'CURRENCY_NOT_SOLD' | 'PRICE_MISMATCH' } {
  const entry = Object.hasOwn(PRICE_SHEET, sku) ? PRICE_SHEET[sku]! : undefined;
  if (!entry) return { credits: false, code: 'UNKNOWN_SKU' };
  const list = Object.hasOwn(entry.prices, currency.toUpperCase()) ? entry.prices[currency.toUpperCase()]! : undefined;
  if (list === undefined) return { credits: false, code: 'CURRENCY_NOT_SOLD' };
  const inBand = amount * 100 >= list * entry.minPercent && amount * 100 <= list * MAX_PERCENT;
  return inBand ? { credits: true, stones: entry.stones } : { credits: false, code: 'PRICE_MISMATCH' };
}

/** The signed body a provider posts to `POST /v1/webhooks/payments/{provider}`. */
export type PaymentNoticeBody = Omit<PaidNotice, 'provider'>;

export interface DemoPayment {
  readonly notice: PaymentNoticeBody;
  /** What the amount is, for a reader: `EUR, 25 % coupon`. */
  readonly kind: string;
  /** How it must end: credited (in the band, its player exists by then), disputed with `code`, or unmatched (its player is never created). */
  readonly ends: PaymentEnd;
  readonly code?: string;
  /** The spirit stones it credits: the SKU's size if it ends credited, else 0. */
  readonly stones: number;
  /** The SKU's list price in the paid currency, if it is sold in it. */
  readonly listPrice?: number;
}

export interface Newcomer {
  readonly playerId: string;
  readonly name: string;
  /** `before`: signs up right before paying, so the payment may overtake the creation; `after`: it always does. */
  readonly signsUp: 'before' | 'after';
}

export interface PaymentWorkload {
  readonly provider: string;
  readonly newcomers: readonly Newcomer[];
  /** Player ids nobody ever creates (a shop that sent a wrong id): their creditable payments stay unmatched. */
  readonly ghosts: readonly string[];
  /** Every paid notice, each a distinct order, in the order a provider would first deliver them. */
  readonly payments: readonly DemoPayment[];
  /** Delivered three times at once on their first delivery (a provider's retries racing each other). */
  readonly bursts: ReadonlySet<string>;
  /** Delivered again once every first delivery was answered (the provider retrying later). */
  readonly replays: readonly DemoPayment[];
}

/**
 * Paid notices from a payment provider at the amounts real checkouts produce: list prices, coupons and taxes in
 * USD, EUR, GBP and JPY (credited), and amounts outside the policy band, unsold currencies and unknown SKUs
 * (disputed), for existing players, for players who sign up around their first payment, and for ids that never
 * become players. Each payment says how it must end, by `bandRule` and whether its player will exist.
 */
export function paymentWorkload(options: {
  payers: readonly string[];
  newcomers: number;
  ghosts: number;
  seed?: number;
  provider?: string;
  prefix?: string;
}): PaymentWorkload {
  const rnd = random(options.seed ?? 11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const prefix = options.prefix ?? 'shop';
  const skus = Object.keys(PRICE_SHEET);
  const currencies = ['USD', 'EUR', 'GBP', 'JPY'];
  const percentOf = (sku: string, currency: string, percent: number) =>
    Math.round((PRICE_SHEET[sku]!.prices[currency]! * percent) / 100);
  const lowest = (sku: string, currency: string) =>
    Math.ceil((PRICE_SHEET[sku]!.prices[currency]! * PRICE_SHEET[sku]!.minPercent) / 100);
  const highest = (sku: string, currency: string) =>
    Math.floor((PRICE_SHEET[sku]!.prices[currency]! * MAX_PERCENT) / 100);
  type Paid = { sku: string; currency: string; amount: number; kind: string };
  const inBand: ((sku: string, currency: string) => Paid)[] = [
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 100), kind: `${currency}, list price` }),
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 90), kind: `${currency}, 10 % coupon` }),
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 75), kind: `${currency}, 25 % coupon` }),
    (sku, currency) => ({
      sku,
      currency,
      amount: lowest(sku, currency),
      kind: `${currency}, the deepest coupon the SKU allows`,
    }),
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 107), kind: `${currency}, 7 % sales tax` }),
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 119), kind: `${currency}, 19 % VAT` }),
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 127), kind: `${currency}, 27 % VAT` }),
    (sku, currency) => ({
      sku,
      currency,
      amount: highest(sku, currency),
      kind: `${currency}, the most tax the band allows`,
    }),
    (sku, currency) => ({
      sku,
      currency: currency.toLowerCase(),
      amount: percentOf(sku, currency, 100),
      kind: `${currency} in lower case`,
    }),
  ];
  const outOfBand: ((sku: string, currency: string) => Paid)[] = [
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 30), kind: `${currency}, 70 % coupon` }),
    (sku, currency) => ({ sku, currency, amount: lowest(sku, currency) - 1, kind: `${currency}, one below the band` }),
    (sku, currency) => ({ sku, currency, amount: highest(sku, currency) + 1, kind: `${currency}, one above the band` }),
    (sku, currency) => ({ sku, currency, amount: percentOf(sku, currency, 200), kind: `${currency}, charged twice` }),
    (_sku, currency) => ({
      sku: 'stones-1200',
      currency,
      amount: percentOf('stones-1200', currency, 60),
      kind: `${currency}, 40 % coupon on the pack never sold below 70 %`,
    }),
    (sku) => ({
      sku,
      currency: pick(['CHF', 'SEK', 'BRL']),
      amount: PRICE_SHEET[sku]!.prices.USD!,
      kind: 'a currency the shop does not sell in',
    }),
    (_sku, currency) => ({ sku: 'stones-9999', currency, amount: 999, kind: 'an unknown SKU' }),
  ];

  let order = 0;
  const payment = (playerId: string, existsByTheEnd: boolean, creditable: boolean): DemoPayment => {
    const paid = pick(creditable ? inBand : outOfBand)(pick(skus), pick(currencies));
    order++;
    const notice: PaymentNoticeBody = {
      eventId: `evt-${prefix}-${order}`,
      orderId: `${prefix}-${String(order).padStart(5, '0')}`,
      playerId,
      sku: paid.sku,
      amount: paid.amount,
      currency: paid.currency,
    };
    const rule = bandRule(paid.sku, paid.amount, paid.currency);
    const listPrice = Object.hasOwn(PRICE_SHEET, paid.sku)
      ? PRICE_SHEET[paid.sku]!.prices[paid.currency.toUpperCase()]
      : undefined;
    const known = { notice, kind: paid.kind, ...(listPrice !== undefined ? { listPrice } : {}) };
    if (!rule.credits) return { ...known, ends: 'disputed', code: rule.code, stones: 0 };
    return existsByTheEnd
      ? { ...known, ends: 'credited', stones: rule.stones }
      : { ...known, ends: 'unmatched', stones: 0 };
  };

  const payments: DemoPayment[] = [];
  for (const playerId of options.payers)
    for (let i = 0, n = 1 + Math.floor(rnd() * 3); i < n; i++) payments.push(payment(playerId, true, rnd() < 0.7));
  const newcomers: Newcomer[] = Array.from({ length: options.newcomers }, (_, i) => ({
    playerId: `${prefix}-buyer-${String(i + 1).padStart(4, '0')}`,
    name: `Buyer ${prefix} ${i + 1}`,
    signsUp: i % 2 === 0 ? 'before' : 'after',
  }));
  for (const { playerId } of newcomers)
    for (let i = 0, n = 1 + Math.floor(rnd() * 2); i < n; i++) payments.push(payment(playerId, true, rnd() < 0.8));
  const ghosts = Array.from({ length: options.ghosts }, (_, i) => `${prefix}-ghost-${i + 1}`);
  for (const playerId of ghosts) payments.push(payment(playerId, false, rnd() < 0.8));

  const bursts = new Set(payments.filter(() => rnd() < 0.08).map((p) => p.notice.orderId));
  const replays = payments.filter(() => rnd() < 0.3);
  return { provider: options.provider ?? 'demo-shop', newcomers, ghosts, payments, bursts, replays };
}
