import { expect } from 'vitest';
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

export const itemGranted = (itemId: string, quantity: number): PlayerEvent => ({ type: 'ItemGranted', itemId, quantity, source: 'test' });

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

interface Scenario {
  /** Decides the command, parsed at the edge first, so every spec uses a command the schema accepts. */
  when(command: PlayerCommand, config?: GameConfig): Decision<PlayerEvent>;
}

/** Given this player's history (and the counterparty's, for trades), when a command arrives, then a decision. */
export function given(history: readonly PlayerEvent[], counterpartyHistory?: readonly PlayerEvent[]): Scenario {
  return {
    when(command, config = gameConfig) {
      const related: Record<string, PlayerState> = counterpartyHistory ? { [OTHER]: fold(counterpartyHistory) } : {};
      return decide(playerCommandSchema.parse(command), fold(history), contextFor(ME, related, config));
    },
  };
}

export function rejected(code: string, message?: string | RegExp) {
  return message === undefined
    ? { outcome: 'rejected', code, message: expect.any(String) }
    : { outcome: 'rejected', code, message: typeof message === 'string' ? message : expect.stringMatching(message) };
}
