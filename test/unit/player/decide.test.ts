import { describe, expect, it } from 'vitest';
import {
  gameConfig,
  type GameConfig,
  type PlayerCommand,
  type PlayerCommandOf,
  type PlayerEvent,
} from '../../../shared/domain/player/index.js';
import { fold, given, itemGranted, ME, OTHER, playerCreated } from './given.js';

type TradeGoods = Pick<PlayerCommandOf<'Trade'>, 'give' | 'receive'>;

const gains = (n: number) => ({ strength: n, agility: n, intelligence: n, constitution: n });
const levelledUp = (level: number, maxEnergy: number): PlayerEvent => ({
  type: 'LevelledUp',
  level,
  attributeGains: gains(2),
  maxEnergy,
});
const realmAdvanced = (realm: string, maxEnergy: number): PlayerEvent => ({
  type: 'RealmAdvanced',
  realm,
  attributeGains: gains(5),
  maxEnergy,
});
const spent = (currency: 'gold' | 'spiritStones', amount: number): PlayerEvent => ({
  type: 'CurrencySpent',
  currency,
  amount,
  reason: 'test',
});

describe('CreatePlayer', () => {
  it('creates a player with the seed defaults and the config version', () => {
    given([]).when({ type: 'CreatePlayer', name: '  Lin Feng ' }).then([playerCreated()]);
  });

  it('takes its defaults from the config in the context, not from the module', () => {
    const richer: GameConfig = { ...gameConfig, version: 2, newPlayer: { ...gameConfig.newPlayer, gold: 5000 } };
    given([])
      .when({ type: 'CreatePlayer', name: 'Lin Feng' }, richer)
      .then([playerCreated({ configVersion: 2, gold: 5000 })]);
  });

  it('rejects a player that already exists', () => {
    given([playerCreated()]).when({ type: 'CreatePlayer', name: 'Su Yan' }).thenRejects('PLAYER_EXISTS');
  });

  it('gives the created state the seed defaults', () => {
    expect(fold([playerCreated()])).toEqual({
      exists: true,
      name: 'Lin Feng',
      configVersion: 1,
      level: 1,
      realm: 'qi-refining',
      experience: 0,
      energy: 100,
      maxEnergy: 100,
      gold: 1000,
      spiritStones: 0,
      attributes: { strength: 10, agility: 10, intelligence: 10, constitution: 10 },
      inventory: {},
    });
  });
});

describe('any command but CreatePlayer on a player that does not exist', () => {
  const commands: PlayerCommand[] = [
    { type: 'CreditPurchase', provider: 'stripe', orderId: 'o-1', sku: 'stones-100' },
    { type: 'GrantReward', taskId: 't-1', gold: 1 },
    { type: 'SpendCurrency', currency: 'gold', amount: 1, reason: 'shop' },
    { type: 'AddExperience', amount: 1, source: 'cultivation' },
    { type: 'ConsumeEnergy', amount: 1, reason: 'cultivation' },
    { type: 'RestoreEnergy', amount: 1, reason: 'rest' },
    { type: 'GrantItem', itemId: 'spirit-herb', quantity: 1, source: 'quest' },
    { type: 'UseItem', itemId: 'spirit-herb', quantity: 1 },
    { type: 'Trade', tradeId: 'tr-1', counterpartyId: OTHER, give: { gold: 1 }, receive: {} },
  ];

  it.each(commands.map((c) => [c.type, c] as const))('%s is rejected PLAYER_NOT_FOUND', (_type, command) => {
    given([], [playerCreated()]).when(command).thenRejects('PLAYER_NOT_FOUND', `player ${ME} does not exist`);
  });
});

