import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisScript, type RedisScript } from './redisClient.js';

/**
 * The read side's dataset marker: one hash in Redis, beside the data, that says which epoch the data belongs to
 * and whether it is complete. Redis that restarted empty, failed over to a replica that lost writes, or evicted
 * the marker has no marker (or an older tick): the data is then treated as lost, a new epoch opens, and the
 * projector rebuilds it while traffic flows. Leaderboard reads say `rebuilding` until the epoch is complete.
 */
export interface Epoch {
  /** A random id per epoch: a rebuild completes only the epoch it was started for. */
  readonly id: string;
  /** When the epoch opened (ms): stream records created later are newer than anything served before it. */
  readonly since: number;
  readonly state: 'rebuilding' | 'complete';
  /** Until when (ms) a healer holds the rebuild of this epoch; 0 when nobody does. */
  readonly lease: number;
  /** Increases on every projector batch; a value lower than one already seen means Redis went back in time. */
  readonly tick: number;
  /** True when this call opened the epoch (the data was found missing). */
  readonly opened: boolean;
}

// Versioned: a deployment that changes what the data means (v2: per-period gain hashes) heals into the new model.
export const MARKER_KEY = 'gk:readside:v2';

/** Returns the marker, opening a new epoch (rebuilding) when there is none; `tick` is incremented when ARGV[4] is '1'. */
const OBSERVE = `
local opened = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'since', ARGV[2], 'state', 'rebuilding', 'lease', '0', 'tick', '0')
  opened = 1
end
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'tick', 1) end
local m = redis.call('HMGET', KEYS[1], 'id', 'since', 'state', 'lease', 'tick')
return {m[1], m[2], m[3], m[4], m[5], opened}`;

/** Takes the rebuild of an epoch for `ARGV[3]` ms, if it is still rebuilding and nobody holds it (or renews one's own hold). */
const CLAIM = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'rebuilding' then return 0 end
if ARGV[4] ~= '1' and tonumber(redis.call('HGET', KEYS[1], 'lease') or '0') > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'lease', tostring(tonumber(ARGV[2]) + tonumber(ARGV[3])))
return 1`;

/** Marks an epoch complete, unless the data was lost again meanwhile (another epoch). */
const COMPLETE = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'complete', 'lease', '0', 'completedAt', ARGV[2])
return 1`;

/** Replaces the epoch seen (Redis went back in time): a new id, since now, rebuilding. */
/** The data of an epoch is incomplete but not lost (records the event source gave up on): a new id, same since, rebuilding. */
const INVALIDATE = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'state', 'rebuilding', 'lease', '0')
return 1`;

const REOPEN = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'since', ARGV[3], 'state', 'rebuilding', 'lease', '0', 'tick', ARGV[4])
return 1`;

export class DatasetMarker {
  private readonly observeScript: RedisScript;
  private readonly claimScript: RedisScript;
  private readonly completeScript: RedisScript;
  private readonly reopenScript: RedisScript;
  private readonly invalidateScript: RedisScript;
  /** The highest tick this process saw per epoch: Redis answering a lower one lost writes. */
  private readonly seenTick = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly clock: () => number = Date.now,
  ) {
    this.observeScript = redisScript(redis, 'gkObserveEpoch', 1, OBSERVE);
    this.claimScript = redisScript(redis, 'gkClaimEpoch', 1, CLAIM);
    this.completeScript = redisScript(redis, 'gkCompleteEpoch', 1, COMPLETE);
    this.reopenScript = redisScript(redis, 'gkReopenEpoch', 1, REOPEN);
    this.invalidateScript = redisScript(redis, 'gkInvalidateEpoch', 1, INVALIDATE);
  }

  /**
   * The current epoch, opening one when the marker is missing. With `tick` (the projector, once per batch) the
   * watermark advances, and a watermark below one this process already saw reopens the epoch: the data went back.
   */
  async observe(options: { tick?: boolean } = {}): Promise<Epoch> {
    const raw = (await this.observeScript([MARKER_KEY], [randomUUID(), this.clock(), options.tick ? '1' : '0'])) as (
      | string
      | number
      | null
    )[];
    const epoch = epochOf(raw);
    const seen = this.seenTick.get(epoch.id);
    if (options.tick && seen !== undefined && epoch.tick <= seen) {
      const reopened = await this.reopen(epoch.id, seen + 1);
      return reopened ?? this.observe(options);
    }
    if (options.tick) this.seenTick.set(epoch.id, epoch.tick);
    return epoch;
  }

  /** The current epoch without opening one: undefined when the marker is missing. */
  async peek(): Promise<Omit<Epoch, 'opened'> | undefined> {
    const [id, since, state, lease, tick] = await this.redis.hmget(MARKER_KEY, 'id', 'since', 'state', 'lease', 'tick');
    if (!id) return undefined;
    return {
      id,
      since: Number(since),
      state: state === 'complete' ? 'complete' : 'rebuilding',
      lease: Number(lease ?? 0),
      tick: Number(tick ?? 0),
    };
  }

  /** Takes (or, with `renew`, extends) the rebuild of an epoch for `leaseMs`; false when someone else holds it or it is done. */
  async claim(epochId: string, leaseMs: number, options: { renew?: boolean } = {}): Promise<boolean> {
    return (await this.claimScript([MARKER_KEY], [epochId, this.clock(), leaseMs, options.renew ? '1' : '0'])) === 1;
  }

  async complete(epochId: string): Promise<boolean> {
    return (await this.completeScript([MARKER_KEY], [epochId, this.clock()])) === 1;
  }

  /**
   * Declares the data of the current epoch incomplete though nothing was lost (stream records the event source
   * gave up on): it gets a new id, so a heal under way cannot complete it, and is healed again.
   */
  async invalidate(): Promise<boolean> {
    const current = await this.peek();
    if (!current) return false; // missing: the next observer opens an epoch anyway
    return (await this.invalidateScript([MARKER_KEY], [current.id, randomUUID()])) === 1;
  }

  /** Redis went back in time under this epoch (a failover that lost writes): a new epoch opens, since now, rebuilding. */
  async reopen(epochId: string, tick = 0): Promise<Epoch | undefined> {
    const id = randomUUID();
    const since = this.clock();
    if ((await this.reopenScript([MARKER_KEY], [epochId, id, since, tick])) !== 1) return undefined;
    this.seenTick.set(id, tick);
    return { id, since, state: 'rebuilding', lease: 0, tick, opened: true };
  }
}

