import type { Redis } from 'ioredis';
import type { PlayerView } from './playerView.js';
import { redisScript, type RedisScript } from './redisClient.js';

/**
 * Leaderboards in Redis sorted sets, projected from the table's stream.
 *
 * Scores are stored negated, so ZRANGE (ascending) lists the best first and players with equal scores by player
 * id ascending (Redis orders equal scores by member): the tie-break is deterministic and documented.
 * Every write converges whatever the order, duplication or batching of the stream records: absolute boards keep
 * the score of the highest version applied (a version hash beside the board), periodic boards add each version's
 * experience once (a hash of gains per player and period). Scripts run by SHA.
 */
export const boardNames = ['level', 'wealth', 'combat-wins', 'experience-daily', 'experience-weekly'] as const;
export type BoardName = (typeof boardNames)[number];
export type PeriodicBoard = 'experience-daily' | 'experience-weekly';

export const isBoardName = (name: string): name is BoardName => (boardNames as readonly string[]).includes(name);
export const isPeriodic = (board: BoardName): board is PeriodicBoard =>
  board === 'experience-daily' || board === 'experience-weekly';

export type AbsoluteBoard = 'level' | 'wealth' | 'combat-wins';
export type AbsoluteScores = Record<AbsoluteBoard, number | undefined>;

/** Level first, then experience: experience below 10^12 fits under the level without losing precision (< 2^53). */
const LEVEL_WEIGHT = 1e12;

/** The value each absolute board ranks by, from a player's view at one version. */
export function absoluteScores(view: PlayerView): AbsoluteScores {
  return {
    level: view.level * LEVEL_WEIGHT + Math.min(view.experience, LEVEL_WEIGHT - 1),
    // Both currencies count one for one: wealth is what the player holds, not what it cost.
    wealth: view.gold + view.spiritStones,
    // Only players who won something are ranked for wins.
    'combat-wins': view.statistics.combat.wins > 0 ? view.statistics.combat.wins : undefined,
  };
}

/**
 * The absolute scores a state changed against the state it replaced (the stream record's old image): a state
 * whose level, wealth and wins did not move costs no board write. Without a previous state, every score it has.
 */
export function scoreChanges(next: PlayerView, previous: PlayerView | undefined): Partial<AbsoluteScores> {
  const now = absoluteScores(next);
  // Nothing before it (a new player): an absent score has no entry to remove.
  const before: AbsoluteScores = previous
    ? absoluteScores(previous)
    : { level: undefined, wealth: undefined, 'combat-wins': undefined };
  return Object.fromEntries(
    (Object.keys(now) as AbsoluteBoard[]).filter((b) => now[b] !== before[b]).map((b) => [b, now[b]]),
  );
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

const PERIOD_PATTERN: Record<PeriodicBoard, RegExp> = {
  'experience-daily': /^\d{4}-\d{2}-\d{2}$/,
  'experience-weekly': /^\d{4}-W\d{2}$/,
};

export const isPeriodFor = (board: PeriodicBoard, period: string): boolean => PERIOD_PATTERN[board].test(period);

/** When a period ends (UTC), so its board can expire `retentionDays` later. */
export function periodEnd(board: PeriodicBoard, at: Date): number {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  if (board === 'experience-daily') return day + 86_400_000;
  const weekday = new Date(day).getUTCDay() || 7;
  return day + (8 - weekday) * 86_400_000;
}

const periodicBoards: readonly PeriodicBoard[] = ['experience-daily', 'experience-weekly'];

/** The day and the week an instant falls in, each with the time its board expires; periods already expired are left out. */
export function periodsOf(
  at: Date,
  retentionMs: number,
  now: Date,
): { board: PeriodicBoard; period: string; expireAt: number }[] {
  return periodicBoards
    .map((board) => ({ board, period: periodOf(board, at), expireAt: periodEnd(board, at) + retentionMs }))
    .filter((p) => p.expireAt > now.getTime());
}

/** One player's gains in one period: `[version, experience]` pairs, and when the period's board expires. */
export interface PeriodGains {
  readonly board: PeriodicBoard;
  readonly period: string;
  readonly expireAt: number;
  readonly versions: readonly (readonly [number, number])[];
}

/** The periodic board and period a board key names, if it is one. */
function periodicKey(key: string): { board: PeriodicBoard; period: string } | undefined {
  const m = /^gk:lb:\{(experience-daily|experience-weekly):([^}]+)\}$/.exec(key);
  return m ? { board: m[1] as PeriodicBoard, period: m[2]! } : undefined;
}