describe('CreditPurchase', () => {
  it('credits the spirit stones of the SKU and records its price', () => {
    given([playerCreated()])
      .when({ type: 'CreditPurchase', provider: 'stripe', orderId: 'pi_123', sku: 'stones-550' })
      .then([
        {
          type: 'PurchaseCredited',
          provider: 'stripe',
          orderId: 'pi_123',
          sku: 'stones-550',
          spiritStones: 550,
          price: { amount: 499, currency: 'USD' },
        },
      ]);
  });

  it.each(['stones-7', 'constructor', 'toString'])('rejects the unknown SKU %s', (sku) => {
    given([playerCreated()])
      .when({ type: 'CreditPurchase', provider: 'stripe', orderId: 'o-1', sku })
      .thenRejects('UNKNOWN_SKU', `no shop item ${sku}`);
  });

  it('rejects a credit that would take the wallet past its limit', () => {
    const nearlyFull = playerCreated({ spiritStones: gameConfig.limits.balance - 99 });
    given([nearlyFull])
      .when({ type: 'CreditPurchase', provider: 'stripe', orderId: 'o-1', sku: 'stones-100' })
      .thenRejects('BALANCE_LIMIT_EXCEEDED', /spiritStones/);
  });

  it('adds the stones to the balance', () => {
    const events = [
      playerCreated(),
      {
        type: 'PurchaseCredited',
        provider: 'p',
        orderId: 'o',
        sku: 'stones-100',
        spiritStones: 100,
        price: { amount: 99, currency: 'USD' },
      } as const,
    ];
    expect(fold(events).spiritStones).toBe(100);
  });
});

describe('GrantReward', () => {
  it('grants currencies and items, spelling out what is absent as zero', () => {
    given([playerCreated()])
      .when({ type: 'GrantReward', taskId: 'daily-1', gold: 50, items: [{ itemId: 'spirit-herb', quantity: 3 }] })
      .then([
        {
          type: 'RewardGranted',
          taskId: 'daily-1',
          gold: 50,
          spiritStones: 0,
          items: [{ itemId: 'spirit-herb', quantity: 3 }],
        },
      ]);
  });

  it('grants experience that cascades into level-ups', () => {
    given([playerCreated()])
      .when({ type: 'GrantReward', taskId: 'daily-1', spiritStones: 5, experience: 450 })
      .then([
        { type: 'RewardGranted', taskId: 'daily-1', gold: 0, spiritStones: 5, items: [] },
        { type: 'ExperienceGained', amount: 450, source: 'task:daily-1' },
        levelledUp(2, 105),
        levelledUp(3, 110),
      ]);
  });

  it('rejects an unknown item', () => {
    given([playerCreated()])
      .when({ type: 'GrantReward', taskId: 't', gold: 1, items: [{ itemId: 'dragon-egg', quantity: 1 }] })
      .thenRejects('UNKNOWN_ITEM', 'no item dragon-egg');
  });

  it('rejects items beyond the stack limit', () => {
    given([playerCreated(), itemGranted('iron-sword', 4)])
      .when({ type: 'GrantReward', taskId: 't', items: [{ itemId: 'iron-sword', quantity: 2 }] })
      .thenRejects('STACK_LIMIT_EXCEEDED', 'would hold 6 iron-sword, stack limit 5');
  });

  it('rejects gold beyond the wallet limit', () => {
    given([playerCreated({ gold: gameConfig.limits.balance })])
      .when({ type: 'GrantReward', taskId: 't', gold: 1 })
      .thenRejects('BALANCE_LIMIT_EXCEEDED');
  });

  it('adds everything to the state', () => {
    const state = fold([
      playerCreated(),
      { type: 'RewardGranted', taskId: 't', gold: 50, spiritStones: 7, items: [{ itemId: 'spirit-ore', quantity: 9 }] },
    ]);
    expect(state).toMatchObject({ gold: 1050, spiritStones: 7, inventory: { 'spirit-ore': 9 } });
  });
});

describe('SpendCurrency', () => {
  it('spends what the player has', () => {
    given([playerCreated()])
      .when({ type: 'SpendCurrency', currency: 'gold', amount: 1000, reason: 'shop' })
      .then([{ type: 'CurrencySpent', currency: 'gold', amount: 1000, reason: 'shop' }]);
  });

  it('rejects spending more gold than the player has, saying how much', () => {
    given([playerCreated(), spent('gold', 980)])
      .when({ type: 'SpendCurrency', currency: 'gold', amount: 50, reason: 'shop' })
      .thenRejects('INSUFFICIENT_FUNDS', 'needs 50 gold, has 20');
  });

  it('rejects spending spirit stones the player does not have', () => {
    given([playerCreated()])
      .when({ type: 'SpendCurrency', currency: 'spiritStones', amount: 1, reason: 'shop' })
      .thenRejects('INSUFFICIENT_FUNDS', 'needs 1 spiritStones, has 0');
  });

  it('takes the amount off the balance', () => {
    expect(fold([playerCreated({ spiritStones: 30 }), spent('spiritStones', 12), spent('gold', 1)])).toMatchObject({
      gold: 999,
      spiritStones: 18,
    });
  });
});

