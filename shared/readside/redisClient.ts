import { Redis } from 'ioredis';

/**
 * A Redis connection tuned for a cache that must never stall a read: commands fail fast while the server is
 * unreachable (the caller falls back to DynamoDB) and the client keeps reconnecting in the background.
 */
export function redisClient(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  // Connection errors surface as failed commands; the 'error' event only needs a listener so Node does not throw.
  redis.on('error', () => undefined);
  return redis;
}

/** Waits (briefly) for a connection that is still being established, so a cold start does not read around the cache. */
export async function redisReady(redis: Redis, timeoutMs = 2000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  if (redis.status === 'end') return false;
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
  });
}