// The hash tag keeps a board, its version hash and its gain hashes in one slot (cluster mode: one script, one slot).
export const boardKey = (board: BoardName, period?: string): string =>
  period ? `gk:lb:{${board}:${period}}` : `gk:lb:{${board}}`;
const appliedKey = (board: AbsoluteBoard): string => `${boardKey(board)}:applied`;
/** What each version of one player gained in one period: `version → experience`. Not under `gk:lb:`, which holds boards only. */
export const gainsKey = (board: PeriodicBoard, period: string, playerId: string): string =>
  `gk:xp:{${board}:${period}}:${playerId}`;

/** An absolute score at a version: replaces the player's score only if the version is newer than the last applied. */
const SET_SCORE = `
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1`;

/**
 * The experience one version gained: recorded once per player and period (HSETNX), and added to the board only
 * when new, so order, duplicates and batching do not matter. Where the board has no entry yet (the first gain,
 * or an entry that was lost) the score is the sum of every gain recorded, which keeps score = sum(gains).
 */
const ADD_GAIN = `
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZINCRBY', KEYS[1], -tonumber(ARGV[3]), ARGV[1])
else
  local sum = 0
  for _, g in ipairs(redis.call('HVALS', KEYS[2])) do sum = sum + tonumber(g) end
  redis.call('ZADD', KEYS[1], -sum, ARGV[1])
end
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1`;

/**
 * A rebuilt absolute score at a version: written unless a newer version was applied meanwhile (equal versions are
 * overwritten, so a rebuild also repairs a wrong score). 0 means the projector got ahead: read the player again.
 */
const RESTORE_SCORE = `
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1`;

/**
 * Rebuilt gains of one player and period (from the table): merged into what the projector recorded, and the
 * score set to their sum. Both sides only ever hold true gains, so the union converges whatever ran first.
 */
const RESTORE_GAINS = `
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
local sum = 0
for _, g in ipairs(redis.call('HVALS', KEYS[2])) do sum = sum + tonumber(g) end
if sum > 0 then redis.call('ZADD', KEYS[1], -sum, ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return 1`;

/**
 * Takes back the gains of versions a rollback undid: each is set to 0, which is also a tombstone (HSETNX of a late
 * projection of the version then adds nothing), and the score becomes the sum of what is left (no entry at 0).
 */
const RETRACT_GAINS = `
for i = 3, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], '0') end
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
local sum = 0
for _, g in ipairs(redis.call('HVALS', KEYS[2])) do sum = sum + tonumber(g) end
if sum > 0 then
  redis.call('ZADD', KEYS[1], -sum, ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1`;

