import type { Redis } from 'ioredis';
import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../persistence/tableLayout.js';
import type { PlayerState } from '../domain/player/index.js';
import { playerViewOf, type PlayerView } from './playerView.js';
import { redisReady } from './redisClient.js';

export type PlayerViewRead =
  | { readonly status: 'found'; readonly view: PlayerView; readonly source: 'cache' | 'table' }
  | { readonly status: 'not-found' }
  /** The table holds an older version than the caller asked for (`version` 0: the player does not exist yet). */
  | { readonly status: 'version-not-reached'; readonly version: number };

export interface CacheStats {
  /** Reads answered from Redis (negative entries included). */
  readonly hits: number;
  /** Reads that went to DynamoDB: cold or expired keys, a cached version below `minVersion`, or Redis unreachable. */
  readonly misses: number;
  readonly hitRatio: number;
  /** Strongly consistent GetItem calls made for misses (single flight merges concurrent misses of one key). */
  readonly tableReads: number;
  /** Reads served from DynamoDB because Redis failed. */
  readonly fallbacks: number;
  readonly redisErrors: number;
  /** Views written by the projector or by a miss, and writes refused because Redis held a newer version. */
  readonly writes: number;
  readonly staleWritesRefused: number;
}

export interface CacheLog {
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface PlayerCacheOptions {
  readonly redis: Redis;
  readonly store: EventStore;
  /** Base TTL of a cached view; each write gets ±20 % jitter so keys filled together do not expire together. */
  readonly ttlSeconds?: number;
  /** TTL of "this player does not exist" entries (cache penetration by unknown ids). */
  readonly negativeTtlSeconds?: number;
  readonly log?: CacheLog;
  readonly random?: () => number;
}

/** The version floor outlives every stream record that could be replayed (Streams keep records 24 h). */
const FLOOR_TTL_MS = 48 * 3600 * 1000;

/**
 * Compare-and-set of a view: written only if newer than both the cached view and the version floor, which
 * remembers the highest version ever cached after the view itself expired. Equal versions refill an expired key.
 */
const PUT_VIEW = `
local v = tonumber(ARGV[1])
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
if v < floor then return 0 end
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) >= v then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
return 1`;

/** A negative entry (version 0) only where nothing is known about the player, so it never hides a real view. */
const PUT_ABSENT = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', '0', 'd', '')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// One hash tag per player keeps a view and its floor in one slot (ElastiCache cluster mode).
export const viewKey = (playerId: string): string => `gk:player:{${playerId}}`;
const floorKey = (playerId: string): string => `gk:player:{${playerId}}:floor`;

type TableRead = { version: number; view: PlayerView } | undefined;

/**
 * The player-view cache (G5): write-through from the projector, cache-aside on read, and a cached view is only
 * ever replaced by a newer version. Reads never fail because of Redis: they fall back to DynamoDB.
 */
export class PlayerCache {
  private readonly redis: Redis;
  private readonly store: EventStore;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly log: CacheLog | undefined;
  private readonly random: () => number;
  private readonly inFlight = new Map<string, Promise<TableRead>>();
  private lastWarning = 0;
  private counts = { hits: 0, misses: 0, tableReads: 0, fallbacks: 0, redisErrors: 0, writes: 0, staleWritesRefused: 0 };

  constructor(options: PlayerCacheOptions) {
    this.redis = options.redis;
    this.store = options.store;
    this.ttlMs = (options.ttlSeconds ?? 300) * 1000;
    this.negativeTtlMs = (options.negativeTtlSeconds ?? 30) * 1000;
    this.log = options.log;
    this.random = options.random ?? Math.random;
  }

