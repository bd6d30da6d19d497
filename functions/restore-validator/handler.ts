import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BackupClient } from '@aws-sdk/client-backup';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { invokeSelfAsync } from '../../shared/selfInvocation.js';
import {
  restoreTestOf,
  validateRestore,
  type RestoreJobStateChange,
  type RestoreTest,
  type RestoreValidation,
  type RestoreValidationDeps,
} from '../../shared/backup/restoreValidation.js';

/** The EventBridge event of a completed restore test, or the validator's own continuation of a long check. */
export type RestoreValidatorInput = RestoreJobStateChange | { readonly continuation: RestoreTest };

export interface RestoreValidatorClients {
  readonly db?: DynamoDBDocumentClient;
  readonly backup?: BackupClient;
  readonly continueRun?: (input: { continuation: RestoreTest }, context: Context) => Promise<void>;
  /** Time kept back from each invocation for recording and continuing (default 20 s). */
  readonly reserveMs?: number;
  readonly checkOptions?: RestoreValidationDeps['checkOptions'];
}

/**
 * AWS Backup restore testing's validation: the consistency checker over the restored table, the verdict reported
 * to AWS Backup (shared/backup/restoreValidation.ts) and counted (`RestoreValidationFailed` is alarmed).
 */
export function createRestoreValidatorHandler(config: Config, clients: RestoreValidatorClients = {}) {
  const logger = new Logger({ serviceName: 'restore-validator' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'restore-validator' });
  const continueRun = clients.continueRun ?? invokeSelfAsync;
  const db = clients.db ?? dynamoDbClient(config);
  const backup = clients.backup ?? new BackupClient({ region: config.region });
  return middy(async (event: RestoreValidatorInput, context: Context): Promise<RestoreValidation> => {
    const test = 'continuation' in event ? event.continuation : restoreTestOf(event);
    const reserve = clients.reserveMs ?? 20_000;
    const result = await validateRestore(
      { config, db, backup, ...(clients.checkOptions ? { checkOptions: clients.checkOptions } : {}) },
      test,
      () => context.getRemainingTimeInMillis() - reserve,
    );
    if (result.status === 'continuing') {
      await continueRun({ continuation: { ...test, checkId: result.checkId } }, context);
      return result;
    }
    metrics.addMetric(
      result.status === 'SUCCESSFUL' ? 'RestoreValidationPassed' : 'RestoreValidationFailed',
      MetricUnit.Count,
      1,
    );
    metrics.addMetric('RestoreValidationEntities', MetricUnit.Count, result.entitiesChecked);
    logger.info('restore test validated', { ...result });
    return result;
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}
