import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisScript, type RedisScript } from './redisClient.js';

/**
 * The bookkeeping of one read-side rebuild, kept in Redis beside the data it rebuilds: if Redis loses one it
 * loses both, and a rebuild that finds no checkpoint starts over instead of skipping work whose results are gone.
 *
 * A run is split into units: first the segments of the player listing (`seg:<n>`), then one unit per board key
 * to sweep (`sweep:<key>`). Each unit has a cursor (a listing page token, a ZSCAN cursor) and a lease, so several
 * workers (in one invocation or in several at once) share a run without doing a unit twice, and a worker that
 * died leaves its unit to the next one once the lease ends. Cursors move only after the work they cover is done:
 * a crash repeats at most one page, and every write of a rebuild is idempotent.
 */
export type RunPhase = 'players' | 'sweep' | 'done';

export interface RunCounters {
  /** Players restored (counted when their page's checkpoint moved). */
  readonly players: number;
  /** Players read again because the projector applied a newer version while they were being restored. */
  readonly rereads: number;
  /** Cached views the rebuild wrote (the others were current already). */
  readonly views: number;
  /** Board entries removed because the table does not justify them. */
  readonly removed: number;
  /** Period boards (day, week) holding entries when the run finished. */
  readonly periods: number;
}

export interface RunState extends RunCounters {
  readonly runId: string;
  readonly phase: RunPhase;
  readonly segments: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** The board keys of the sweep, fixed when the sweep begins. */
  readonly sweepKeys: readonly string[];
  /** Units finished, and units whose lease is held by a live worker, at the time of the read. */
  readonly done: ReadonlySet<string>;
  readonly leased: ReadonlySet<string>;
}

const CURRENT_KEY = 'gk:rebuild:current';
const runKey = (runId: string): string => `gk:rebuild:{${runId}}`;
/** The version each player was restored at, for the sweep: same hash tag, same slot as the run. */
const seenKey = (runId: string): string => `gk:rebuild:{${runId}}:seen`;
/** Abandoned runs do not stay forever. */
const RUN_TTL_MS = 7 * 86_400_000;
const DONE = '#done';

// Times come from the Redis server (TIME), so leases do not depend on the workers' clocks agreeing.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Creates the run's hash if it does not exist (a run id whose data Redis lost starts afresh). */
const INIT = `
if redis.call('HEXISTS', KEYS[1], 'phase') == 0 then
  redis.call('HSET', KEYS[1], 'phase', 'players', 'segments', ARGV[1], 'startedAt', ARGV[2], 'players', 0, 'rereads', 0, 'views', 0, 'removed', 0, 'periods', 0)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], 'segments')`;

/** Takes a unit for ARGV[2] for ARGV[3] ms unless it is done or someone else's lease runs; returns {1, cursor} or {0}. */
const CLAIM = `
${NOW}
local cursor = redis.call('HGET', KEYS[1], 'u:' .. ARGV[1])
if cursor == '${DONE}' then return {0} end
local owner = redis.call('HGET', KEYS[1], 'o:' .. ARGV[1])
if owner and owner ~= ARGV[2] and tonumber(redis.call('HGET', KEYS[1], 't:' .. ARGV[1]) or '0') > now then return {0} end
redis.call('HSET', KEYS[1], 'o:' .. ARGV[1], ARGV[2], 't:' .. ARGV[1], now + tonumber(ARGV[3]))
return {1, cursor or ''}`;

/**
 * Moves a unit's cursor (to ARGV[3], `#done` at its end) for its lease holder only, adds to the counters, records
 * the versions players were restored at (pairs from ARGV[10]) and renews the lease, or drops it (ARGV[4] = '0').
 */
