import { describe, expect, it } from 'vitest';
import {
  currencyFlow,
  experienceToReach,
  gameConfig,
  levelForExperience,
  normalizePlayerName,
  player,
  realmOfLevel,
  type PlayerCommand,
} from '../../../shared/domain/player/index.js';
import { playerCreated } from './given.js';

describe('player entity type', () => {
  it('declares its key prefix, id pattern and config', () => {
    expect(player.name).toBe('player');
    expect(player.keyPrefix).toBe('P');
    expect(player.config).toBe(gameConfig);
    expect(player.idPattern.test('lin-feng_01')).toBe(true);
    expect(player.idPattern.test('lin#feng')).toBe(false);
    expect(player.initialState()).toMatchObject({ exists: false, gold: 0, level: 0, inventory: {} });
  });

  it('relates a trade to its counterparty and nothing else to anyone', () => {
    const trade: PlayerCommand = {
      type: 'Trade',
      tradeId: 't',
      counterpartyId: 'su-yan',
      give: { gold: 1 },
      receive: {},
    };
    expect(player.related?.(trade, 'lin-feng')).toEqual(['su-yan']);
    expect(player.related?.({ type: 'AddExperience', amount: 1, source: 's' }, 'lin-feng')).toEqual([]);
  });
});

describe('claims', () => {
  const claims = (command: PlayerCommand) => player.claims?.(command, 'lin-feng');

  it('claims a normalized name forever', () => {
    expect(claims({ type: 'CreatePlayer', name: 'Ｌｉｎ Feng' })).toEqual([
      { key: 'NAME#lin feng', kind: 'NAME', conflict: { code: 'NAME_TAKEN', message: expect.any(String) } },
    ]);
  });

  it('claims a payment order forever', () => {
    expect(claims({ type: 'CreditPurchase', provider: 'stripe', orderId: 'pi_1', sku: 'stones-100' })).toEqual([
      {
        key: 'PAY#stripe#pi_1',
        kind: 'PAY',
        conflict: { code: 'ORDER_ALREADY_CREDITED', message: expect.any(String) },
      },
    ]);
  });

  it('claims a task reward per player for 400 days', () => {
    expect(claims({ type: 'GrantReward', taskId: 'daily-1', gold: 1 })).toEqual([
      {
        key: 'TASK#daily-1#lin-feng',
        kind: 'TASK',
        retentionDays: 400,
        conflict: { code: 'REWARD_ALREADY_GRANTED', message: expect.any(String) },
      },
    ]);
  });

  it('claims a trade for 400 days', () => {
    expect(
      claims({ type: 'Trade', tradeId: 'tr-9', counterpartyId: 'su-yan', give: { gold: 1 }, receive: {} }),
    ).toEqual([
      {
        key: 'TRADE#tr-9',
        kind: 'TRADE',
        retentionDays: 400,
        conflict: { code: 'TRADE_ALREADY_SETTLED', message: expect.any(String) },
      },
    ]);
  });

  it('claims nothing for the other commands', () => {
    expect(claims({ type: 'SpendCurrency', currency: 'gold', amount: 1, reason: 'r' })).toEqual([]);
    expect(claims({ type: 'UseItem', itemId: 'qi-pill', quantity: 1 })).toEqual([]);
  });

  it('normalizes names by trimming, NFKC and lower case', () => {
    expect(normalizePlayerName('  Lin Feng ')).toBe('lin feng');
    expect(normalizePlayerName('ＬＩＮ')).toBe('lin');
    expect(normalizePlayerName('林风')).toBe('林风');
    expect(normalizePlayerName('E\u0301lodie')).toBe(normalizePlayerName('Élodie'));
  });
});

describe('currencyFlow', () => {
  it('counts creation, purchases and rewards as credits', () => {
    expect(currencyFlow(playerCreated())).toEqual({ category: 'credit', gold: 1000, spiritStones: 0 });
    expect(
      currencyFlow({
        type: 'PurchaseCredited',
        provider: 'p',
        orderId: 'o',
        sku: 'stones-100',
        spiritStones: 100,
        price: { amount: 99, currency: 'USD' },
      }),
    ).toEqual({ category: 'credit', gold: 0, spiritStones: 100 });
    expect(currencyFlow({ type: 'RewardGranted', taskId: 't', gold: 5, spiritStones: 2, items: [] })).toEqual({
      category: 'credit',
      gold: 5,
      spiritStones: 2,
    });
  });

  it('counts spending as a negative spend', () => {
    expect(currencyFlow({ type: 'CurrencySpent', currency: 'spiritStones', amount: 7, reason: 'r' })).toEqual({
      category: 'spend',
      gold: 0,
      spiritStones: -7,
    });
  });

  it('counts a trade as what came in minus what went out', () => {
    const gave = { gold: 30, spiritStones: 0, items: [] };
    const received = { gold: 0, spiritStones: 12, items: [] };
    expect(
      currencyFlow({ type: 'TradeCompleted', tradeId: 't', counterpartyId: 'x', role: 'initiator', gave, received }),
    ).toEqual({
      category: 'trade',
      gold: -30,
      spiritStones: 12,
    });
  });

  it('counts everything else as no flow', () => {
    expect(currencyFlow({ type: 'ExperienceGained', amount: 5, source: 's' })).toEqual({
      category: 'none',
      gold: 0,
      spiritStones: 0,
    });
  });
});

describe('gameConfig', () => {
  it('is version 1 and frozen all the way down', () => {
    expect(gameConfig.version).toBe(1);
    expect(Object.isFrozen(gameConfig)).toBe(true);
    expect(Object.isFrozen(gameConfig.experienceThresholds)).toBe(true);
    expect(Object.isFrozen(gameConfig.items['spirit-herb'])).toBe(true);
  });

  it('has a strictly growing threshold per level, starting at 0', () => {
    const thresholds = gameConfig.experienceThresholds;
    expect(thresholds).toHaveLength(gameConfig.maxLevel);
    expect(thresholds[0]).toBe(0);
    for (const [i, t] of thresholds.slice(1).entries())
      expect(t).toBeGreaterThan(thresholds[i] ?? Number.POSITIVE_INFINITY);
    expect(experienceToReach(gameConfig, gameConfig.maxLevel + 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('maps experience to levels and levels to realms every ten levels', () => {
    expect(levelForExperience(gameConfig, 0)).toBe(1);
    expect(levelForExperience(gameConfig, 99)).toBe(1);
    expect(levelForExperience(gameConfig, 100)).toBe(2);
    expect(levelForExperience(gameConfig, 10 ** 12)).toBe(50);
    expect([1, 10, 11, 20, 21, 31, 41, 50].map((l) => realmOfLevel(gameConfig, l).id)).toEqual([
      'qi-refining',
      'qi-refining',
      'foundation-establishment',
      'foundation-establishment',
      'golden-core',
      'nascent-soul',
      'spirit-severing',
      'spirit-severing',
    ]);
  });

  it('prices shop SKUs in cents', () => {
    expect(gameConfig.shop['stones-100']).toEqual({
      spiritStones: 100,
      price: { amount: 99, currency: 'USD' },
      localPrices: { EUR: 99, GBP: 89, JPY: 150 },
    });
  });
});
