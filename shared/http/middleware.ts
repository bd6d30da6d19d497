import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { errorResponse, HttpError } from './errors.js';

interface Log {
  error(message: string, ...extra: unknown[]): void;
}

/**
 * Turns an HttpError into its `{"error": {code, message}}` answer, and anything else into a 500 that names no
 * internals (the log gets the detail). Every HTTP function ends its middy chain with it.
 */
export function httpErrors(log: Log): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const error = request.error;
      if (error instanceof HttpError) {
        request.response = errorResponse(error.statusCode, error.code, error.message);
        return;
      }
      log.error('unhandled error', {
        error:
          error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      });
      request.response = errorResponse(500, 'INTERNAL', 'internal error');
    },
  };
}

/**
 * Adds what `record` measured during the invocation (the player cache's counters) to `metrics`, answer or error;
 * `.use` it after Powertools' `logMetrics`, whose flush then runs after it.
 */
export function invocationMetrics(
  metrics: Metrics,
  record: (metrics: Metrics) => void,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const add = (): void => record(metrics);
  return { after: add, onError: add };
}
