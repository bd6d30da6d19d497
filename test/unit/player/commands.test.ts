import { describe, expect, it } from 'vitest';
import { maxAmount, playerCommandSchema } from '../../../shared/domain/player/index.js';

const valid = {
  CreatePlayer: { type: 'CreatePlayer', name: 'Lin Feng' },
  CreditPurchase: { type: 'CreditPurchase', provider: 'stripe', orderId: 'pi_3Nx.9:a-b', sku: 'stones-100' },
  GrantReward: {
    type: 'GrantReward',
    taskId: 'daily-2025-01-01',
    gold: 10,
    spiritStones: 1,
    experience: 5,
    items: [{ itemId: 'qi-pill', quantity: 1 }],
  },
  SpendCurrency: { type: 'SpendCurrency', currency: 'gold', amount: 10, reason: 'shop:iron-sword' },
  AddExperience: { type: 'AddExperience', amount: 10, source: 'cultivation' },
  ConsumeEnergy: { type: 'ConsumeEnergy', amount: 10, reason: 'cultivation' },
  RestoreEnergy: { type: 'RestoreEnergy', amount: 10, reason: 'rest' },
  GrantItem: { type: 'GrantItem', itemId: 'spirit-herb', quantity: 3, source: 'quest' },
  UseItem: { type: 'UseItem', itemId: 'spirit-herb', quantity: 1 },
  Trade: {
    type: 'Trade',
    tradeId: 'tr-1',
    counterpartyId: 'su-yan',
    give: { gold: 5 },
    receive: { items: [{ itemId: 'spirit-ore', quantity: 2 }] },
  },
  PurchaseItem: { type: 'PurchaseItem', itemId: 'spirit-herb', quantity: 2 },
  AdjustBalance: {
    type: 'AdjustBalance',
    currency: 'gold',
    delta: -50,
    operator: 'gm-alice',
    reason: 'chargeback on order 1',
    ticket: 'SUP-1234',
  },
} as const;

const accepts = (input: unknown) => playerCommandSchema.safeParse(input).success;

