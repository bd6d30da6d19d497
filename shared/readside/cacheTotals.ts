import type { Redis } from 'ioredis';
import type { CacheStats } from './playerCache.js';

/** Where every API instance adds what its cache counted, so the stats route can answer for the whole system. */
const TOTALS_KEY = 'gk:stats:cache';
const COUNTERS = ['hits', 'misses', 'tableReads', 'fallbacks', 'redisErrors', 'writes', 'staleWritesRefused'] as const;

/**
 * Adds this instance's counts since its last successful flush to the system totals in Redis (one pipelined
 * HINCRBY per changed counter). A failed flush (Redis down) keeps the counts for the next one, so none is lost
 * or added twice; the counts a failed flush leaves behind are only late.
 */
export function cacheTotalsFlusher(stats: () => CacheStats, redis: Redis, minIntervalMs = 1000): () => Promise<void> {
  let flushed = stats();
  let lastAt = 0;
  return async () => {
    // At most one flush a second per instance, so the totals key never becomes a hot key.
    if (Date.now() - lastAt < minIntervalMs) return;
    lastAt = Date.now();
    const now = stats();
    const changed = COUNTERS.filter((k) => now[k] !== flushed[k]);
    if (changed.length === 0) return;
    const pipeline = redis.pipeline();
    for (const k of changed) pipeline.hincrby(TOTALS_KEY, k, now[k] - flushed[k]);
    try {
      const results = (await pipeline.exec()) ?? [];
      if (results.some(([error]) => error)) return;
      flushed = now;
    } catch {
      // Redis unreachable: the fallback is already counted and logged by the cache; the counts wait for the next flush.
    }
  };
}

/** The totals every instance flushed, or undefined when Redis cannot be read. */
export async function cacheTotals(redis: Redis): Promise<CacheStats | undefined> {
  try {
    const raw = await redis.hgetall(TOTALS_KEY);
    const n = (k: (typeof COUNTERS)[number]): number => Number(raw[k] ?? 0);
    const hits = n('hits');
    const misses = n('misses');
    return {
      hits,
      misses,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      tableReads: n('tableReads'),
      fallbacks: n('fallbacks'),
      redisErrors: n('redisErrors'),
      writes: n('writes'),
      staleWritesRefused: n('staleWritesRefused'),
    };
  } catch {
    return undefined;
  }
}
