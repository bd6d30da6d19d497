import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient, sqsClient } from '../../shared/clients.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import { CommandQueue } from '../../shared/messaging/commandQueue.js';
import { callerOf } from '../../shared/http/caller.js';
import { notFound } from '../../shared/http/errors.js';
import { httpErrors } from '../../shared/http/middleware.js';
import { adjustBalance, creditPayment, dismissPayment, getPayment, listOpenPayments, reconcilePayments, triggerRewardRun } from '../../shared/http/adminApi.js';
import { reconcileOpenPayments } from '../../shared/payments/reconciler.js';
import { runDailyRewards, type RunOptions } from '../../shared/rewards/dailyRewards.js';

/** Longest a manual reward run works inside one request: below API Gateway's 30 s integration timeout. */
const REQUEST_BUDGET_MS = 25_000;

/** The operators' function (internal API, IAM): balance adjustments, open payments and their resolution, manual reward runs. */
export function createAdminApiHandler(config: Config, clients: Clients & RunOptions = {}) {
  const logger = new Logger({ serviceName: 'admin-api' });
  const db = clients.db ?? dynamoDbClient(config);
  const store = eventStore(config, { ...clients, db });
  const gateway = { store, queue: commandQueue(config, clients), now: () => new Date() };
  const paymentDesk = { db, tableName: config.tableName, store, queue: gateway.queue, now: () => new Date() };
  const rewardDesk = { db, tableName: config.tableName, queue: new CommandQueue(clients.sqs ?? sqsClient(config), config.queueUrl!, 16), now: () => new Date() };

  return middy(async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const caller = callerOf(event, config);
    switch (event.routeKey) {
      case 'POST /v1/admin/players/{playerId}/adjustments':
        return adjustBalance(gateway, event, caller);
      case 'GET /v1/admin/payments/unmatched':
        return listOpenPayments(paymentDesk, 'unmatched', event, caller);
      case 'GET /v1/admin/payments/disputed':
        return listOpenPayments(paymentDesk, 'disputed', event, caller);
      case 'GET /v1/admin/payments/queued':
        return listOpenPayments(paymentDesk, 'queued', event, caller);
      case 'GET /v1/admin/payments/{provider}/{orderId}':
        return getPayment(paymentDesk, event, caller);
      case 'POST /v1/admin/payments/{provider}/{orderId}/credit':
        return creditPayment(paymentDesk, event, caller);
      case 'POST /v1/admin/payments/{provider}/{orderId}/dismiss':
        return dismissPayment(paymentDesk, event, caller);
      case 'POST /v1/admin/payments/reconciliations': {
        const budget = Math.min(REQUEST_BUDGET_MS, context.getRemainingTimeInMillis());
        const started = Date.now();
        // By hand an operator wants every credit without an outcome re-sent now, not after the scheduled grace.
        return reconcilePayments(() => reconcileOpenPayments(paymentDesk, { resendAfterMs: 0, remainingMs: () => budget - (Date.now() - started) }), event, caller);
      }
      case 'POST /v1/admin/rewards/runs': {
        const started = Date.now();
        const budget = Math.min(REQUEST_BUDGET_MS, context.getRemainingTimeInMillis());
        // The run resumes at its checkpoint, so a 202 means "call again (or let the schedule finish it)".
        const remaining = () => budget - (Date.now() - started);
        return triggerRewardRun((date) => runDailyRewards(rewardDesk, date, remaining, { reserveMs: 5_000, ...clients }), event, caller, () => new Date());
      }
      default:
        throw notFound('NOT_FOUND', `no route ${event.routeKey}`);
    }
  })
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger))
    .use(httpErrors(logger));
}