/** Removes an entry the table does not justify, unless the projector justified it meanwhile (a newer version, or recorded gains). */
const PRUNE_ENTRY = `
if ARGV[2] == 'periodic' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
elseif tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') > tonumber(ARGV[3]) then
  return 0
end
return redis.call('ZREM', KEYS[1], ARGV[1])`;

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
  private readonly setScore: RedisScript;
  private readonly addGain: RedisScript;
  private readonly retractGain: RedisScript;
  private readonly restoreScore: RedisScript;
  private readonly restoreGain: RedisScript;
  private readonly prune: RedisScript;

  constructor(
    private readonly redis: Redis,
    options: { retentionDays?: number } = {},
  ) {
    this.retentionMs = (options.retentionDays ?? 90) * 86_400_000;
    this.setScore = redisScript(redis, 'gkSetScore', 2, SET_SCORE);
    this.addGain = redisScript(redis, 'gkAddGain', 2, ADD_GAIN);
    this.retractGain = redisScript(redis, 'gkRetractGains', 2, RETRACT_GAINS);
    this.restoreScore = redisScript(redis, 'gkRestoreScore', 2, RESTORE_SCORE);
    this.restoreGain = redisScript(redis, 'gkRestoreGains', 2, RESTORE_GAINS);
    this.prune = redisScript(redis, 'gkPruneEntry', 2, PRUNE_ENTRY);
  }

  /** Level, wealth and combat wins from a player's view at one version. */
  async applyState(view: PlayerView): Promise<void> {
    await this.applyScores(view.playerId, view.version, absoluteScores(view));
  }

  /** Absolute scores at a version (only the boards given: the projector leaves out the unchanged ones); undefined removes the entry. */
  async applyScores(playerId: string, version: number, scores: Partial<AbsoluteScores>): Promise<void> {
    await Promise.all(
      (Object.entries(scores) as [AbsoluteBoard, number | undefined][]).map(([board, score]) =>
        this.setScore([boardKey(board), appliedKey(board)], [playerId, version, score === undefined ? '' : -score]),
      ),
    );
  }

  /** Experience one version gained, counted once in the day and the week the command was issued in (still kept). */
  async applyExperience(
    playerId: string,
    version: number,
    issuedAt: Date,
    amount: number,
    now: Date = new Date(),
  ): Promise<void> {
    if (amount <= 0) return;
    await Promise.all(
      periodsOf(issuedAt, this.retentionMs, now).map(({ board, period, expireAt }) =>
        this.addGain(
          [boardKey(board, period), gainsKey(board, period, playerId)],
          [playerId, version, amount, expireAt],
        ),
      ),
    );
  }

  /** Takes back the experience of versions a rollback undid, in the periods they were earned in (still kept). */
  async retractExperience(
    playerId: string,
    undone: readonly { version: number; issuedAt: string }[],
    now: Date = new Date(),
  ): Promise<void> {
    const byKey = new Map<string, { board: PeriodicBoard; period: string; expireAt: number; versions: number[] }>();
    for (const u of undone)
      for (const p of periodsOf(new Date(u.issuedAt), this.retentionMs, now)) {
        const key = boardKey(p.board, p.period);
        const entry = byKey.get(key) ?? { ...p, versions: [] };
        entry.versions.push(u.version);
        byKey.set(key, entry);
      }
    await Promise.all(
      [...byKey.values()].map((p) =>
        this.retractGain(
          [boardKey(p.board, p.period), gainsKey(p.board, p.period, playerId)],
          [playerId, p.expireAt, ...p.versions],
        ),
      ),
    );
  }

  /** A rebuilt player's absolute scores at `version`: false when the projector applied a newer version meanwhile. */
  async restoreScores(playerId: string, version: number, scores: AbsoluteScores): Promise<boolean> {
    const written = await Promise.all(
      (Object.entries(scores) as [AbsoluteBoard, number | undefined][]).map(([board, score]) =>
        this.restoreScore([boardKey(board), appliedKey(board)], [playerId, version, score === undefined ? '' : -score]),
      ),
    );
    return written.every((w) => w === 1);
  }

  /** A rebuilt player's gains in one period (`[version, experience]` from the table), merged with the recorded ones. */
  async restoreGains(playerId: string, gains: PeriodGains): Promise<void> {
    await this.restoreGain(
      [boardKey(gains.board, gains.period), gainsKey(gains.board, gains.period, playerId)],
      [playerId, gains.expireAt, ...gains.versions.flat()],
    );
  }

  /**
   * Drops a player's entry from a board (by key) that a rebuild found unjustified as of `seenVersion`, unless the
   * projector put it there meanwhile: a newer version on an absolute board, recorded gains on a periodic one.
   */
  async pruneEntry(key: string, playerId: string, seenVersion: number): Promise<boolean> {
    const periodic = periodicKey(key);
    const companion = periodic ? gainsKey(periodic.board, periodic.period, playerId) : `${key}:applied`;
    return (await this.prune([key, companion], [playerId, periodic ? 'periodic' : 'absolute', seenVersion])) === 1;
  }

  /** The top `limit` entries, or the page around a player, of one board (and period). */
  async page(board: BoardName, request: PageRequest = {}): Promise<LeaderboardPage> {
    const period = isPeriodic(board) ? (request.period ?? periodOf(board, request.now ?? new Date())) : undefined;
    if (isPeriodic(board) && !isPeriodFor(board, period!))
      throw new RangeError(`period ${period} is not a ${board} period`);
    const limit = Math.min(Math.max(1, request.limit ?? 10), 100);
    const key = boardKey(board, period);
    let start = 0;
    let player: LeaderboardEntry | null | undefined;
    if (request.around !== undefined) {
      player = await this.rank(board, request.around, period === undefined ? {} : { period });
      if (player) start = Math.max(0, player.rank - 1 - Math.floor(limit / 2));
    }
    const [raw, total] = await Promise.all([
      this.redis.zrange(key, String(start), String(start + limit - 1), 'WITHSCORES'),
      this.redis.zcard(key),
    ]);
    const entries: LeaderboardEntry[] = [];
    for (let i = 0; i < raw.length; i += 2)
      entries.push(entryOf(board, start + i / 2 + 1, raw[i]!, Number(raw[i + 1])));
    return {
      board,
      ...(period !== undefined ? { period } : {}),
      total,
      entries,
      ...(player !== undefined ? { player } : {}),
    };
  }

  /** A player's rank (1 is the best) and score, or null if the player is not on the board. */
  async rank(
    board: BoardName,
    playerId: string,
    request: { period?: string; now?: Date } = {},
  ): Promise<LeaderboardEntry | null> {
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