const ADVANCE = `
${NOW}
if redis.call('HGET', KEYS[1], 'o:' .. ARGV[1]) ~= ARGV[2] then return 0 end
for i = 10, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'u:' .. ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'players', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'rereads', ARGV[7])
redis.call('HINCRBY', KEYS[1], 'views', ARGV[8])
redis.call('HINCRBY', KEYS[1], 'removed', ARGV[9])
if ARGV[4] == '0' or ARGV[3] == '${DONE}' then
  redis.call('HDEL', KEYS[1], 'o:' .. ARGV[1], 't:' .. ARGV[1])
else
  redis.call('HSET', KEYS[1], 't:' .. ARGV[1], now + tonumber(ARGV[4]))
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'o:' .. ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'o:' .. ARGV[1], 't:' .. ARGV[1])
return 1`;

/** Players → sweep, once every segment is done; the sweep's keys are fixed here. Returns the phase after. */
const ENTER_SWEEP = `
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase ~= 'players' then return phase end
for i = 0, tonumber(redis.call('HGET', KEYS[1], 'segments')) - 1 do
  if redis.call('HGET', KEYS[1], 'u:seg:' .. i) ~= '${DONE}' then return phase end
end
redis.call('HSET', KEYS[1], 'phase', 'sweep', 'sweepKeys', ARGV[1])
return 'sweep'`;

/** Sweep → done, once every sweep unit is done. Returns the phase after. */
const FINISH = `
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase ~= 'sweep' then return phase end
for _, key in ipairs(cjson.decode(redis.call('HGET', KEYS[1], 'sweepKeys'))) do
  if redis.call('HGET', KEYS[1], 'u:sweep:' .. key) ~= '${DONE}' then return phase end
end
redis.call('HSET', KEYS[1], 'phase', 'done', 'finishedAt', ARGV[1], 'periods', ARGV[2])
return 'done'`;

/** Points at a new run, or (ARGV[2] = '1', resume) returns the run under way if there is one. */
const BEGIN = `
local current = redis.call('GET', KEYS[1])
if current and ARGV[2] == '1' then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return ARGV[1]`;

/** Forgets the current run if it is this one (it finished). */
const END = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

export interface UnitProgress {
  /** Where the unit goes on: a cursor, or `done` at its end. */
  readonly next: string | 'done';
  /** Keep holding the unit for this long (the worker goes on with it), or drop the lease (0). */
  readonly holdMs: number;
  readonly players?: number;
  readonly rereads?: number;
  readonly views?: number;
  readonly removed?: number;
  /** The version each player of the page was restored at. */
  readonly seen?: ReadonlyMap<string, number>;
}

/** One rebuild run's checkpoint. `owner` names this worker in leases. */
export class RebuildRun {
  private readonly claimScript: RedisScript;
  private readonly advanceScript: RedisScript;
  private readonly releaseScript: RedisScript;
  private readonly enterSweepScript: RedisScript;
  private readonly finishScript: RedisScript;

  private constructor(
    private readonly redis: Redis,
    readonly runId: string,
    readonly segments: number,
  ) {
    this.claimScript = redisScript(redis, 'gkRebuildClaim', 1, CLAIM);
    this.advanceScript = redisScript(redis, 'gkRebuildAdvance', 2, ADVANCE);
    this.releaseScript = redisScript(redis, 'gkRebuildRelease', 1, RELEASE);
    this.enterSweepScript = redisScript(redis, 'gkRebuildEnterSweep', 1, ENTER_SWEEP);
    this.finishScript = redisScript(redis, 'gkRebuildFinish', 1, FINISH);
  }

