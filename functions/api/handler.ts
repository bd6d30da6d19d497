import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import { cacheMetricsRecorder, readSide, type CacheLog, type ReadSide } from '../../shared/readside/index.js';
import { callerOf } from '../../shared/http/caller.js';
import { json, notFound } from '../../shared/http/errors.js';
import { httpErrors, invocationMetrics } from '../../shared/http/middleware.js';
import { openApiDocument } from '../../shared/http/openapi.js';
import { createPlayer, getCommand, getPlayerEvents, submitCommand } from '../../shared/http/playerApi.js';
import { getLeaderboard, getPlayer, getStats, tablePlayerViews } from '../../shared/http/readApi.js';

export interface ApiDependencies extends Clients {
  /**
   * The read side (player-view cache, leaderboards). Made from `config.redisUrl` when not given; without either,
   * player reads are strongly consistent DynamoDB reads and leaderboards answer 503.
   */
  readonly readSide?: ReadSide;
}

/** The API function: players, commands, status, views, audit trail, leaderboards, cache stats, health and the OpenAPI document. */
export function createApiHandler(config: Config, deps: ApiDependencies = {}) {
  const logger = new Logger({ serviceName: 'api' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'api' });
  const store = eventStore(config, deps);
  const gateway = { store, queue: commandQueue(config, deps), now: () => new Date() };
  const log: CacheLog = { warn: (message, details) => logger.warn(message, details ?? {}) };
  const side = deps.readSide ?? (config.redisUrl ? readSide(config, { ...(deps.db ? { db: deps.db } : {}), log }) : undefined);
  const views = side ?? tablePlayerViews(store);
  const document = openApiDocument();

  const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    switch (event.routeKey) {
      case 'GET /v1/health':
        return json(200, { status: 'ok' });
      case 'GET /v1/openapi.json':
        return json(200, document);
    }
    const caller = callerOf(event, config);
    switch (event.routeKey) {
      case 'POST /v1/players':
        return createPlayer(gateway, event, caller);
      case 'POST /v1/players/{playerId}/commands':
        return submitCommand(gateway, event, caller);
      case 'GET /v1/commands/{commandId}':
        return getCommand(store, event, caller);
      case 'GET /v1/players/{playerId}':
        return getPlayer(views, event, caller);
      case 'GET /v1/players/{playerId}/events':
        return getPlayerEvents(store, event, caller);
      case 'GET /v1/leaderboards/{board}':
        return getLeaderboard(side, event, caller, log);
      case 'GET /v1/admin/stats':
        return getStats(side, event, caller);
      default:
        throw notFound('NOT_FOUND', `no route ${event.routeKey}`);
    }
  })
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger));
  // Cache hits, misses and fallbacks of each invocation, flushed as CloudWatch metrics (EMF) by logMetrics.
  if (side) handler.use(logMetrics(metrics)).use(invocationMetrics(metrics, cacheMetricsRecorder(() => side.cacheStats())));
  return handler.use(httpErrors(logger));
}