describe('playerCommandSchema', () => {
  it.each(Object.entries(valid))('accepts a well-formed %s unchanged', (_type, command) => {
    expect(playerCommandSchema.parse(command)).toEqual(command);
  });

  it('rejects an unknown or missing type', () => {
    expect(accepts({ type: 'DeletePlayer' })).toBe(false);
    expect(accepts({ name: 'Lin Feng' })).toBe(false);
    expect(accepts(null)).toBe(false);
    expect(accepts('CreatePlayer')).toBe(false);
  });

  it.each(Object.entries(valid))('rejects an unknown field on %s', (_type, command) => {
    expect(accepts({ ...command, admin: true })).toBe(false);
  });

  it('rejects unknown fields nested in items and trade bundles', () => {
    expect(accepts({ ...valid.GrantItem, itemId: 'spirit-herb', extra: 1 })).toBe(false);
    expect(accepts({ ...valid.GrantReward, items: [{ itemId: 'qi-pill', quantity: 1, bonus: 2 }] })).toBe(false);
    expect(accepts({ ...valid.Trade, give: { gold: 5, diamonds: 1 } })).toBe(false);
  });

  describe('ids that can reach a DynamoDB key', () => {
    const withId: [string, (id: string) => unknown][] = [
      ['orderId', (id) => ({ ...valid.CreditPurchase, orderId: id })],
      ['provider', (id) => ({ ...valid.CreditPurchase, provider: id })],
      ['sku', (id) => ({ ...valid.CreditPurchase, sku: id })],
      ['taskId', (id) => ({ ...valid.GrantReward, taskId: id })],
      ['tradeId', (id) => ({ ...valid.Trade, tradeId: id })],
      ['counterpartyId', (id) => ({ ...valid.Trade, counterpartyId: id })],
      ['itemId', (id) => ({ ...valid.GrantItem, itemId: id })],
      ['reward itemId', (id) => ({ ...valid.GrantReward, items: [{ itemId: id, quantity: 1 }] })],
      ['trade itemId', (id) => ({ ...valid.Trade, receive: { items: [{ itemId: id, quantity: 1 }] } })],
    ];

    it.each(withId)('%s rejects #, empty, whitespace, oversize and odd characters', (_field, build) => {
      for (const id of ['a#b', '#', 'PAY#stripe#o-1', '', ' a', 'a b', 'a/b', 'a\u0000', 'é', 'x'.repeat(129)]) {
        expect(accepts(build(id)), JSON.stringify(id)).toBe(false);
      }
    });

    it('keeps provider lowercase and short, and counterparty ids to the player id alphabet', () => {
      expect(accepts({ ...valid.CreditPurchase, provider: 'Stripe' })).toBe(false);
      expect(accepts({ ...valid.CreditPurchase, provider: 'p'.repeat(33) })).toBe(false);
      expect(accepts({ ...valid.Trade, counterpartyId: 'su.yan' })).toBe(false);
      expect(accepts({ ...valid.Trade, counterpartyId: 's'.repeat(65) })).toBe(false);
    });
  });

  describe('amounts', () => {
    const withAmount: [string, (n: unknown) => unknown, number][] = [
      ['SpendCurrency amount', (n) => ({ ...valid.SpendCurrency, amount: n }), maxAmount.currency],
      ['GrantReward gold', (n) => ({ ...valid.GrantReward, gold: n }), maxAmount.currency],
      ['GrantReward experience', (n) => ({ ...valid.GrantReward, experience: n }), maxAmount.experience],
      ['AddExperience amount', (n) => ({ ...valid.AddExperience, amount: n }), maxAmount.experience],
      ['ConsumeEnergy amount', (n) => ({ ...valid.ConsumeEnergy, amount: n }), maxAmount.energy],
      ['RestoreEnergy amount', (n) => ({ ...valid.RestoreEnergy, amount: n }), maxAmount.energy],
      ['GrantItem quantity', (n) => ({ ...valid.GrantItem, quantity: n }), maxAmount.quantity],
      ['UseItem quantity', (n) => ({ ...valid.UseItem, quantity: n }), maxAmount.quantity],
      ['Trade give gold', (n) => ({ ...valid.Trade, give: { gold: n } }), maxAmount.currency],
      [
        'Trade item quantity',
        (n) => ({ ...valid.Trade, give: { items: [{ itemId: 'qi-pill', quantity: n }] } }),
        maxAmount.quantity,
      ],
    ];

    it.each(withAmount)('%s must be a positive integer within the config maximum', (_field, build, max) => {
      expect(accepts(build(max))).toBe(true);
      for (const n of [0, -1, 1.5, max + 1, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
        expect(accepts(build(n)), String(n)).toBe(false);
      }
    });
  });

  describe('CreatePlayer name', () => {
    it.each(['林风', 'Élodie', 'Lin Feng_2', 'a-b', 'Ωmega 7'])('accepts %s', (name) => {
      expect(accepts({ type: 'CreatePlayer', name })).toBe(true);
    });

    it('trims surrounding whitespace', () => {
      expect(playerCommandSchema.parse({ type: 'CreatePlayer', name: '  林风 \t' })).toEqual({
        type: 'CreatePlayer',
        name: '林风',
      });
    });

    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['too long', 'x'.repeat(25)],
      ['a control character', 'Lin\u0000Feng'],
      ['a newline', 'Lin\nFeng'],
      ['a double space', 'Lin  Feng'],
      ['a #', 'Lin#Feng'],
      ['an emoji', 'Lin🔥'],
      ['punctuation', 'Lin.Feng'],
      ['a letter that normalizes to punctuation', 'Ŀin'],
    ])('rejects %s', (_case, name) => {
      expect(accepts({ type: 'CreatePlayer', name })).toBe(false);
    });
  });

  it('requires a reward to grant something', () => {
    expect(accepts({ type: 'GrantReward', taskId: 't-1' })).toBe(false);
  });

  it('requires a trade to move something', () => {
    expect(accepts({ type: 'Trade', tradeId: 't', counterpartyId: 'su-yan', give: {}, receive: {} })).toBe(false);
  });

  it('rejects empty, oversized or repeating item lists', () => {
    expect(accepts({ ...valid.GrantReward, items: [] })).toBe(false);
    const many = Array.from({ length: 21 }, (_, i) => ({ itemId: `item-${i}`, quantity: 1 }));
    expect(accepts({ ...valid.GrantReward, items: many })).toBe(false);
    const twice = [
      { itemId: 'qi-pill', quantity: 1 },
      { itemId: 'qi-pill', quantity: 2 },
    ];
    expect(accepts({ ...valid.Trade, give: { items: twice } })).toBe(false);
  });

  it('limits currencies to gold and spirit stones', () => {
    expect(accepts({ ...valid.SpendCurrency, currency: 'diamonds' })).toBe(false);
  });

  it('takes no price from the caller on PurchaseItem', () => {
    expect(accepts({ ...valid.PurchaseItem, price: 0 })).toBe(false);
    expect(accepts({ ...valid.PurchaseItem, quantity: 0 })).toBe(false);
  });

  it('refuses a zero, fractional or out-of-range adjustment, and control characters in its reason', () => {
    expect(accepts({ ...valid.AdjustBalance, delta: 0 })).toBe(false);
    expect(accepts({ ...valid.AdjustBalance, delta: 1.5 })).toBe(false);
    expect(accepts({ ...valid.AdjustBalance, delta: -maxAmount.currency - 1 })).toBe(false);
    expect(accepts({ ...valid.AdjustBalance, reason: 'line\nbreak' })).toBe(false);
    expect(accepts({ ...valid.AdjustBalance, reason: '   ' })).toBe(false);
    expect(accepts({ ...valid.AdjustBalance, ticket: 'a#STATE' })).toBe(false);
  });
});
