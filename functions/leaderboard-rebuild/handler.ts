import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { Redis } from 'ioredis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { EventStore } from '../../shared/persistence/eventStore.js';
import { invokeSelfAsync } from '../../shared/selfInvocation.js';
import { readSide, redisReady } from '../../shared/readside/index.js';
import { rebuildReadSide, type RebuildOptions, type RebuildReport } from '../../shared/readside/rebuild.js';

/** An operator's invocation (`{}` starts a run; `{"resume": true}` resumes the run under way), or a continuation naming its run. */
export type LeaderboardRebuildInput = { readonly runId?: string; readonly resume?: boolean } | null | undefined;

export interface LeaderboardRebuildClients extends Omit<RebuildOptions, 'runId' | 'resume'> {
  readonly redis?: Redis;
  readonly db?: DynamoDBDocumentClient;
  /** Re-invokes this function asynchronously with `{runId}` when the time budget runs low. */
  readonly continueRun?: (input: { runId: string }, context: Context) => Promise<void>;
}

/**
 * Rebuilds the read side (cached views and every leaderboard) from the table: an operator's invocation, or after
 * a cache node was replaced. Safe while the projector runs (both write under the same guards); checkpointed, so it
 * continues itself until done and a later invocation resumes a run that died.
 */
export function createLeaderboardRebuildHandler(config: Config, clients: LeaderboardRebuildClients = {}) {
  const logger = new Logger({ serviceName: 'leaderboard-rebuild' });
  const { redis: givenRedis, db: givenDb, continueRun: givenContinuation, ...options } = clients;
  const continueRun = givenContinuation ?? invokeSelfAsync;
  return middy(async (event: LeaderboardRebuildInput, context: Context): Promise<RebuildReport> => {
    if (!givenRedis && !config.redisUrl) throw new Error('REDIS_URL is not set');
    const db = givenDb ?? dynamoDbClient(config);
    // The read side's own client: on AWS it authenticates with the cache secret.
    const side = readSide(config, {
      store: new EventStore(db, config.tableName),
      ...(givenRedis ? { redis: givenRedis } : {}),
    });
    try {
      if (!(await redisReady(side.redis, 5000))) throw new Error('Redis is unreachable');
      const report = await rebuildReadSide(
        {
          db,
          tableName: config.tableName,
          redis: side.redis,
          cache: side.cache,
          leaderboards: side.leaderboards,
          marker: side.marker,
          ...(config.leaderboardRetentionDays !== undefined ? { retentionDays: config.leaderboardRetentionDays } : {}),
        },
        () => context.getRemainingTimeInMillis(),
        { ...options, ...(event?.runId ? { runId: event.runId } : {}), ...(event?.resume ? { resume: true } : {}) },
      );
      logger.info('read side rebuild', { ...report });
      if (report.status === 'continue') await continueRun({ runId: report.runId }, context);
      return report;
    } finally {
      await side.close();
      if (!givenDb) db.destroy();
    }
  }).use(injectLambdaContext(logger));
}