describe('AddExperience', () => {
  it('gains experience without a level-up below the next threshold', () => {
    given([playerCreated()])
      .when({ type: 'AddExperience', amount: 99, source: 'cultivation' })
      .then([{ type: 'ExperienceGained', amount: 99, source: 'cultivation' }]);
  });

  it('levels up exactly at the threshold', () => {
    given([playerCreated(), { type: 'ExperienceGained', amount: 99, source: 's' }])
      .when({ type: 'AddExperience', amount: 1, source: 's' })
      .then([{ type: 'ExperienceGained', amount: 1, source: 's' }, levelledUp(2, 105)]);
  });

  it('emits one LevelledUp per threshold crossed and RealmAdvanced at the realm boundary, in order', () => {
    // Level 12 needs 100·11² = 12 100 experience; level 11 opens Foundation Establishment.
    given([playerCreated()])
      .when({ type: 'AddExperience', amount: 12_100, source: 'epiphany' })
      .then([
        { type: 'ExperienceGained', amount: 12_100, source: 'epiphany' },
        ...[2, 3, 4, 5, 6, 7, 8, 9, 10].map((level) => levelledUp(level, 100 + 5 * (level - 1))),
        levelledUp(11, 150),
        realmAdvanced('foundation-establishment', 170),
        levelledUp(12, 175),
      ]);
  });

  it('folds the cascade into level, realm, maxEnergy and attributes, leaving energy as it was', () => {
    const { state } = given([playerCreated()])
      .when({ type: 'AddExperience', amount: 12_100, source: 'epiphany' })
      .thenAccepts();
    expect(state).toMatchObject({
      experience: 12_100,
      level: 12,
      realm: 'foundation-establishment',
      energy: 100,
      maxEnergy: 175,
      attributes: gains(10 + 11 * 2 + 5),
    });
  });

  it('climbs from level 1 to the max level in one command, through every realm', () => {
    const { events, state } = given([playerCreated()])
      .when({ type: 'AddExperience', amount: 10_000_000, source: 'heavenly-tribulation' })
      .thenAccepts();
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'LevelledUp')).toHaveLength(49);
    expect(events.filter((e) => e.type === 'RealmAdvanced').map((e) => e.realm)).toEqual([
      'foundation-establishment',
      'golden-core',
      'nascent-soul',
      'spirit-severing',
    ]);
    expect(state).toMatchObject({ level: 50, realm: 'spirit-severing', maxEnergy: 425, experience: 10_000_000 });
  });

  it('keeps accumulating experience at the max level without levelling further', () => {
    const atMax = [
      playerCreated(),
      { type: 'ExperienceGained', amount: 240_100, source: 's' } as const,
      levelledUp(50, 425),
    ];
    const { state } = given(atMax)
      .when({ type: 'AddExperience', amount: 5_000, source: 's' })
      .then([{ type: 'ExperienceGained', amount: 5_000, source: 's' }]);
    expect(state).toMatchObject({ level: 50, experience: 245_100 });
  });
});

describe('ConsumeEnergy', () => {
  it('consumes energy the player has', () => {
    given([playerCreated()])
      .when({ type: 'ConsumeEnergy', amount: 100, reason: 'cultivation' })
      .then([{ type: 'EnergyConsumed', amount: 100, reason: 'cultivation' }]);
  });

  it('rejects consuming more than the player has', () => {
    given([playerCreated(), { type: 'EnergyConsumed', amount: 90, reason: 'r' }])
      .when({ type: 'ConsumeEnergy', amount: 30, reason: 'combat' })
      .thenRejects('INSUFFICIENT_ENERGY', 'needs 30 energy, has 10');
  });
});

