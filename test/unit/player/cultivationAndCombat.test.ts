import { describe, expect, it } from 'vitest';
import { claims, currencyFlow, player, type PlayerEvent } from '../../../shared/domain/player/index.js';
import { playerStatistics } from '../../../shared/readside/statistics.js';
import { fold, given, ME, playerCreated } from './given.js';

// given() decides at 2025-01-01T00:00:00Z; sessions below started before that.
const NOW = '2025-01-01T00:00:00.000Z';
const gains = (n: number) => ({ strength: n, agility: n, intelligence: n, constitution: n });
const started = (sessionId: string, startedAt: string, techniqueId = 'breathing-method'): PlayerEvent => ({
  type: 'CultivationStarted',
  sessionId,
  techniqueId,
  startedAt,
});

describe('StartCultivation', () => {
  it('costs the technique energy and marks the player cultivating', () => {
    const { state } = given([playerCreated()])
      .when({ type: 'StartCultivation', sessionId: 's1', techniqueId: 'nine-suns-art' })
      .then([
        { type: 'CultivationStarted', sessionId: 's1', techniqueId: 'nine-suns-art', startedAt: NOW },
        { type: 'EnergyConsumed', amount: 30, reason: 'cultivation:s1' },
      ]);
    expect(state.cultivating).toEqual({ sessionId: 's1', techniqueId: 'nine-suns-art', startedAt: NOW });
    expect(state.energy).toBe(70);
  });

  it('is refused while a session is under way, for an unknown technique, and without the energy', () => {
    given([playerCreated(), started('s1', NOW)])
      .when({ type: 'StartCultivation', sessionId: 's2', techniqueId: 'breathing-method' })
      .thenRejects('ALREADY_CULTIVATING');
    given([playerCreated()])
      .when({ type: 'StartCultivation', sessionId: 's2', techniqueId: 'dragon-art' })
      .thenRejects('UNKNOWN_TECHNIQUE');
    given([playerCreated({ energy: 20 })])
      .when({ type: 'StartCultivation', sessionId: 's2', techniqueId: 'nine-suns-art' })
      .thenRejects('INSUFFICIENT_ENERGY', 'needs 30 energy, has 20');
    given([])
      .when({ type: 'StartCultivation', sessionId: 's2', techniqueId: 'nine-suns-art' })
      .thenRejects('PLAYER_NOT_FOUND');
  });

  it('claims its session id, so a resent start under another command id is refused', () => {
    expect(claims({ type: 'StartCultivation', sessionId: 's1', techniqueId: 'breathing-method' }, ME)).toEqual([
      expect.objectContaining({
        key: `CULTIVATION#s1#${ME}`,
        conflict: expect.objectContaining({ code: 'SESSION_ALREADY_STARTED' }),
      }),
    ]);
  });
});

describe('CompleteCultivation', () => {
  it('grants experience from the elapsed time at the technique rate, cascading level-ups, and counts the session', () => {
    // 30 minutes of the breathing method at 20 per minute: 600 experience, levels 2 and 3 (100 and 400).
    const history = [playerCreated(), started('s1', '2024-12-31T23:30:00.000Z')];
    const { state } = given(history)
      .when({ type: 'CompleteCultivation', sessionId: 's1' })
      .then([
        {
          type: 'CultivationCompleted',
          sessionId: 's1',
          techniqueId: 'breathing-method',
          seconds: 1800,
          experience: 600,
        },
        { type: 'ExperienceGained', amount: 600, source: 'cultivation:s1' },
        { type: 'LevelledUp', level: 2, attributeGains: gains(2), maxEnergy: 105 },
        { type: 'LevelledUp', level: 3, attributeGains: gains(2), maxEnergy: 110 },
      ]);
    expect(state.cultivating).toBeUndefined();
    expect(playerStatistics(state.statistics).cultivation).toEqual({ sessions: 1, seconds: 1800, experience: 600 });
  });

  it('caps the experience of one session', () => {
    const { events } = given([playerCreated(), started('s1', '2024-12-25T00:00:00.000Z')])
      .when({ type: 'CompleteCultivation', sessionId: 's1' })
      .thenAccepts();
    expect(events[0]).toMatchObject({ seconds: 7 * 86_400, experience: 2_400 });
  });

  it('is refused without a session or for another session', () => {
    given([playerCreated()]).when({ type: 'CompleteCultivation', sessionId: 's1' }).thenRejects('NOT_CULTIVATING');
    given([playerCreated(), started('s1', NOW)])
      .when({ type: 'CompleteCultivation', sessionId: 's9' })
      .thenRejects('UNKNOWN_SESSION');
  });

  it('records a session that yielded nothing without an ExperienceGained', () => {
    given([playerCreated(), started('s1', NOW)])
      .when({ type: 'CompleteCultivation', sessionId: 's1' })
      .then([
        { type: 'CultivationCompleted', sessionId: 's1', techniqueId: 'breathing-method', seconds: 0, experience: 0 },
      ]);
  });
});