  /** The player's view, at `minVersion` or later when given (read-your-writes after a command reported its version). */
  async read(playerId: string, options: { minVersion?: number } = {}): Promise<PlayerViewRead> {
    const minVersion = options.minVersion ?? 0;
    try {
      // A connection still being established (a cold start) is worth a short wait; a lost one is not.
      if (this.redis.status === 'wait' || this.redis.status === 'connecting' || this.redis.status === 'connect') await redisReady(this.redis, 1000);
      const [v, d] = await this.redis.hmget(viewKey(playerId), 'v', 'd');
      if (v !== null) {
        const version = Number(v);
        if (version === 0 && minVersion === 0) {
          this.counts.hits++;
          return { status: 'not-found' };
        }
        if (version > 0 && version >= minVersion && d) {
          this.counts.hits++;
          return { status: 'found', view: JSON.parse(d) as PlayerView, source: 'cache' };
        }
      }
    } catch (error) {
      this.counts.redisErrors++;
      this.counts.fallbacks++;
      this.warn('player cache unavailable, reading DynamoDB', { playerId, error: String(error) });
    }
    this.counts.misses++;

    let found = await this.load(playerId);
    // A flight that started before the caller's command committed may return an older version: read once more.
    if (minVersion > 0 && (found?.version ?? 0) < minVersion) found = await this.load(playerId);
    if (!found) return minVersion > 0 ? { status: 'version-not-reached', version: 0 } : { status: 'not-found' };
    if (found.version < minVersion) return { status: 'version-not-reached', version: found.version };
    return { status: 'found', view: found.view, source: 'table' };
  }

  /**
   * Write-through from the projector: 'written', or 'stale' when Redis already holds this version or a newer one.
   * Throws when Redis fails, so the stream batch is retried and the cache catches up once Redis is back.
   */
  async put(view: PlayerView): Promise<'written' | 'stale'> {
    const written = (await this.redis.eval(
      PUT_VIEW,
      2,
      viewKey(view.playerId),
      floorKey(view.playerId),
      String(view.version),
      JSON.stringify(view),
      String(this.jitteredTtl(this.ttlMs)),
      String(FLOOR_TTL_MS),
    )) as number;
    if (written === 1) this.counts.writes++;
    else this.counts.staleWritesRefused++;
    return written === 1 ? 'written' : 'stale';
  }

  stats(): CacheStats {
    const reads = this.counts.hits + this.counts.misses;
    return { ...this.counts, hitRatio: reads === 0 ? 0 : this.counts.hits / reads };
  }

  resetStats(): void {
    this.counts = { hits: 0, misses: 0, tableReads: 0, fallbacks: 0, redisErrors: 0, writes: 0, staleWritesRefused: 0 };
  }

  /**
   * One strongly consistent read per key at a time in this process, however many readers miss together; the
   * flight also refills the cache once, so a stampede costs one GetItem and one Redis write.
   */
  private load(playerId: string): Promise<TableRead> {
    const pending = this.inFlight.get(playerId);
    if (pending) return pending;
    const flight = (async (): Promise<TableRead> => {
      this.counts.tableReads++;
      const item = await this.store.item<StateItem<PlayerState>>({ pk: entityPk('P', playerId), sk: STATE_SK });
      const found = item && item.state.exists !== false ? { version: item.version, view: playerViewOf(item) } : undefined;
      await this.fill(playerId, found);
      return found;
    })().finally(() => this.inFlight.delete(playerId));
    this.inFlight.set(playerId, flight);
    return flight;
  }

  /** Cache-aside fill after a miss; a failure only costs the next read another miss. */
  private async fill(playerId: string, found: TableRead): Promise<void> {
    try {
      if (found) await this.put(found.view);
      else await this.redis.eval(PUT_ABSENT, 2, viewKey(playerId), floorKey(playerId), String(this.jitteredTtl(this.negativeTtlMs)));
    } catch (error) {
      this.counts.redisErrors++;
      this.warn('player cache fill failed', { playerId, error: String(error) });
    }
  }

  /** At most one warning a second: an outage must not turn every read into a log line. */
  private warn(message: string, details: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastWarning < 1000) return;
    this.lastWarning = now;
    this.log?.warn(message, { ...details, redisErrors: this.counts.redisErrors });
  }

  private jitteredTtl(baseMs: number): number {
    return Math.max(1000, Math.round(baseMs * (0.8 + 0.4 * this.random())));
  }
}
