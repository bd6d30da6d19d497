import { describe, expect, it } from 'vitest';
import { ownerViewOfEvent, ownerViewOfSource, type PlayerEvent } from '../../../shared/domain/player/index.js';
import { playerCreated } from './given.js';

const adjusted: PlayerEvent = {
  type: 'BalanceAdjusted',
  currency: 'gold',
  delta: -50,
  operator: 'gm-ana',
  reason: 'chargeback on order 1',
  ticket: 'SUP-1234',
};
const price = { amount: 99, currency: 'USD' };

describe("a player's view of their own events", () => {
  it('shows an adjustment as its currency and delta, without the operator, the reason or the ticket', () => {
    expect(ownerViewOfEvent(adjusted)).toEqual({ type: 'BalanceAdjusted', currency: 'gold', delta: -50 });
  });

  it('shows what a purchase credited and what was paid, without the operator who resolved it', () => {
    const credited: PlayerEvent = {
      type: 'PurchaseCredited',
      provider: 'stripe',
      orderId: 'pi_1',
      sku: 'stones-100',
      spiritStones: 100,
      price,
      paid: { amount: 79, currency: 'USD' },
      resolution: { operator: 'gm-ana', reason: 'coupon applied by support', ticket: 'SUP-9' },
    };
    expect(ownerViewOfEvent(credited)).toEqual({
      type: 'PurchaseCredited',
      provider: 'stripe',
      orderId: 'pi_1',
      sku: 'stones-100',
      spiritStones: 100,
      price,
      paid: { amount: 79, currency: 'USD' },
    });
  });

  it('leaves the events that carry nothing of the staff whole', () => {
    const own: PlayerEvent[] = [
      playerCreated(),
      { type: 'PurchaseCredited', provider: 'acme', orderId: 'o-1', sku: 'stones-100', spiritStones: 100, price },
      {
        type: 'RewardGranted',
        taskId: 'daily:2026-11-24',
        gold: 100,
        spiritStones: 5,
        items: [{ itemId: 'qi-pill', quantity: 1 }],
      },
      { type: 'CurrencySpent', currency: 'gold', amount: 10, reason: 'shop' },
      {
        type: 'TradeCompleted',
        tradeId: 't-1',
        counterpartyId: 'su-yan',
        role: 'initiator',
        gave: { gold: 5, spiritStones: 0, items: [] },
        received: { gold: 0, spiritStones: 1, items: [] },
      },
      {
        type: 'CombatRecorded',
        combatId: 'c-1',
        opponentId: 'su-yan',
        kind: 'duel',
        outcome: 'win',
        gold: 3,
        spiritStones: 0,
        items: [],
      },
      { type: 'CultivationCompleted', sessionId: 's-1', techniqueId: 'breathing-method', seconds: 60, experience: 10 },
    ];
    for (const event of own) expect(ownerViewOfEvent(event)).toEqual(event);
  });

  it('never shows a field nobody classified (an older or unknown one), and leaves the event untouched', () => {
    const stored = { ...adjusted, approvedBy: 'gm-lead' } as PlayerEvent;
    expect(ownerViewOfEvent(stored)).toEqual({ type: 'BalanceAdjusted', currency: 'gold', delta: -50 });
    expect(stored).toMatchObject({ operator: 'gm-ana', approvedBy: 'gm-lead' });
  });

  it('is typed without the staff fields', () => {
    const view = ownerViewOfEvent(adjusted);
    if (view.type !== 'BalanceAdjusted') throw new Error('the type is kept');
    // @ts-expect-error the owner's view of an adjustment has no operator (npx tsc proves it)
    expect(view.operator).toBeUndefined();
  });
});

describe("a player's view of who sent a command", () => {
  it('names an operator, a game service or the system by its kind', () => {
    expect(ownerViewOfSource({ kind: 'operator', actor: 'gm-ana' })).toEqual({ kind: 'operator', actor: 'operator' });
    expect(ownerViewOfSource({ kind: 'service', actor: 'game-server-7' })).toEqual({
      kind: 'service',
      actor: 'service',
    });
    expect(ownerViewOfSource({ kind: 'system', actor: 'repair' })).toEqual({ kind: 'system', actor: 'system' });
  });

  it('keeps the player themself, the payment provider and the schedule', () => {
    for (const source of [
      { kind: 'client', actor: 'lin-feng' },
      { kind: 'payment', actor: 'stripe' },
      { kind: 'schedule', actor: 'daily-reward' },
    ])
      expect(ownerViewOfSource(source)).toEqual(source);
  });

  it('hides the actor of a kind it does not know', () => {
    expect(ownerViewOfSource({ kind: 'toString', actor: 'x' })).toEqual({ kind: 'toString', actor: 'toString' });
    expect(ownerViewOfSource({ kind: 'robot', actor: 'r2' })).toEqual({ kind: 'robot', actor: 'robot' });
  });
});
