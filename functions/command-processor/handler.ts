import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { commandProcessor, type Clients } from '../../shared/gamekeep.js';
import type { BatchReport } from '../../shared/engine/commandProcessor.js';

export interface HandlerHooks extends Clients {
  /** Sees every batch's full report (the local runtime's counters and latencies). */
  readonly onReport?: (report: BatchReport) => void;
}

/** The command processor Lambda: an SQS FIFO event source with ReportBatchItemFailures. */
export function createCommandProcessorHandler(config: Config, hooks: HandlerHooks = {}) {
  const logger = new Logger({ serviceName: 'command-processor' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'command-processor' });
  const processor = commandProcessor(config, logger, hooks);

  return middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const report = await processor.processBatch(event.Records);
    for (const [kind, count] of Object.entries(report.counts))
      if (count > 0) metrics.addMetric(`commands_${kind}`, MetricUnit.Count, count);
    for (const ms of report.latenciesMs) metrics.addMetric('enqueue_to_decided_ms', MetricUnit.Milliseconds, ms);
    hooks.onReport?.(report);
    return { batchItemFailures: report.batchItemFailures };
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}
