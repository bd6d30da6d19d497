import { assert, expect } from 'vitest';
import type { Decision } from '../../../shared/engine/decision.js';
import type { DecideContext } from '../../../shared/engine/entityType.js';
import {
  decide,
  evolve,
  gameConfig,
  initialPlayerState,
  playerCommandSchema,
  type GameConfig,
  type PlayerCommand,
  type PlayerEvent,
  type PlayerState,
} from '../../../shared/domain/player/index.js';

export const ME = 'lin-feng';
export const OTHER = 'su-yan';

/** A PlayerCreated with the reference game's defaults, as decide would emit it. */
export function playerCreated(overrides: Partial<Extract<PlayerEvent, { type: 'PlayerCreated' }>> = {}): PlayerEvent {
  return {
    type: 'PlayerCreated',
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
    ...overrides,
  };
}

export const itemGranted = (itemId: string, quantity: number): PlayerEvent => ({
  type: 'ItemGranted',
  itemId,
  quantity,
  source: 'test',
});

export function fold(events: readonly PlayerEvent[], from: PlayerState = initialPlayerState()): PlayerState {
  return events.reduce(evolve, from);
}

export function contextFor(
  entityId: string,
  related: Record<string, PlayerState> = {},
  config: GameConfig = gameConfig,
): DecideContext<PlayerState, GameConfig> {
  return { now: '2025-01-01T00:00:00.000Z', commandId: 'c'.padEnd(41, '0'), entityId, config, related };
}

type RelatedEvents = Readonly<Record<string, readonly PlayerEvent[]>>;

/** What an accepted command leaves behind, for the specifications that go on to look at part of it. */
export interface Accepted {
  readonly events: readonly PlayerEvent[];
  readonly related: RelatedEvents;
  /** This player once the events are folded onto the given history. */
  readonly state: PlayerState;
  /** The counterparty once its share of the events is folded onto its history (the initial state without one). */
  readonly counterparty: PlayerState;
}

interface Then {
  /** Then the command is accepted with exactly these events, and exactly these for the players it names (a trade's counterparty). */
  then(events: readonly PlayerEvent[], related?: RelatedEvents): Accepted;
  /** Then the command is accepted, whatever its events: for specifications about part of them or about the state. */
  thenAccepts(): Accepted;
  /** Then the command is rejected with this code, and a message equal to (or matching) this one when one is given. */
  thenRejects(code: string, message?: string | RegExp): void;
}

interface Scenario {
  /** Decides the command, parsed at the edge first, so every spec uses a command the schema accepts. */
  when(command: PlayerCommand, config?: GameConfig): Then;
}

/**
 * Given this player's history (and the counterparty's, for trades), when a command arrives, then these events or
 * this rejection; modelled on Emmett's `DeciderSpecification`. Like Emmett's, `when()` has a `then` method, so
 * a spec ends in then / thenAccepts / thenRejects and is never returned or awaited (it would be taken for a promise).
 */
export function given(history: readonly PlayerEvent[], counterpartyHistory?: readonly PlayerEvent[]): Scenario {
  return {
    when(command, config = gameConfig) {
      const related: Record<string, PlayerState> = counterpartyHistory ? { [OTHER]: fold(counterpartyHistory) } : {};
      const decision = decide(playerCommandSchema.parse(command), fold(history), contextFor(ME, related, config));
      return expectations(command, decision, history, counterpartyHistory ?? []);
    },
  };
}

function expectations(
  command: PlayerCommand,
  decision: Decision<PlayerEvent>,
  history: readonly PlayerEvent[],
  counterpartyHistory: readonly PlayerEvent[],
): Then {
  const accepted = (): Accepted => {
    if (decision.outcome === 'rejected') {
      assert.fail(`expected ${command.type} to be accepted, but it was rejected ${decision.code}: ${decision.message}`);
    }
    return {
      events: decision.events,
      related: decision.related,
      state: fold(decision.events, fold(history)),
      counterparty: fold(decision.related[OTHER] ?? [], fold(counterpartyHistory)),
    };
  };
  return {
    // biome-ignore lint/suspicious/noThenProperty: Emmett's specification reads given(...).when(...).then(...); the doc comment warns against awaiting it
    then(events, related = {}) {
      const outcome = accepted();
      expect(outcome.events, `the events of ${command.type}`).toEqual(events);
      expect(outcome.related, `the events of ${command.type} for the other players`).toEqual(related);
      return outcome;
    },
    thenAccepts: accepted,
    thenRejects(code, message) {
      if (decision.outcome === 'accepted') {
        const events = decision.events.map((e) => e.type).join(', ') || 'no events';
        assert.fail(`expected ${command.type} to be rejected ${code}, but it was accepted with ${events}`);
      }
      expect(decision, `the rejection of ${command.type}`).toEqual({
        outcome: 'rejected',
        code,
        message:
          message === undefined
            ? expect.any(String)
            : typeof message === 'string'
              ? message
              : expect.stringMatching(message),
      });
    },
  };
}
