import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { EventStore } from '../persistence/eventStore.js';
import { PlayerCache, type CacheLog, type CacheStats, type PlayerViewRead } from './playerCache.js';
import { Leaderboards, type BoardName, type LeaderboardPage, type PageRequest } from './leaderboards.js';
import { Projector } from './projector.js';
import { DatasetMarker } from './heal.js';
import { redisClient, type RedisCredentials } from './redisClient.js';
import { secretJson } from '../secretsManager.js';

/** The read side of one process: the player-view cache, the leaderboards and the stream projector, on one Redis. */
export interface ReadSide {
  readonly redis: Redis;
  readonly cache: PlayerCache;
  readonly leaderboards: Leaderboards;
  readonly projector: Projector;
  /** The epoch and completeness of the data in Redis (the self-heal after Redis lost it). */
  readonly marker: DatasetMarker;
  /** `GET /v1/players/{id}?minVersion=N`: never an older version than asked for, never an error because of Redis. */
  readPlayerView(playerId: string, options?: { minVersion?: number }): Promise<PlayerViewRead>;
  /**
   * `GET /v1/leaderboards/{board}?period=&limit=&around=`, with `rebuilding: true` while the data Redis lost is
   * being rebuilt (throws when Redis is unreachable: leaderboards live only there).
   */
  leaderboardPage(board: BoardName, request?: PageRequest): Promise<LeaderboardRead>;
  /** Hit and miss counters and the hit ratio of this process (`GET /v1/admin/stats`). */
  cacheStats(): CacheStats;
  close(): Promise<void>;
}

/** A leaderboard page and whether the boards are complete: a board read while they are rebuilt may be partial. */
export type LeaderboardRead = LeaderboardPage & { readonly rebuilding: boolean };

export interface ReadSideClients {
  /** The table the cache falls back to and fills from. */
  readonly store: EventStore;
  readonly redis?: Redis;
  /** Where the cache's credentials come from; by default the secret named by GAMEKEEP_REDIS_SECRET_ARN, if any. */
  readonly redisCredentials?: () => Promise<RedisCredentials>;
  readonly log?: CacheLog;
}

export function readSide(config: Config, clients: ReadSideClients): ReadSide {
  const redisUrl = config.redisUrl;
  if (!clients.redis && !redisUrl) throw new Error('REDIS_URL is not set');
  const credentials =
    clients.redisCredentials ?? (config.redisSecretArn ? credentialsFromSecret(config.redisSecretArn) : undefined);
  const redis = clients.redis ?? redisClient(redisUrl!, credentials);
  const marker = new DatasetMarker(redis);
  const cache = new PlayerCache({
    redis,
    marker,
    store: clients.store,
    ...(config.viewTtlSeconds !== undefined ? { ttlSeconds: config.viewTtlSeconds } : {}),
    ...(clients.log ? { log: clients.log } : {}),
  });
  const leaderboards = new Leaderboards(
    redis,
    config.leaderboardRetentionDays !== undefined ? { retentionDays: config.leaderboardRetentionDays } : {},
  );
  return {
    redis,
    cache,
    leaderboards,
    projector: new Projector(cache, leaderboards, marker, redis),
    marker,
    readPlayerView: (playerId, options) => cache.read(playerId, options),
    async leaderboardPage(board, request) {
      // Observing also opens an epoch when the marker is gone, so the projector's next batch starts the heal.
      const [page, epoch] = await Promise.all([leaderboards.page(board, request), marker.observe()]);
      return { ...page, rebuilding: epoch.state !== 'complete' };
    },
    cacheStats: () => cache.stats(),
    async close() {
      if (!clients.redis) redis.disconnect();
    },
  };
}

export { PlayerCache, type PlayerViewRead, type CacheStats, type CacheLog } from './playerCache.js';
export {
  Leaderboards,
  boardNames,
  isBoardName,
  isPeriodic,
  isPeriodFor,
  periodOf,
  type BoardName,
  type LeaderboardPage,
  type LeaderboardEntry,
  type PageRequest,
} from './leaderboards.js';
export { Projector, type ProjectionReport } from './projector.js';
export { DatasetMarker, healEpoch, claimHeal, MARKER_KEY, type Epoch } from './heal.js';
export { restorePlayer, type PlayerRestore } from './playerRestore.js';
export { playerViewOf, type PlayerView } from './playerView.js';
export { playerStatistics, type PlayerStatistics } from './statistics.js';
export { redisClient, redisReady, type RedisCredentials } from './redisClient.js';

const redisSecret = z.object({ username: z.string().min(1).optional(), password: z.string().min(1) });

/** Read at every (re)connect, never from a cache: after a rotation the next connection uses the new password. */
function credentialsFromSecret(arn: string): () => Promise<RedisCredentials> {
  return async () => redisSecret.parse(await secretJson(arn, { fresh: true }));
}
export { cacheMetricsRecorder } from './cacheMetrics.js';
export { cacheTotals, cacheTotalsFlusher } from './cacheTotals.js';
export { pipelineFigures, type PipelineFigures } from './pipelineFigures.js';
