import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import { reconcileOpenPayments, type ReconciliationReport } from '../../shared/payments/reconciler.js';

export interface PaymentReconcilerOptions extends Clients {
  /** How long a queued credit may go without an outcome before it is sent again (default 2 minutes). */
  readonly resendAfterMs?: number;
}

/**
 * The payment reconciler, on a schedule: credits that have an outcome get their status, credits without one are
 * sent again, unmatched payments whose player appeared are credited. Disputed ones it counts and leaves to operators.
 */
export function createPaymentReconcilerHandler(config: Config, options: PaymentReconcilerOptions = {}) {
  const logger = new Logger({ serviceName: 'payment-reconciler' });
  const db = options.db ?? dynamoDbClient(config);
  const deps = {
    db,
    tableName: config.tableName,
    store: eventStore(config, { ...options, db }),
    queue: commandQueue(config, options),
    now: () => new Date(),
  };

  return middy(async (_event: unknown, context: Context): Promise<ReconciliationReport> => {
    const report = await reconcileOpenPayments(deps, {
      ...(options.resendAfterMs !== undefined ? { resendAfterMs: options.resendAfterMs } : {}),
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    // The dashboard and the alarm read these lines (disputed payments wait for an operator).
    logger.info('payment reconciliation', { ...report });
    return report;
  }).use(injectLambdaContext(logger));
}