function epochOf(raw: (string | number | null)[]): Epoch {
  const [id, since, state, lease, tick, opened] = raw;
  return {
    id: String(id),
    since: Number(since),
    state: state === 'complete' ? 'complete' : 'rebuilding',
    lease: Number(lease ?? 0),
    tick: Number(tick ?? 0),
    opened: Number(opened) === 1,
  };
}

/**
 * One step of the rebuild that heals an epoch (the read-side rebuild driver, shared/readside/rebuild.ts): `done`,
 * or not yet (its time ran out) with the run to continue in the next step.
 */
export type RebuildStep = () => Promise<{ readonly done: boolean; readonly runId: string }>;

export interface HealOptions {
  readonly marker: DatasetMarker;
  readonly rebuild: RebuildStep;
  /** How long a healer holds an epoch before another may take over (renewed while it runs). */
  readonly leaseMs?: number;
  readonly log?: {
    warn(message: string, details?: Record<string, unknown>): void;
    info?(message: string, details?: Record<string, unknown>): void;
  };
}

export const DEFAULT_LEASE_MS = 60_000;

/** What one heal step came to: the epoch complete, a run to continue, or nothing to do (done, lost again, or failed). */
export type HealOutcome =
  | { readonly status: 'completed' }
  | { readonly status: 'continue'; readonly runId: string }
  | { readonly status: 'abandoned'; readonly reason: string };

/**
 * Runs one step of the heal of an epoch: holds the lease while it runs (renewed every third of it) and marks the
 * epoch complete when the rebuild is done, unless the data was lost again meanwhile (another epoch). A step whose
 * time ran out keeps the lease and says which run to continue.
 */
export async function healEpoch(epochId: string, options: HealOptions): Promise<HealOutcome> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const { marker } = options;
  // The trigger took the lease; renewing it here also covers a continuation on another instance.
  if (!(await marker.claim(epochId, leaseMs, { renew: true })))
    return { status: 'abandoned', reason: 'the epoch is complete or was replaced' };
  const renewal = setInterval(
    () => void marker.claim(epochId, leaseMs, { renew: true }).catch(() => undefined),
    Math.max(1000, leaseMs / 3),
  );
  try {
    const started = Date.now();
    const step = await options.rebuild();
    if (!step.done) return { status: 'continue', runId: step.runId };
    const completed = await marker.complete(epochId);
    options.log?.info?.('read side healed', { epoch: epochId, completed, ms: Date.now() - started, runId: step.runId });
    return completed
      ? { status: 'completed' }
      : { status: 'abandoned', reason: 'the data was lost again during the heal' };
  } catch (error) {
    // The lease runs out and the next projector batch takes the heal over.
    options.log?.warn('read side heal failed; it is taken over when the lease ends', {
      epoch: epochId,
      error: String(error),
    });
    return { status: 'abandoned', reason: String(error) };
  } finally {
    clearInterval(renewal);
  }
}

/**
 * Whether the caller should start a heal for what it observed: an epoch still rebuilding whose lease is free.
 * Taking the lease is atomic, so of all the projector instances that notice, one triggers.
 */
export async function claimHeal(
  marker: DatasetMarker,
  epoch: Epoch,
  leaseMs = DEFAULT_LEASE_MS,
  now = Date.now(),
): Promise<boolean> {
  if (epoch.state === 'complete' || epoch.lease > now) return false;
  return marker.claim(epoch.id, leaseMs);
}
