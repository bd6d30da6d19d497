import { describe, expect, it } from 'vitest';
import type { PlayerCommand } from '../../../shared/domain/player/index.js';
import { given, OTHER, playerCreated } from './given.js';

/** The specification is only worth its name if it fails on every mismatch, and says what differed. */
function failureOf(spec: () => unknown): Error & { actual?: unknown; expected?: unknown; showDiff?: boolean } {
  try {
    spec();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the specification to fail, but it passed');
}

const spend = (amount: number): PlayerCommand => ({ type: 'SpendCurrency', currency: 'gold', amount, reason: 'shop' });
const trade: PlayerCommand = { type: 'Trade', tradeId: 'tr-1', counterpartyId: OTHER, give: { gold: 5 }, receive: {} };

describe('the player decider specification', () => {
  it('passes when the decision is the one specified', () => {
    const { state } = given([playerCreated()])
      .when(spend(10))
      .then([{ type: 'CurrencySpent', currency: 'gold', amount: 10, reason: 'shop' }]);
    expect(state.gold).toBe(990);
    given([playerCreated()]).when(spend(1001)).thenRejects('INSUFFICIENT_FUNDS', 'needs 1001 gold, has 1000');
    given([playerCreated()])
      .when(spend(1001))
      .thenRejects('INSUFFICIENT_FUNDS', /^needs 1001/);
    given([playerCreated()]).when(spend(1001)).thenRejects('INSUFFICIENT_FUNDS');
  });

  it('fails with a diff of the events when they differ', () => {
    const failure = failureOf(() =>
      given([playerCreated()])
        .when(spend(10))
        .then([{ type: 'CurrencySpent', currency: 'gold', amount: 11, reason: 'shop' }]),
    );
    expect(failure.message).toMatch(/^the events of SpendCurrency: expected/);
    expect(failure).toMatchObject({
      showDiff: true,
      actual: [{ type: 'CurrencySpent', currency: 'gold', amount: 10, reason: 'shop' }],
      expected: [{ type: 'CurrencySpent', currency: 'gold', amount: 11, reason: 'shop' }],
    });
  });

  it('fails when an event is missing or extra', () => {
    const spent = { type: 'CurrencySpent', currency: 'gold', amount: 10, reason: 'shop' } as const;
    expect(failureOf(() => given([playerCreated()]).when(spend(10)).then([])).message).toMatch(
      /^the events of SpendCurrency/,
    );
    expect(failureOf(() => given([playerCreated()]).when(spend(10)).then([spent, spent])).message).toMatch(
      /^the events of SpendCurrency/,
    );
  });

  it("fails when the other players' events differ, or are left out", () => {
    const gave = { gold: 5, spiritStones: 0, items: [] };
    const nothing = { gold: 0, spiritStones: 0, items: [] };
    const mine = [
      {
        type: 'TradeCompleted',
        tradeId: 'tr-1',
        counterpartyId: OTHER,
        role: 'initiator',
        gave,
        received: nothing,
      } as const,
    ];
    const failure = failureOf(() =>
      given([playerCreated()], [playerCreated({ name: 'Su Yan' })])
        .when(trade)
        .then(mine),
    );
    expect(failure.message).toMatch(/^the events of Trade for the other players/);
    expect(failure).toMatchObject({
      showDiff: true,
      expected: {},
      actual: { [OTHER]: [expect.objectContaining({ role: 'counterparty' })] },
    });
  });

  it('fails when the command is accepted but a rejection was specified', () => {
    expect(failureOf(() => given([playerCreated()]).when(spend(10)).thenRejects('INSUFFICIENT_FUNDS')).message).toBe(
      'expected SpendCurrency to be rejected INSUFFICIENT_FUNDS, but it was accepted with CurrencySpent',
    );
  });

  it('fails when the command is rejected but events were specified, or acceptance', () => {
    const message =
      'expected SpendCurrency to be accepted, but it was rejected INSUFFICIENT_FUNDS: needs 1001 gold, has 1000';
    expect(failureOf(() => given([playerCreated()]).when(spend(1001)).then([])).message).toBe(message);
    expect(failureOf(() => given([playerCreated()]).when(spend(1001)).thenAccepts()).message).toBe(message);
  });

  it('fails on another rejection code or message, with a diff', () => {
    const wrongCode = failureOf(() => given([playerCreated()]).when(spend(1001)).thenRejects('ENERGY_FULL'));
    expect(wrongCode.message).toMatch(/^the rejection of SpendCurrency/);
    expect(wrongCode).toMatchObject({
      showDiff: true,
      actual: { code: 'INSUFFICIENT_FUNDS' },
      expected: { code: 'ENERGY_FULL' },
    });
    expect(
      failureOf(() => given([playerCreated()]).when(spend(1001)).thenRejects('INSUFFICIENT_FUNDS', 'needs 1001 gold'))
        .message,
    ).toMatch(/^the rejection/);
    expect(
      failureOf(() =>
        given([playerCreated()])
          .when(spend(1001))
          .thenRejects('INSUFFICIENT_FUNDS', /has 999/),
      ).message,
    ).toMatch(/^the rejection/);
  });
});
