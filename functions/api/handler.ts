import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import {
  cacheMetricsRecorder,
  cacheTotalsFlusher,
  readSide,
  type CacheLog,
  type ReadSide,
} from '../../shared/readside/index.js';
import { callerOf } from '../../shared/http/caller.js';
import { json, noRoute } from '../../shared/http/errors.js';
import { routeHandlers, type RouteHandler, type RouteKeyOf } from '../../shared/http/routes.js';
import httpRouterHandler from '@middy/http-router';
import { httpErrors, invocationMetrics } from '../../shared/http/middleware.js';
import { refuseBannedPlayers } from '../../shared/http/banApi.js';
import { dynamoDbClient } from '../../shared/clients.js';
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
  const channel = { store, queue: commandQueue(config, deps), now: () => new Date() };
  const log: CacheLog = { warn: (message, details) => logger.warn(message, details ?? {}) };
  const side = deps.readSide ?? (config.redisUrl ? readSide(config, { store, log }) : undefined);
  const views = side ?? tablePlayerViews(store);
  const document = openApiDocument();

  const route: Record<RouteKeyOf<'api'>, RouteHandler> = {
    'GET /v1/health': async () => json(200, { status: 'ok' }),
    'GET /v1/openapi.json': async () => json(200, document),
    'POST /v1/players': (event) => createPlayer(channel, event, callerOf(event, config)),
    'POST /v1/players/{playerId}/commands': (event) => submitCommand(channel, event, callerOf(event, config)),
    'GET /v1/commands/{commandId}': (event) => getCommand(store, event, callerOf(event, config)),
    'GET /v1/players/{playerId}': (event) => getPlayer(views, event, callerOf(event, config)),
    'GET /v1/players/{playerId}/events': (event) => getPlayerEvents(store, event, callerOf(event, config)),
    'GET /v1/leaderboards/{board}': (event) => getLeaderboard(side, event, callerOf(event, config), log),
    'GET /v1/admin/stats': (event) => getStats(side, event, callerOf(event, config), channel.queue),
  };

  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(
    httpRouterHandler({ routes: routeHandlers('api', route), notFoundResponse: noRoute }),
  )
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger))
    // A banned player's own calls stop here, before any route reads or writes (shared/http/banApi.ts).
    .use(refuseBannedPlayers(deps.db ?? dynamoDbClient(config), config));
  // Cache hits, misses and fallbacks of each invocation, flushed as CloudWatch metrics (EMF) by logMetrics.
  if (side) {
    handler.use(logMetrics(metrics)).use(
      invocationMetrics(
        metrics,
        cacheMetricsRecorder(() => side.cacheStats()),
      ),
    );
    // And into Redis, where GET /v1/admin/stats sums every instance's counts.
    const flush = cacheTotalsFlusher(() => side.cacheStats(), side.redis);
    handler.use({ after: flush, onError: flush });
  }
  return handler.use(httpErrors(logger));
}