describe('RestoreEnergy', () => {
  const tired = [playerCreated(), { type: 'EnergyConsumed', amount: 30, reason: 'r' } as const];

  it('restores up to the amount asked', () => {
    given(tired)
      .when({ type: 'RestoreEnergy', amount: 20, reason: 'rest' })
      .then([{ type: 'EnergyRestored', amount: 20, reason: 'rest' }]);
  });

  it('clamps to maxEnergy and records what was actually restored', () => {
    given(tired)
      .when({ type: 'RestoreEnergy', amount: 50, reason: 'rest' })
      .then([{ type: 'EnergyRestored', amount: 30, reason: 'rest' }]);
  });

  it('rejects restoring a player whose energy is full', () => {
    given([playerCreated()]).when({ type: 'RestoreEnergy', amount: 5, reason: 'rest' }).thenRejects('ENERGY_FULL');
  });
});

describe('GrantItem', () => {
  it('grants a known item', () => {
    given([playerCreated()])
      .when({ type: 'GrantItem', itemId: 'iron-sword', quantity: 1, source: 'quest' })
      .then([{ type: 'ItemGranted', itemId: 'iron-sword', quantity: 1, source: 'quest' }]);
  });

  it.each(['dragon-egg', 'constructor', 'hasOwnProperty'])('rejects the unknown item %s', (itemId) => {
    given([playerCreated()])
      .when({ type: 'GrantItem', itemId, quantity: 1, source: 'quest' })
      .thenRejects('UNKNOWN_ITEM', `no item ${itemId}`);
  });

  it('fills a stack exactly to its limit but not past it', () => {
    const history = [playerCreated(), itemGranted('spirit-herb', 95)];
    given(history)
      .when({ type: 'GrantItem', itemId: 'spirit-herb', quantity: 4, source: 'q' })
      .then([{ type: 'ItemGranted', itemId: 'spirit-herb', quantity: 4, source: 'q' }]);
    given(history)
      .when({ type: 'GrantItem', itemId: 'spirit-herb', quantity: 5, source: 'q' })
      .thenRejects('STACK_LIMIT_EXCEEDED', 'would hold 100 spirit-herb, stack limit 99');
  });

  it('adds to the inventory', () => {
    expect(fold([playerCreated(), itemGranted('spirit-ore', 2), itemGranted('spirit-ore', 3)]).inventory).toEqual({
      'spirit-ore': 5,
    });
  });
});

describe('UseItem', () => {
  const withItems = [
    playerCreated(),
    itemGranted('spirit-herb', 5),
    itemGranted('qi-pill', 2),
    itemGranted('greater-qi-pill', 10),
    itemGranted('iron-sword', 1),
    itemGranted('spirit-ore', 1),
  ];
  const tired = [...withItems, { type: 'EnergyConsumed', amount: 50, reason: 'r' } as const];

  it('restores energy for each item used', () => {
    given(tired)
      .when({ type: 'UseItem', itemId: 'spirit-herb', quantity: 2 })
      .then([
        { type: 'ItemUsed', itemId: 'spirit-herb', quantity: 2 },
        { type: 'EnergyRestored', amount: 40, reason: 'item:spirit-herb' },
      ]);
  });

  it('clamps the restored energy to maxEnergy', () => {
    given(tired)
      .when({ type: 'UseItem', itemId: 'spirit-herb', quantity: 3 })
      .then([
        { type: 'ItemUsed', itemId: 'spirit-herb', quantity: 3 },
        { type: 'EnergyRestored', amount: 50, reason: 'item:spirit-herb' },
      ]);
  });

  it('rejects an energy item on a full player rather than wasting it', () => {
    given(withItems).when({ type: 'UseItem', itemId: 'spirit-herb', quantity: 1 }).thenRejects('ENERGY_FULL');
  });

  it('grants experience that cascades into level-ups, even at full energy', () => {
    given(withItems)
      .when({ type: 'UseItem', itemId: 'qi-pill', quantity: 1 })
      .then([
        { type: 'ItemUsed', itemId: 'qi-pill', quantity: 1 },
        { type: 'ExperienceGained', amount: 150, source: 'item:qi-pill' },
        levelledUp(2, 105),
      ]);
  });

  it('cascades across a realm boundary', () => {
    const { events, state } = given(withItems)
      .when({ type: 'UseItem', itemId: 'greater-qi-pill', quantity: 10 })
      .thenAccepts();
    expect(events.at(0)).toEqual({ type: 'ItemUsed', itemId: 'greater-qi-pill', quantity: 10 });
    expect(events.at(1)).toEqual({ type: 'ExperienceGained', amount: 10_000, source: 'item:greater-qi-pill' });
    expect(events.slice(-2)).toEqual([levelledUp(11, 150), realmAdvanced('foundation-establishment', 170)]);
    expect(state).toMatchObject({ level: 11, realm: 'foundation-establishment' });
  });

  it.each(['iron-sword', 'spirit-ore'])('rejects using %s, which has no effect', (itemId) => {
    given(withItems)
      .when({ type: 'UseItem', itemId, quantity: 1 })
      .thenRejects('ITEM_NOT_USABLE', `${itemId} cannot be used`);
  });

  it('rejects an unknown item', () => {
    given(withItems).when({ type: 'UseItem', itemId: 'dragon-egg', quantity: 1 }).thenRejects('UNKNOWN_ITEM');
  });

  it('rejects using more than the player holds', () => {
    given(tired)
      .when({ type: 'UseItem', itemId: 'spirit-herb', quantity: 6 })
      .thenRejects('INSUFFICIENT_ITEMS', 'needs 6 spirit-herb, has 5');
  });

  it('removes an item from the inventory when the last one is used', () => {
    const state = fold([...withItems, { type: 'ItemUsed', itemId: 'qi-pill', quantity: 2 }]);
    expect(state.inventory).not.toHaveProperty('qi-pill');
    expect(state.inventory['spirit-herb']).toBe(5);
  });
});