  /**
   * The run to work on: the one named (a continuation), or with `resume` the run under way (one that was
   * interrupted), else a new one. A new run is the default: a rebuild asked for now must not skip the work an
   * older run did before the data changed. A run whose checkpoint Redis lost starts afresh under its id.
   */
  static async open(
    redis: Redis,
    options: { runId?: string; resume?: boolean; segments: number },
  ): Promise<RebuildRun> {
    const proposed = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomUUID().slice(0, 8)}`;
    const runId =
      options.runId ??
      String(
        await redisScript(
          redis,
          'gkRebuildBegin',
          1,
          BEGIN,
        )([CURRENT_KEY], [proposed, options.resume ? '1' : '0', RUN_TTL_MS]),
      );
    const segments = Number(await initRun(redis, runId, options.segments));
    return new RebuildRun(redis, runId, segments);
  }

  async state(): Promise<RunState> {
    let h = await this.redis.hgetall(runKey(this.runId));
    // Redis lost the checkpoint while the run was under way: the run starts again, as the data it covered is gone too.
    if (!h.phase) {
      await initRun(this.redis, this.runId, this.segments);
      h = await this.redis.hgetall(runKey(this.runId));
    }
    const now = Date.now();
    const done = new Set<string>();
    const leased = new Set<string>();
    for (const [field, value] of Object.entries(h)) {
      if (field.startsWith('u:') && value === DONE) done.add(field.slice(2));
      // Local clocks only decide whether to try a claim; the claim itself compares with the server's time.
      if (field.startsWith('t:') && Number(value) > now) leased.add(field.slice(2));
    }
    const phase = h.phase === 'sweep' || h.phase === 'done' ? h.phase : 'players';
    return {
      runId: this.runId,
      phase,
      segments: Number(h.segments ?? this.segments),
      startedAt: h.startedAt ?? '',
      ...(h.finishedAt ? { finishedAt: h.finishedAt } : {}),
      sweepKeys: h.sweepKeys ? (JSON.parse(h.sweepKeys) as string[]) : [],
      done,
      leased,
      players: Number(h.players ?? 0),
      rereads: Number(h.rereads ?? 0),
      views: Number(h.views ?? 0),
      removed: Number(h.removed ?? 0),
      periods: Number(h.periods ?? 0),
    };
  }

  /** The unit's cursor ('' at its start) if this worker now holds it, or undefined (done, or someone else's). */
  async claim(unit: string, owner: string, leaseMs: number): Promise<string | undefined> {
    const [ok, cursor] = (await this.claimScript([runKey(this.runId)], [unit, owner, leaseMs])) as [number, string?];
    return ok === 1 ? (cursor ?? '') : undefined;
  }

  /** False when the lease was lost (it ran out and another worker took the unit): stop working on it. */
  async advance(unit: string, owner: string, progress: UnitProgress): Promise<boolean> {
    const seen = [...(progress.seen ?? new Map<string, number>())].flat();
    const args = [
      unit,
      owner,
      progress.next === 'done' ? DONE : progress.next,
      progress.holdMs,
      RUN_TTL_MS,
      progress.players ?? 0,
      progress.rereads ?? 0,
      progress.views ?? 0,
      progress.removed ?? 0,
      ...seen,
    ];
    return (await this.advanceScript([runKey(this.runId), seenKey(this.runId)], args)) === 1;
  }

  async release(unit: string, owner: string): Promise<void> {
    await this.releaseScript([runKey(this.runId)], [unit, owner]);
  }

  async enterSweep(sweepKeys: readonly string[]): Promise<RunPhase> {
    return (await this.enterSweepScript([runKey(this.runId)], [JSON.stringify(sweepKeys)])) as RunPhase;
  }

  async finish(periods: number): Promise<RunPhase> {
    const phase = (await this.finishScript([runKey(this.runId)], [new Date().toISOString(), periods])) as RunPhase;
    if (phase === 'done') await redisScript(this.redis, 'gkRebuildEnd', 1, END)([CURRENT_KEY], [this.runId]);
    return phase;
  }

  /** The versions players were restored at in this run; undefined for players it did not restore (yet). */
  async seenVersions(playerIds: readonly string[]): Promise<(number | undefined)[]> {
    if (playerIds.length === 0) return [];
    const raw = await this.redis.hmget(seenKey(this.runId), ...playerIds);
    return raw.map((v) => (v === null ? undefined : Number(v)));
  }
}

function initRun(redis: Redis, runId: string, segments: number): Promise<unknown> {
  return redisScript(
    redis,
    'gkRebuildInit',
    1,
    INIT,
  )([runKey(runId)], [segments, new Date().toISOString(), RUN_TTL_MS]);
}

export const segmentUnit = (segment: number): string => `seg:${segment}`;
export const sweepUnit = (key: string): string => `sweep:${key}`;
