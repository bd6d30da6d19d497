import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { CacheStats } from './playerCache.js';

/**
 * Adds what the cache counted since the previous call to a Powertools Metrics instance (one call per invocation
 * of the API Lambda, before its metrics are flushed): hits, misses, fallbacks to DynamoDB, Redis errors, and the
 * hit ratio of the process so far. CloudWatch sums the counts across instances.
 */
export function cacheMetricsRecorder(stats: () => CacheStats): (metrics: Metrics) => void {
  let last = stats();
  return (metrics) => {
    const now = stats();
    const delta = (k: 'hits' | 'misses' | 'fallbacks' | 'redisErrors' | 'tableReads'): number => now[k] - last[k];
    metrics.addMetric('player_cache_hits', MetricUnit.Count, delta('hits'));
    metrics.addMetric('player_cache_misses', MetricUnit.Count, delta('misses'));
    metrics.addMetric('player_cache_fallbacks', MetricUnit.Count, delta('fallbacks'));
    metrics.addMetric('player_cache_redis_errors', MetricUnit.Count, delta('redisErrors'));
    metrics.addMetric('player_table_reads', MetricUnit.Count, delta('tableReads'));
    metrics.addMetric('player_cache_hit_ratio', MetricUnit.Percent, now.hitRatio * 100);
    last = now;
  };
}