describe('Trade', () => {
  const me = [playerCreated(), itemGranted('spirit-herb', 10), itemGranted('iron-sword', 4)];
  const other = [
    playerCreated({ name: 'Su Yan', spiritStones: 300 }),
    itemGranted('spirit-ore', 50),
    itemGranted('iron-sword', 1),
  ];

  it('moves gold one way and items the other, recorded on both sides', () => {
    const mine = { gold: 200, spiritStones: 0, items: [] };
    const theirs = { gold: 0, spiritStones: 0, items: [{ itemId: 'spirit-ore', quantity: 20 }] };
    const { state, counterparty } = given(me, other)
      .when({
        type: 'Trade',
        tradeId: 'tr-1',
        counterpartyId: OTHER,
        give: { gold: 200 },
        receive: { items: [{ itemId: 'spirit-ore', quantity: 20 }] },
      })
      .then(
        [
          {
            type: 'TradeCompleted',
            tradeId: 'tr-1',
            counterpartyId: OTHER,
            role: 'initiator',
            gave: mine,
            received: theirs,
          },
        ],
        {
          [OTHER]: [
            {
              type: 'TradeCompleted',
              tradeId: 'tr-1',
              counterpartyId: ME,
              role: 'counterparty',
              gave: theirs,
              received: mine,
            },
          ],
        },
      );
    expect(state).toMatchObject({ gold: 800, inventory: { 'spirit-ore': 20, 'spirit-herb': 10 } });
    expect(counterparty).toMatchObject({ gold: 1200, inventory: { 'spirit-ore': 30 } });
  });

  it('moves items and stones the other way, swapping the same item in both directions', () => {
    const { state: mine, counterparty: theirs } = given(me, other)
      .when({
        type: 'Trade',
        tradeId: 'tr-2',
        counterpartyId: OTHER,
        give: {
          items: [
            { itemId: 'spirit-herb', quantity: 10 },
            { itemId: 'iron-sword', quantity: 4 },
          ],
        },
        receive: { spiritStones: 300, gold: 1000, items: [{ itemId: 'iron-sword', quantity: 1 }] },
      })
      .thenAccepts();
    expect(mine).toMatchObject({ gold: 2000, spiritStones: 300, inventory: { 'iron-sword': 1 } });
    expect(mine.inventory).not.toHaveProperty('spirit-herb');
    expect(theirs).toMatchObject({
      gold: 0,
      spiritStones: 0,
      inventory: { 'spirit-herb': 10, 'iron-sword': 4, 'spirit-ore': 50 },
    });
  });

  it('rejects a trade with oneself', () => {
    given(me, other)
      .when({ type: 'Trade', tradeId: 't', counterpartyId: ME, give: { gold: 1 }, receive: {} })
      .thenRejects('SELF_TRADE');
  });

  it('rejects a counterparty that does not exist', () => {
    given(me, [])
      .when({ type: 'Trade', tradeId: 't', counterpartyId: OTHER, give: { gold: 1 }, receive: {} })
      .thenRejects('COUNTERPARTY_NOT_FOUND', `player ${OTHER} does not exist`);
    given(me)
      .when({ type: 'Trade', tradeId: 't', counterpartyId: 'constructor', give: { gold: 1 }, receive: {} })
      .thenRejects('COUNTERPARTY_NOT_FOUND');
  });

  it('rejects an unknown item on either side', () => {
    given(me, other)
      .when({
        type: 'Trade',
        tradeId: 't',
        counterpartyId: OTHER,
        give: {},
        receive: { items: [{ itemId: 'dragon-egg', quantity: 1 }] },
      })
      .thenRejects('UNKNOWN_ITEM');
  });

  it.each([
    ['initiator', { give: { gold: 1001 }, receive: {} }, 'initiator needs 1001 gold, has 1000'],
    ['counterparty', { give: {}, receive: { spiritStones: 301 } }, 'counterparty needs 301 spiritStones, has 300'],
  ] satisfies [string, TradeGoods, string][])(
    'rejects funds the %s lacks, naming the side',
    (_side, goods, message) => {
      given(me, other)
        .when({ type: 'Trade', tradeId: 't', counterpartyId: OTHER, ...goods })
        .thenRejects('INSUFFICIENT_FUNDS', message);
    },
  );

  it.each([
    [
      'initiator',
      { give: { items: [{ itemId: 'spirit-ore', quantity: 1 }] }, receive: {} },
      'initiator needs 1 spirit-ore, has 0',
    ],
    [
      'counterparty',
      { give: {}, receive: { items: [{ itemId: 'iron-sword', quantity: 2 }] } },
      'counterparty needs 2 iron-sword, has 1',
    ],
  ] satisfies [string, TradeGoods, string][])(
    'rejects items the %s lacks, naming the side',
    (_side, goods, message) => {
      given(me, other)
        .when({ type: 'Trade', tradeId: 't', counterpartyId: OTHER, ...goods })
        .thenRejects('INSUFFICIENT_ITEMS', message);
    },
  );

  it('accepts a receipt that fills a stack exactly to its limit', () => {
    const { state } = given(me, other)
      .when({
        type: 'Trade',
        tradeId: 't',
        counterpartyId: OTHER,
        give: { gold: 10 },
        receive: { items: [{ itemId: 'iron-sword', quantity: 1 }] },
      })
      .thenAccepts();
    expect(state.inventory['iron-sword']).toBe(5);
  });

  it('rejects a receipt past the stack limit, naming the side', () => {
    const crowded = [playerCreated({ name: 'Su Yan' }), itemGranted('iron-sword', 5)];
    given(me, crowded)
      .when({
        type: 'Trade',
        tradeId: 't',
        counterpartyId: OTHER,
        give: { items: [{ itemId: 'iron-sword', quantity: 1 }] },
        receive: {},
      })
      .thenRejects('STACK_LIMIT_EXCEEDED', 'counterparty would hold 6 iron-sword, stack limit 5');
    given([...me, itemGranted('iron-sword', 1)], crowded)
      .when({
        type: 'Trade',
        tradeId: 't',
        counterpartyId: OTHER,
        give: { gold: 1 },
        receive: { items: [{ itemId: 'iron-sword', quantity: 1 }] },
      })
      .thenRejects('STACK_LIMIT_EXCEEDED', 'initiator would hold 6 iron-sword, stack limit 5');
  });

  it('rejects a receipt past the wallet limit, naming the side', () => {
    const wealthy = [playerCreated({ name: 'Su Yan', gold: gameConfig.limits.balance })];
    given(me, wealthy)
      .when({ type: 'Trade', tradeId: 't', counterpartyId: OTHER, give: { gold: 1 }, receive: {} })
      .thenRejects('BALANCE_LIMIT_EXCEEDED', /^counterparty would hold/);
  });
});

