import { Redis } from 'ioredis';

export interface RedisCredentials {
  readonly username?: string;
  readonly password: string;
}

/**
 * A Redis connection tuned for a cache that must never stall a read: commands fail fast while the server is
 * unreachable (the caller falls back to DynamoDB) and the client keeps reconnecting in the background.
 * With `credentials` (on AWS, read from Secrets Manager) it connects once they arrive; until then reads
 * fall back as if Redis were down.
 */
export function redisClient(url: string, credentials?: () => Promise<RedisCredentials>): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    // No auto-pipelining: when the connection drops mid-pipeline, ioredis (5.x, autoPipelining.js) may get fewer
    // results than callbacks and throw an uncaught TypeError outside any caller (seen when the heal test killed
    // Redis): a process crash, where a lost connection must only fail commands. Commands still share the socket.
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    lazyConnect: credentials !== undefined,
  });
  // Connection errors surface as failed commands; the 'error' event only needs a listener so Node does not throw.
  redis.on('error', () => undefined);
  if (credentials) void connectWith(redis, credentials);
  return redis;
}

async function connectWith(redis: Redis, credentials: () => Promise<RedisCredentials>): Promise<void> {
  for (let attempt = 1; redis.status === 'wait'; attempt++) {
    try {
      const c = await credentials();
      // ioredis reads these on every (re)connect.
      redis.options.username = c.username;
      redis.options.password = c.password;
      await redis.connect();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
    }
  }
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

/** A Lua script bound to one client: sent in full once per connection, then by SHA (EVALSHA, ioredis `defineCommand`). */
export type RedisScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

const defined = new WeakMap<Redis, Set<string>>();

export function redisScript(redis: Redis, name: string, numberOfKeys: number, lua: string): RedisScript {
  const names = defined.get(redis) ?? new Set<string>();
  defined.set(redis, names);
  if (!names.has(name)) {
    redis.defineCommand(name, { numberOfKeys, lua });
    names.add(name);
  }
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name]!.bind(
    redis,
  );
  return (keys, args) => {
    if (keys.length !== numberOfKeys) throw new Error(`script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
    return command(...keys, ...args);
  };
}
