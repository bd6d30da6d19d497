import { z } from 'zod';
import { attributeNames, type Attributes } from './gameConfig.js';

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
  /** The cultivation session under way; absent when the player is not cultivating. */
  readonly cultivating?: CultivationSession;
  /** Counters of seed 001's player statistics; absent until the first session or combat. */
  readonly statistics?: StatisticsCounters;
  /** The last ban (PlayerBanned), until PlayerUnbanned; a ban whose `until` has passed is kept but no longer lasts. */
  readonly ban?: Ban;
}

export interface Ban {
  readonly since: string;
  readonly until?: string;
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
}

/** Whether `ban` still holds at `now` (ISO): a ban with `until` ends by itself at that instant. */
export function banLasting(ban: Ban | undefined, now: string): ban is Ban {
  return ban !== undefined && (ban.until === undefined || Date.parse(ban.until) > Date.parse(now));
}

/** What a player is created with (the `PlayerCreated` event carries exactly these). */
export const PROFILE_FIELDS = [
  'name',
  'configVersion',
  'level',
  'realm',
  'experience',
  'energy',
  'maxEnergy',
  'gold',
  'spiritStones',
  'attributes',
] as const satisfies readonly (keyof PlayerState)[];
export type PlayerProfile = Pick<PlayerState, (typeof PROFILE_FIELDS)[number]>;

export interface CultivationSession {
  readonly sessionId: string;
  readonly techniqueId: string;
  readonly startedAt: string;
}

export interface StatisticsCounters {
  readonly cultivation: { readonly sessions: number; readonly seconds: number; readonly experience: number };
  readonly combat: { readonly fought: number; readonly wins: number; readonly losses: number; readonly draws: number };
}

export const noStatistics: StatisticsCounters = Object.freeze({
  cultivation: Object.freeze({ sessions: 0, seconds: 0, experience: 0 }),
  combat: Object.freeze({ fought: 0, wins: 0, losses: 0, draws: 0 }),
});

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

const count = z.int().nonnegative();
/**
 * A stored player state, as the consistency checker parses it: exactly the fields of PlayerState (the compile-time
 * check below keeps the two equal), each of its kind. What it does not check (stack limits, level against
 * experience) is the invariants' business.
 */
export const playerStateSchema = z.strictObject({
  exists: z.boolean(),
  name: z.string(),
  configVersion: count,
  level: count,
  realm: z.string(),
  experience: count,
  energy: z.int(),
  maxEnergy: count,
  gold: z.int(),
  spiritStones: z.int(),
  attributes: z.strictObject(
    Object.fromEntries(attributeNames.map((a) => [a, z.int()])) as Record<(typeof attributeNames)[number], z.ZodInt>,
  ),
  inventory: z.record(z.string(), z.int()),
  cultivating: z.strictObject({ sessionId: z.string(), techniqueId: z.string(), startedAt: z.string() }).optional(),
  statistics: z
    .strictObject({
      cultivation: z.strictObject({ sessions: count, seconds: count, experience: count }),
      combat: z.strictObject({ fought: count, wins: count, losses: count, draws: count }),
    })
    .optional(),
  ban: z
    .strictObject({
      since: z.string(),
      until: z.string().optional(),
      operator: z.string(),
      reason: z.string(),
      ticket: z.string(),
    })
    .optional(),
});
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
export const stateSchemaMatches: SameKeys<z.infer<typeof playerStateSchema>, PlayerState> = true;
