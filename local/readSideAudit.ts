import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import type { EventStore } from '../shared/persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../shared/persistence/tableLayout.js';
import { player, type PlayerEvent, type PlayerState } from '../shared/domain/player/index.js';
import { playerViewOf, type PlayerViewRead, type ReadSide } from '../shared/readside/index.js';
import { viewKey } from '../shared/readside/playerCache.js';
import type { Check } from './playerAudit.js';

// The boards as docs/read-side.md specifies them, written out here rather than imported from the projector or
// shared/readside/leaderboards.ts: an expectation computed with the code under test would agree with its bugs.
const BOARD_PREFIX = 'gk:lb:';
const boardKey = (board: string): string => `${BOARD_PREFIX}{${board}}`;
/** Level first, then experience (stored as level × 10¹² + experience). */
const LEVEL_WEIGHT = 1e12;
/** Beside every board, a hash of the last version applied per player: bookkeeping, not a board. */
const APPLIED_SUFFIX = '}:applied';
const DAY_MS = 86_400_000;

/** The UTC day of an instant: `2026-11-24`. */
const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The ISO week of an instant: weeks start on Monday (UTC); a week belongs to the year of its Thursday. */
function isoWeek(at: Date): string {
  const day = Math.floor(at.getTime() / DAY_MS); // day 0, 1970-01-01, was a Thursday
  const thursday = day - ((day + 3) % 7) + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1) / DAY_MS) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/**
 * Every leaderboard as the table alone says it must be, keyed as Redis keys it, scores as the board ranks by:
 * level and experience, gold and spirit stones from each player's state; combats won and experience per UTC day
 * and ISO week of the command's `issuedAt` (when the player earned it) from its events.
 */
export async function expectedLeaderboards(
  store: EventStore,
  playerIds: readonly string[],
): Promise<Map<string, Map<string, number>>> {
  const boards = new Map<string, Map<string, number>>();
  const add = (key: string, id: string, value: number): void => {
    const board = boards.get(key) ?? new Map<string, number>();
    board.set(id, (board.get(id) ?? 0) + value);
    boards.set(key, board);
  };
  const pkOf = (id: string): string => entityPk(player.keyPrefix, id);
  const states = await store.getMany(playerIds.map((id) => ({ pk: pkOf(id), sk: STATE_SK })));
  for (const id of new Set(playerIds)) {
    const state = (states.get(`${pkOf(id)}|${STATE_SK}`) as StateItem<PlayerState> | undefined)?.state;
    if (!state?.exists) continue;
    add(boardKey('level'), id, state.level * LEVEL_WEIGHT + state.experience);
    add(boardKey('wealth'), id, state.gold + state.spiritStones);
    let wins = 0;
    const items = await store.allEvents<PlayerEvent | { type: 'RolledBack'; undone: { version: number }[] }>(pkOf(id));
    // Versions a rollback undid (listed by its RolledBack event) count on no board.
    const undone = new Set(
      items.flatMap((i) => i.events.flatMap((e) => (e.type === 'RolledBack' ? e.undone.map((u) => u.version) : []))),
    );
    for (const item of items.filter((i) => !undone.has(i.version))) {
      const issuedAt = new Date(item.issuedAt);
      for (const event of item.events) {
        if (event.type === 'CombatRecorded' && event.outcome === 'win') wins++;
        if (event.type === 'ExperienceGained' && event.amount > 0) {
          add(boardKey(`experience-daily:${utcDay(issuedAt)}`), id, event.amount);
          add(boardKey(`experience-weekly:${isoWeek(issuedAt)}`), id, event.amount);
        }
      }
    }
    // Only players who won something are ranked for wins.
    if (wins > 0) add(boardKey('combat-wins'), id, wins);
  }
  return boards;
}

/** A board as Redis holds it, best first: stored scores are negated, so ZRANGE ascending lists the best first. */
async function boardOf(redis: Redis, key: string): Promise<{ id: string; score: number }[]> {
  const raw = await redis.zrange(key, '0', '-1', 'WITHSCORES');
  const entries: { id: string; score: number }[] = [];
  for (let i = 0; i < raw.length; i += 2) entries.push({ id: raw[i]!, score: -Number(raw[i + 1]) });
  return entries;
}

async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}

/** Best first; equal scores by player id ascending (Redis orders equal scores by member, bytewise). */
const byRank = (a: { id: string; score: number }, b: { id: string; score: number }): number =>
  b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Every `gk:lb:` key in Redis against the expected boards: a board the table does not justify, a missing board,
 * an extra or missing member, a wrong score or a wrong order each fail. `:applied` hashes are skipped by name.
 */
