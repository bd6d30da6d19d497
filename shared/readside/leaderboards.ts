import type { Redis } from 'ioredis';
import type { PlayerView } from './playerView.js';

/**
 * Leaderboards in Redis sorted sets, projected from the table's stream.
 *
 * Scores are stored negated, so ZRANGE (ascending) lists the best first and players with equal scores by player
 * id ascending (Redis orders equal scores by member): the tie-break is deterministic and documented.
 * Every write is guarded by the player's version in a hash beside the board, in the same Lua script, so a
 * replayed or retried stream record never counts twice and an old state never overwrites a newer score.
 */
export const boardNames = ['level', 'wealth', 'combat-wins', 'experience-daily', 'experience-weekly'] as const;
export type BoardName = (typeof boardNames)[number];
export type PeriodicBoard = 'experience-daily' | 'experience-weekly';

export const isBoardName = (name: string): name is BoardName => (boardNames as readonly string[]).includes(name);
export const isPeriodic = (board: BoardName): board is PeriodicBoard => board === 'experience-daily' || board === 'experience-weekly';

/** Level first, then experience: experience below 10^12 fits under the level without losing precision (< 2^53). */
const LEVEL_WEIGHT = 1e12;

/** The value each absolute board ranks by, from a player's view at one version. */
export function absoluteScores(view: PlayerView): Record<'level' | 'wealth' | 'combat-wins', number | undefined> {
  return {
    level: view.level * LEVEL_WEIGHT + Math.min(view.experience, LEVEL_WEIGHT - 1),
    // Both currencies count one for one: wealth is what the player holds, not what it cost.
    wealth: view.gold + view.spiritStones,
    // Only players who won something are ranked for wins.
    'combat-wins': view.statistics.combat.wins > 0 ? view.statistics.combat.wins : undefined,
  };
}

/** `2026-11-24` (UTC day) and `2026-W48` (ISO week): the period is part of the key, so a reset is a new key. */
export function periodOf(board: PeriodicBoard, at: Date): string {
  if (board === 'experience-daily') return at.toISOString().slice(0, 10);
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday); // the Thursday of this ISO week decides its year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

const PERIOD_PATTERN: Record<PeriodicBoard, RegExp> = { 'experience-daily': /^\d{4}-\d{2}-\d{2}$/, 'experience-weekly': /^\d{4}-W\d{2}$/ };

export const isPeriodFor = (board: PeriodicBoard, period: string): boolean => PERIOD_PATTERN[board].test(period);

/** When a period ends (UTC), so its board can expire `retentionDays` later. */
export function periodEnd(board: PeriodicBoard, at: Date): number {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  if (board === 'experience-daily') return day + 86_400_000;
  const weekday = new Date(day).getUTCDay() || 7;
  return day + (8 - weekday) * 86_400_000;
}

// The hash tag keeps a board and its version hash in one slot (cluster mode).
export const boardKey = (board: BoardName, period?: string): string => (period ? `gk:lb:{${board}:${period}}` : `gk:lb:{${board}}`);
const appliedKey = (board: BoardName, period?: string): string => `${boardKey(board, period)}:applied`;

/** An absolute score at a version: replaces the player's score only if the version is newer than the last applied. */
const SET_SCORE = `
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1`;

/** An increment of one version: applied once, whatever replays, retries or bisected batches deliver. */
const ADD_SCORE = `
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
return 1`;

export interface LeaderboardEntry {
  /** 1 is the best. */
  readonly rank: number;
  readonly playerId: string;
  readonly score: number;
  /** On the level board: the level and experience the score encodes. */
  readonly level?: number;
  readonly experience?: number;
}

export interface LeaderboardPage {
  readonly board: BoardName;
  /** The period of a periodic board (`2026-11-24`, `2026-W48`); absent for the others. */
  readonly period?: string;
  /** Players on the board. */
  readonly total: number;
  readonly entries: readonly LeaderboardEntry[];
  /** The player asked for with `around`, or null if not on the board. */
  readonly player?: LeaderboardEntry | null;
}