describe('RecordCombatResult', () => {
  it('credits the rewards, grants the experience and counts wins, losses and draws', () => {
    const win = given([playerCreated()])
      .when({
        type: 'RecordCombatResult',
        combatId: 'arena-7',
        opponentId: 'su-yan',
        kind: 'arena',
        outcome: 'win',
        rewards: { gold: 50, spiritStones: 2, experience: 150, items: [{ itemId: 'spirit-ore', quantity: 3 }] },
      })
      .then([
        {
          type: 'CombatRecorded',
          combatId: 'arena-7',
          opponentId: 'su-yan',
          kind: 'arena',
          outcome: 'win',
          gold: 50,
          spiritStones: 2,
          items: [{ itemId: 'spirit-ore', quantity: 3 }],
        },
        { type: 'ExperienceGained', amount: 150, source: 'combat:arena-7' },
        { type: 'LevelledUp', level: 2, attributeGains: gains(2), maxEnergy: 105 },
      ]);
    const loss: PlayerEvent = {
      type: 'CombatRecorded',
      combatId: 'm-1',
      kind: 'monster',
      outcome: 'loss',
      gold: 0,
      spiritStones: 0,
      items: [],
    };
    const draw: PlayerEvent = {
      type: 'CombatRecorded',
      combatId: 'd-1',
      kind: 'duel',
      outcome: 'draw',
      gold: 0,
      spiritStones: 0,
      items: [],
    };
    const state = fold([playerCreated(), ...win.events, loss, draw, loss]);
    expect(state.gold).toBe(1050);
    expect(state.spiritStones).toBe(2);
    expect(state.inventory).toEqual({ 'spirit-ore': 3 });
    expect(playerStatistics(state.statistics).combat).toEqual({
      fought: 4,
      wins: 1,
      losses: 2,
      draws: 1,
      winRate: 0.25,
    });
    expect(currencyFlow(win.events[0]!)).toEqual({ category: 'credit', gold: 50, spiritStones: 2 });
  });

  it('is refused against oneself, for unknown items and past a stack limit', () => {
    const base = { type: 'RecordCombatResult', combatId: 'c1', kind: 'duel', outcome: 'win' } as const;
    given([playerCreated()])
      .when({ ...base, opponentId: ME, rewards: {} })
      .thenRejects('SELF_COMBAT');
    given([playerCreated()])
      .when({ ...base, rewards: { items: [{ itemId: 'dragon-egg', quantity: 1 }] } })
      .thenRejects('UNKNOWN_ITEM');
    given([playerCreated()])
      .when({ ...base, rewards: { items: [{ itemId: 'iron-sword', quantity: 6 }] } })
      .thenRejects('STACK_LIMIT_EXCEEDED');
  });

  it('is recorded once per combat and player (claim), and its kind and outcome are validated at the edge', () => {
    expect(
      claims({ type: 'RecordCombatResult', combatId: 'c1', kind: 'duel', outcome: 'win', rewards: {} }, ME),
    ).toEqual([
      expect.objectContaining({
        key: `COMBAT#c1#${ME}`,
        conflict: expect.objectContaining({ code: 'COMBAT_ALREADY_RECORDED' }),
      }),
    ]);
    expect(
      player.commandSchema.safeParse({
        type: 'RecordCombatResult',
        combatId: 'c1',
        kind: 'brawl',
        outcome: 'win',
        rewards: {},
      }).success,
    ).toBe(false);
    expect(
      player.commandSchema.safeParse({
        type: 'RecordCombatResult',
        combatId: 'c#1',
        kind: 'duel',
        outcome: 'win',
        rewards: {},
      }).success,
    ).toBe(false);
  });
});