describe('evolve', () => {
  it('never changes the state it is given', () => {
    const before = fold([playerCreated(), itemGranted('spirit-herb', 3)]);
    const snapshot = structuredClone(before);
    fold([{ type: 'ItemUsed', itemId: 'spirit-herb', quantity: 3 }, spent('gold', 5), levelledUp(2, 105)], before);
    expect(before).toEqual(snapshot);
  });
});

describe('PurchaseItem', () => {
  it('buys from the market at the config price', () => {
    given([playerCreated()])
      .when({ type: 'PurchaseItem', itemId: 'spirit-herb', quantity: 3 })
      .then([{ type: 'ItemPurchased', itemId: 'spirit-herb', quantity: 3, currency: 'gold', price: 20 }]);
  });

  it('rejects an item the market does not sell', () => {
    given([playerCreated()])
      .when({ type: 'PurchaseItem', itemId: 'spirit-ore', quantity: 1 })
      .thenRejects('NOT_FOR_SALE');
    given([playerCreated()])
      .when({ type: 'PurchaseItem', itemId: 'constructor', quantity: 1 })
      .thenRejects('NOT_FOR_SALE');
  });

  it('rejects a purchase the player cannot pay for, saying how much', () => {
    given([playerCreated()])
      .when({ type: 'PurchaseItem', itemId: 'iron-sword', quantity: 4 })
      .thenRejects('INSUFFICIENT_FUNDS', 'needs 1200 gold, has 1000');
  });

  it('rejects a purchase beyond the stack limit', () => {
    given([playerCreated({ gold: 100_000 })])
      .when({ type: 'PurchaseItem', itemId: 'iron-sword', quantity: 6 })
      .thenRejects('STACK_LIMIT_EXCEEDED');
  });

  it('takes the price off the balance and adds the items', () => {
    const purchased: PlayerEvent = {
      type: 'ItemPurchased',
      itemId: 'qi-pill',
      quantity: 2,
      currency: 'spiritStones',
      price: 10,
    };
    expect(fold([playerCreated({ spiritStones: 30 }), purchased])).toMatchObject({
      spiritStones: 10,
      inventory: { 'qi-pill': 2 },
    });
  });
});

