import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Redis } from 'ioredis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { eventStore } from '../../shared/gamekeep.js';
import { redisClient, redisReady } from '../../shared/readside/redisClient.js';
import { rebuildLeaderboards, type RebuildReport } from '../../shared/readside/rebuild.js';

/**
 * Rebuilds every leaderboard from the table (an operator's invocation, or after a cache node was replaced). Safe
 * while the projector runs: both write under the same version guard.
 */
export function createLeaderboardRebuildHandler(config: Config, clients: { redis?: Redis; db?: DynamoDBDocumentClient } = {}) {
  const logger = new Logger({ serviceName: 'leaderboard-rebuild' });
  return middy(async (): Promise<RebuildReport> => {
    if (!clients.redis && !config.redisUrl) throw new Error('REDIS_URL is not set');
    const redis = clients.redis ?? redisClient(config.redisUrl!);
    const db = clients.db ?? dynamoDbClient(config);
    try {
      if (!(await redisReady(redis, 5000))) throw new Error('Redis is unreachable');
      const report = await rebuildLeaderboards({ db, store: eventStore(config, { db }), redis, ...(config.leaderboardRetentionDays !== undefined ? { retentionDays: config.leaderboardRetentionDays } : {}) });
      logger.info('leaderboards rebuilt', { ...report });
      return report;
    } finally {
      if (!clients.redis) redis.disconnect();
      if (!clients.db) db.destroy();
    }
  }).use(injectLambdaContext(logger));
}
