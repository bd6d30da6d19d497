import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { readSide, type ReadSide, type ReadSideClients } from '../../shared/readside/index.js';
import type { ProjectionReport } from '../../shared/readside/projector.js';

export interface ProjectorHooks extends ReadSideClients {
  /** Sees every batch's report (the local runtime's lag figures). */
  readonly onReport?: (report: ProjectionReport) => void;
}

/**
 * The projector Lambda: the table's DynamoDB stream as event source with ReportBatchItemFailures and
 * bisect-on-error; it fans out to the player-view cache and the leaderboards.
 */
export function createProjectorHandler(config: Config, hooks: ProjectorHooks = {}): ((event: DynamoDBStreamEvent, context: import('aws-lambda').Context) => Promise<DynamoDBBatchResponse>) & { readSide: ReadSide } {
  const logger = new Logger({ serviceName: 'projector' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'projector' });
  const side = readSide(config, { ...hooks, log: hooks.log ?? { warn: (message, details) => logger.warn(message, details ?? {}) } });

  const handler = middy(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const report = await side.projector.project(event.Records);
    metrics.addMetric('records_projected', MetricUnit.Count, report.projected);
    for (const ms of report.lagMs) metrics.addMetric('projection_lag_ms', MetricUnit.Milliseconds, ms);
    for (const ms of report.streamLagMs) metrics.addMetric('stream_lag_ms', MetricUnit.Milliseconds, ms);
    for (const error of report.errors) logger.error('projection failed; the batch is retried from the failed record', { error: String(error) });
    hooks.onReport?.(report);
    return { batchItemFailures: report.batchItemFailures };
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
  return Object.assign((event: DynamoDBStreamEvent, context: import('aws-lambda').Context) => handler(event, context), { readSide: side });
}
