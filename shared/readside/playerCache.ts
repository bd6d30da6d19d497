import type { Redis } from 'ioredis';
import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../persistence/tableLayout.js';
import { player, type PlayerState } from '../domain/player/index.js';
import { playerViewOf, type PlayerView } from './playerView.js';
import { redisReady, redisScript, type RedisScript } from './redisClient.js';
import { DatasetMarker } from './heal.js';

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
  /** The read side's dataset marker (its epoch decides which writes may land where a player's floor is missing). */
  readonly marker?: DatasetMarker;
}

/** The version floor outlives every stream record that could be replayed (Streams keep records 24 h). */
const FLOOR_TTL_MS = 48 * 3600 * 1000;

/**
 * Compare-and-set of a view: written only if newer than both the cached view and the version floor, which
 * remembers the highest version ever cached after the view itself expired. Equal versions refill an expired key.
 * Where no floor exists (a new or long idle player, or a floor lost with Redis's data) the script cannot tell an
 * old record from a new one: it writes only a `trusted` view (see PlayerCache.put) and otherwise answers 2.
 */
const PUT_VIEW = `
local v = tonumber(ARGV[1])
local f = redis.call('GET', KEYS[2])
if not f and ARGV[5] ~= '1' then return 2 end
if v < tonumber(f or '0') then return 0 end
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

/** What a write-through did: `unverified` when no floor exists and the view was not known to be current (read the table). */
export type PutResult = 'written' | 'stale' | 'unverified';

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
  private readonly marker: DatasetMarker;
  private readonly putView: RedisScript;
  private readonly putAbsent: RedisScript;
  private readonly inFlight = new Map<string, Promise<TableRead>>();
  private lastWarning = 0;
  private counts = {
    hits: 0,
    misses: 0,
    tableReads: 0,
    fallbacks: 0,
    redisErrors: 0,
    writes: 0,
    staleWritesRefused: 0,
  };

  constructor(options: PlayerCacheOptions) {
    this.redis = options.redis;
    this.store = options.store;
    this.ttlMs = (options.ttlSeconds ?? 300) * 1000;
    this.negativeTtlMs = (options.negativeTtlSeconds ?? 30) * 1000;
    this.log = options.log;
    this.random = options.random ?? Math.random;
    this.marker = options.marker ?? new DatasetMarker(options.redis);
    this.putView = redisScript(options.redis, 'gkPutView', 2, PUT_VIEW);
    this.putAbsent = redisScript(options.redis, 'gkPutAbsent', 2, PUT_ABSENT);
  }

  /** The player's view, at `minVersion` or later when given (read-your-writes after a command reported its version). */
  async read(playerId: string, options: { minVersion?: number } = {}): Promise<PlayerViewRead> {
    const minVersion = options.minVersion ?? 0;
    let redisUp = true;
    try {
      // A connection still being established (a cold start) is worth a short wait; a lost one is not.
      if (this.redis.status === 'wait' || this.redis.status === 'connecting' || this.redis.status === 'connect')
        await redisReady(this.redis, 1000);
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
      redisUp = false;
      this.counts.redisErrors++;
      this.counts.fallbacks++;
      this.warn('player cache unavailable, reading DynamoDB', { playerId, error: String(error) });
    }
    this.counts.misses++;

    let found = await this.load(playerId, redisUp);
    // A flight that started before the caller's command committed may return an older version: read once more.
    if (minVersion > 0 && (found?.version ?? 0) < minVersion) found = await this.load(playerId, redisUp);
    if (!found) return minVersion > 0 ? { status: 'version-not-reached', version: 0 } : { status: 'not-found' };
    if (found.version < minVersion) return { status: 'version-not-reached', version: found.version };
    return { status: 'found', view: found.view, source: 'table' };
  }

  /**
   * Write-through from the projector: 'written', 'stale' when Redis already holds this version or a newer one, or
   * 'unverified' when no floor exists and the view is not `trusted`: the caller then refreshes from the table.
   * A view is trusted when it is known to be at least what the table held when the current epoch began (a stream
   * record created after that, or a strongly consistent read made within the epoch), so after Redis lost its data
   * no view older than what was served before the loss is cached (G5). Throws when Redis fails.
   */
  async put(view: PlayerView, options: { trusted?: boolean } = {}): Promise<PutResult> {
    const result = (await this.putView(
      [viewKey(view.playerId), floorKey(view.playerId)],
      [view.version, JSON.stringify(view), this.jitteredTtl(this.ttlMs), FLOOR_TTL_MS, options.trusted ? '1' : '0'],
    )) as number;
    if (result === 1) this.counts.writes++;
    else if (result === 0) this.counts.staleWritesRefused++;
    return result === 1 ? 'written' : result === 0 ? 'stale' : 'unverified';
  }

  /** Refills a player's view from a strongly consistent read (a write-through that was 'unverified', a rebuild). */
  async refresh(playerId: string): Promise<void> {
    await this.load(playerId, true);
  }

  /**
   * Refills many players' views from one strongly consistent batch read, under the same epoch rule as a miss:
   * the projector's 'unverified' write-throughs of a batch. Throws when Redis fails (the batch is retried).
   */
  async refreshMany(playerIds: readonly string[]): Promise<void> {
    if (playerIds.length === 0) return;
    const epoch = await this.marker.observe();
    const keys = [...new Set(playerIds)].map((id) => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK }));
    this.counts.tableReads += keys.length;
    const items = await this.store.getMany(keys);
    const views = [...items.values()]
      .map((i) => i as unknown as StateItem<PlayerState>)
      .filter((i) => i.state.exists !== false)
      .map(playerViewOf);
    const unverified = (
      await Promise.all(views.map(async (v) => ((await this.put(v)) === 'unverified' ? v : undefined)))
    ).filter((v) => v !== undefined);
    if (unverified.length === 0 || (await this.marker.peek())?.id !== epoch.id) return;
    await Promise.all(unverified.map((v) => this.put(v, { trusted: true })));
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
  private load(playerId: string, redisUp: boolean): Promise<TableRead> {
    const pending = this.inFlight.get(playerId);
    if (pending) return pending;
    const flight = (async (): Promise<TableRead> => {
      // The epoch before the read: a fill may land where no floor exists only if no loss happened since.
      const epoch = redisUp ? await this.marker.observe().catch(() => undefined) : undefined;
      this.counts.tableReads++;
      const item = await this.store.item<StateItem<PlayerState>>({
        pk: entityPk(player.keyPrefix, playerId),
        sk: STATE_SK,
      });
      const found =
        item && item.state.exists !== false ? { version: item.version, view: playerViewOf(item) } : undefined;
      if (epoch) await this.fill(playerId, found, epoch.id);
      return found;
    })().finally(() => this.inFlight.delete(playerId));
    this.inFlight.set(playerId, flight);
    return flight;
  }

  /** Cache-aside fill after a miss; a failure only costs the next read another miss. */
  private async fill(playerId: string, found: TableRead, epochId: string): Promise<void> {
    try {
      if (!found) {
        await this.putAbsent([viewKey(playerId), floorKey(playerId)], [this.jitteredTtl(this.negativeTtlMs)]);
        return;
      }
      if ((await this.put(found.view)) !== 'unverified') return;
      // No floor: the read is current only if Redis did not lose its data while it ran (the epoch is unchanged).
      if ((await this.marker.peek())?.id === epochId) await this.put(found.view, { trusted: true });
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