async function auditLeaderboards(store: EventStore, redis: Redis, playerIds: readonly string[]): Promise<Check> {
  const expected = await expectedLeaderboards(store, playerIds);
  const problems: string[] = [];
  const keys = await keysMatching(redis, `${BOARD_PREFIX}*`);
  const applied = keys.filter((key) => key.endsWith(APPLIED_SUFFIX));
  const boards = new Set(keys.filter((key) => !key.endsWith(APPLIED_SUFFIX)));
  for (const key of boards) {
    if (expected.has(key)) continue;
    const type = await redis.type(key);
    problems.push(`extra key ${key} (${type === 'zset' ? `a board of ${await redis.zcard(key)}` : `a ${type}`})`);
  }
  let entries = 0;
  for (const [key, board] of expected) {
    if (!boards.has(key)) {
      problems.push(`${key} missing (table says ${board.size} members)`);
      continue;
    }
    const actual = await boardOf(redis, key);
    const held = new Map(actual.map((e) => [e.id, e.score]));
    entries += actual.length;
    for (const { id } of actual) if (!board.has(id)) problems.push(`${key}: extra member ${id}`);
    for (const [id, score] of board) {
      if (!held.has(id)) problems.push(`${key}: ${id} missing`);
      else if (held.get(id) !== score) problems.push(`${key} ${id}: ${held.get(id)} instead of ${score}`);
    }
    const order = [...board].map(([id, score]) => ({ id, score })).sort(byRank);
    const at = order.findIndex((e, i) => actual[i]?.id !== e.id);
    if (at >= 0 && actual.length === order.length)
      problems.push(`${key}: rank ${at + 1} is ${actual[at]?.id}, expected ${order[at]!.id}`);
  }
  const periodic = [...expected.keys()].filter((key) => key.includes(':', BOARD_PREFIX.length)).length;
  return {
    name: 'leaderboards equal the table: keys, members, scores, order (G4)',
    ok: problems.length === 0,
    detail: problems.length
      ? `${problems.length} problem(s): ${problems.slice(0, 4).join('; ')}`
      : `${expected.size} boards (${periodic} periodic), ${entries} entries, no other gk:lb: key (${applied.length} :applied hashes skipped)`,
  };
}

/**
 * G4 and G5 after the system went quiet: every player's cached view is the table's state at its version, and
 * every leaderboard holds exactly the scores the table justifies, in rank order, and nothing else.
 */
export async function auditReadSide(store: EventStore, side: ReadSide, playerIds: readonly string[]): Promise<Check[]> {
  const states = await store.getMany(playerIds.map((id) => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK })));
  let equal = 0;
  const wrong: string[] = [];
  for (const id of playerIds) {
    const state = states.get(`${entityPk(player.keyPrefix, id)}|${STATE_SK}`) as StateItem<PlayerState> | undefined;
    const [v, d] = await side.redis.hmget(viewKey(id), 'v', 'd');
    if (!state) {
      if (v !== null && v !== '0') wrong.push(`${id}: cached but not in the table`);
      else equal++;
      continue;
    }
    if (v === null) wrong.push(`${id}: not cached`);
    else if (Number(v) !== state.version) wrong.push(`${id}: cached v${v}, table v${state.version}`);
    else if (!isDeepStrictEqual(JSON.parse(d!), JSON.parse(JSON.stringify(playerViewOf(state)))))
      wrong.push(`${id}: cached view differs at v${v}`);
    else equal++;
  }
  return [
    {
      name: 'cached player views equal the table at the end (G4)',
      ok: wrong.length === 0,
      detail: wrong.slice(0, 3).join('; ') || `${equal} views at the table's version`,
    },
    await auditLeaderboards(store, side.redis, playerIds),
  ];
}

/** What one reader was served, in the order it read: every version per player. */
export class ReaderLog {
  readonly versions = new Map<string, number[]>();
  reads = 0;
  minVersionReads = 0;
  /** Answers below the `minVersion` asked for (a read must never return one). */
  readonly belowMinVersion: string[] = [];

  /** The version a read says the player is at: the view's, the table's when it has not reached `minVersion`, 0 when unknown. */
  record(playerId: string, read: PlayerViewRead, minVersion?: number): void {
    const version =
      read.status === 'found' ? read.view.version : read.status === 'version-not-reached' ? read.version : 0;
    this.reads++;
    if (minVersion !== undefined) {
      this.minVersionReads++;
      if (read.status === 'found' && version < minVersion)
        this.belowMinVersion.push(`${playerId}: v${version} for minVersion ${minVersion}`);
    }
    const seen = this.versions.get(playerId) ?? [];
    seen.push(version);
    this.versions.set(playerId, seen);
  }

  last(playerId: string): number | undefined {
    return this.versions.get(playerId)?.at(-1);
  }
}

/** G5 as clients see it: no reader ever read a player at a lower version than it had read before. */
export function auditReaders(readers: readonly ReaderLog[]): Check {
  const backwards: string[] = [];
  let reads = 0;
  let minVersionReads = 0;
  let rises = 0;
  const players = new Set<string>();
  readers.forEach((reader, r) => {
    reads += reader.reads;
    minVersionReads += reader.minVersionReads;
    backwards.push(...reader.belowMinVersion.map((p) => `reader ${r + 1} ${p}`));
    for (const [id, versions] of reader.versions) {
      players.add(id);
      let highest = versions[0]!;
      for (const [i, v] of versions.entries()) {
        if (v < highest) backwards.push(`reader ${r + 1} ${id}: v${v} at read ${i + 1} after v${highest}`);
        else if (v > highest) rises++;
        highest = Math.max(highest, v);
      }
    }
  });
  return {
    name: "no reader ever saw a player's version go down (G5)",
    ok: backwards.length === 0 && reads > 0,
    detail: backwards.length
      ? `${backwards.length} backward read(s): ${backwards.slice(0, 3).join('; ')}`
      : `${reads} reads (${minVersionReads} with minVersion) of ${players.size} players by ${readers.length} readers while commands and payments flowed; versions rose ${rises} times between reads, never fell`,
  };
}
