import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import { callerOf } from '../../shared/http/caller.js';
import { json, notFound } from '../../shared/http/errors.js';
import { httpErrors } from '../../shared/http/middleware.js';
import { openApiDocument } from '../../shared/http/openapi.js';
import { createPlayer, getCommand, getPlayer, getPlayerEvents, submitCommand } from '../../shared/http/playerApi.js';

/** The API function: players, commands, status, views, audit trail, health and the OpenAPI document. */
export function createApiHandler(config: Config, clients: Clients = {}) {
  const logger = new Logger({ serviceName: 'api' });
  const store = eventStore(config, clients);
  const gateway = { store, queue: commandQueue(config, clients), now: () => new Date() };
  const document = openApiDocument();

  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
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
        return getPlayer(store, event, caller);
      case 'GET /v1/players/{playerId}/events':
        return getPlayerEvents(store, event, caller);
      default:
        throw notFound('NOT_FOUND', `no route ${event.routeKey}`);
    }
  })
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger))
    .use(httpErrors(logger));
}