export interface PageRequest {
  readonly period?: string;
  readonly limit?: number;
  /** A player id: the page is centred on that player instead of starting at the top. */
  readonly around?: string;
  /** "Now", for the default period. */
  readonly now?: Date;
}

export class Leaderboards {
  private readonly retentionMs: number;

  constructor(
    private readonly redis: Redis,
    options: { retentionDays?: number } = {},
  ) {
    this.retentionMs = (options.retentionDays ?? 90) * 86_400_000;
  }

  /** Level, wealth and combat wins from a player's view at one version (absolute values: naturally idempotent). */
  async applyState(view: PlayerView): Promise<void> {
    const scores = absoluteScores(view);
    await Promise.all(
      (Object.entries(scores) as [BoardName, number | undefined][]).map(([board, score]) =>
        this.redis.eval(SET_SCORE, 2, boardKey(board), appliedKey(board), view.playerId, String(view.version), score === undefined ? '' : String(-score)),
      ),
    );
  }

  /** Experience one version gained, counted in the day and the week it was committed in. */
  async applyExperience(playerId: string, version: number, committedAt: Date, amount: number): Promise<void> {
    if (amount <= 0) return;
    await Promise.all(
      (['experience-daily', 'experience-weekly'] as const).map((board) => {
        const period = periodOf(board, committedAt);
        const expireAt = periodEnd(board, committedAt) + this.retentionMs;
        return this.redis.eval(ADD_SCORE, 2, boardKey(board, period), appliedKey(board, period), playerId, String(version), String(-amount), String(expireAt));
      }),
    );
  }

  /** The top `limit` entries, or the page around a player, of one board (and period). */
  async page(board: BoardName, request: PageRequest = {}): Promise<LeaderboardPage> {
    const period = isPeriodic(board) ? (request.period ?? periodOf(board, request.now ?? new Date())) : undefined;
    if (isPeriodic(board) && !isPeriodFor(board, period!)) throw new RangeError(`period ${period} is not a ${board} period`);
    const limit = Math.min(Math.max(1, request.limit ?? 10), 100);
    const key = boardKey(board, period);
    let start = 0;
    let player: LeaderboardEntry | null | undefined;
    if (request.around !== undefined) {
      player = await this.rank(board, request.around, period === undefined ? {} : { period });
      if (player) start = Math.max(0, player.rank - 1 - Math.floor(limit / 2));
    }
    const [raw, total] = await Promise.all([this.redis.zrange(key, String(start), String(start + limit - 1), 'WITHSCORES'), this.redis.zcard(key)]);
    const entries: LeaderboardEntry[] = [];
    for (let i = 0; i < raw.length; i += 2) entries.push(entryOf(board, start + i / 2 + 1, raw[i]!, Number(raw[i + 1])));
    return { board, ...(period !== undefined ? { period } : {}), total, entries, ...(player !== undefined ? { player } : {}) };
  }

  /** A player's rank (1 is the best) and score, or null if the player is not on the board. */
  async rank(board: BoardName, playerId: string, request: { period?: string; now?: Date } = {}): Promise<LeaderboardEntry | null> {
    const period = isPeriodic(board) ? (request.period ?? periodOf(board, request.now ?? new Date())) : undefined;
    const key = boardKey(board, period);
    const [rank, score] = await Promise.all([this.redis.zrank(key, playerId), this.redis.zscore(key, playerId)]);
    return rank === null || score === null ? null : entryOf(board, rank + 1, playerId, Number(score));
  }

  /** Every entry of a board, best first (audits and rebuild checks). */
  async all(board: BoardName, period?: string): Promise<Map<string, number>> {
    const raw = await this.redis.zrange(boardKey(board, period), '0', '-1', 'WITHSCORES');
    const out = new Map<string, number>();
    for (let i = 0; i < raw.length; i += 2) out.set(raw[i]!, -Number(raw[i + 1]));
    return out;
  }
}

function entryOf(board: BoardName, rank: number, playerId: string, stored: number): LeaderboardEntry {
  const score = -stored;
  if (board !== 'level') return { rank, playerId, score };
  const level = Math.floor(score / LEVEL_WEIGHT);
  return { rank, playerId, score, level, experience: score - level * LEVEL_WEIGHT };
}
