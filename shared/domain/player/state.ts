import type { Attributes } from './gameConfig.js';

export interface PlayerState {
  /** False until PlayerCreated: the engine hands deciders this state for ids that were never created. */
  readonly exists: boolean;
  readonly name: string;
  /** Version of the game config the player was created under. */
  readonly configVersion: number;
  readonly level: number;
  readonly realm: string;
  /** Cumulative experience; keeps growing at max level. */
  readonly experience: number;
  readonly energy: number;
  readonly maxEnergy: number;
  readonly gold: number;
  readonly spiritStones: number;
  readonly attributes: Attributes;
  /** Count per item id; an item the player has none of has no entry. */
  readonly inventory: Readonly<Record<string, number>>;
}

export function initialPlayerState(): PlayerState {
  return {
    exists: false,
    name: '',
    configVersion: 0,
    level: 0,
    realm: '',
    experience: 0,
    energy: 0,
    maxEnergy: 0,
    gold: 0,
    spiritStones: 0,
    attributes: { strength: 0, agility: 0, intelligence: 0, constitution: 0 },
    inventory: {},
  };
}

/** How many of an item the player holds; only own entries count, so `constructor` is never an item. */
export function countOf(inventory: PlayerState['inventory'], itemId: string): number {
  return Object.hasOwn(inventory, itemId) ? (inventory[itemId] ?? 0) : 0;
}