describe('AdjustBalance', () => {
  const adjust = (currency: 'gold' | 'spiritStones', delta: number): PlayerCommand => ({
    type: 'AdjustBalance',
    currency,
    delta,
    operator: 'gm-alice',
    reason: 'refund for a lost order',
    ticket: 'SUP-42',
  });

  it('records the operator, the reason and the ticket with the signed delta', () => {
    given([playerCreated()])
      .when(adjust('spiritStones', 250))
      .then([
        {
          type: 'BalanceAdjusted',
          currency: 'spiritStones',
          delta: 250,
          operator: 'gm-alice',
          reason: 'refund for a lost order',
          ticket: 'SUP-42',
        },
      ]);
  });

  it('may take a balance to zero but never below', () => {
    const { state } = given([playerCreated()])
      .when(adjust('gold', -1000))
      .then([
        {
          type: 'BalanceAdjusted',
          currency: 'gold',
          delta: -1000,
          operator: 'gm-alice',
          reason: 'refund for a lost order',
          ticket: 'SUP-42',
        },
      ]);
    expect(state.gold).toBe(0);
    given([playerCreated()]).when(adjust('gold', -1001)).thenRejects('INSUFFICIENT_FUNDS');
  });

  it('rejects an adjustment past the wallet limit', () => {
    given([playerCreated({ gold: gameConfig.limits.balance })])
      .when(adjust('gold', 1))
      .thenRejects('BALANCE_LIMIT_EXCEEDED');
  });

  it('adds the delta to the balance', () => {
    const adjusted = (delta: number): PlayerEvent => ({
      type: 'BalanceAdjusted',
      currency: 'gold',
      delta,
      operator: 'gm',
      reason: 'r',
      ticket: 't',
    });
    expect(fold([playerCreated(), adjusted(-300), adjusted(50)])).toMatchObject({ gold: 750 });
  });
});
