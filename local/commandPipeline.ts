import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { createCommandProcessorHandler, type HandlerHooks } from '../functions/command-processor/handler.js';
import type { BatchReport, OutcomeCounts } from '../shared/engine/commandProcessor.js';
import { sqsClient } from '../shared/clients.js';
import type { ProvisionedResources } from './stack.js';
import { startSqsPoller, type SqsPoller } from './sqsPoller.js';

export interface CommandPipelineOptions extends HandlerHooks {
  readonly concurrency?: number;
  readonly batchSize?: number;
  readonly beforeDelete?: (event: SQSEvent) => Promise<void> | void;
  readonly onError?: (error: unknown) => void;
}

export interface PipelineTotals extends OutcomeCounts {
  /** Distinct queue messages the pollers received (a redelivery counts once): what SQS let through after its deduplication. */
  readonly received: number;
}

export interface CommandPipeline {
  /** Outcomes the processor reported so far, summed over all batches, and the distinct messages received. */
  readonly totals: PipelineTotals;
  /** Enqueue-to-decided latency of every applied or rejected command, in ms. */
  readonly latenciesMs: number[];
  readonly batches: () => number;
  /** DynamoDB write requests and write capacity (reported by the stand-in, billed on AWS), summed over all batches. */
  readonly writes: { requests: number; capacity: number; billed: number };
  /** Resolves once the queue holds no message (visible or in flight) and no batch is being handled. */
  drained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The command processor Lambda, fed by local pollers from the FIFO queue: the write path of `npm start`. */
export function startCommandPipeline(
  resources: ProvisionedResources,
  options: CommandPipelineOptions = {},
): CommandPipeline {
  const counts: OutcomeCounts = { applied: 0, rejected: 0, duplicate: 0, reused: 0, malformed: 0, failed: 0 };
  const latenciesMs: number[] = [];
  let batches = 0;
  const writes = { requests: 0, capacity: 0, billed: 0 };
  const handler = createCommandProcessorHandler(resources.config, {
    ...options,
    onReport: (report: BatchReport) => {
      batches++;
      for (const [k, n] of Object.entries(report.counts)) counts[k as keyof OutcomeCounts] += n;
      for (const ms of report.latenciesMs) latenciesMs.push(ms);
      writes.requests += report.writeRequests;
      writes.capacity += report.consumedWriteCapacity;
      writes.billed += report.billedWriteCapacity;
      options.onReport?.(report);
    },
  });
  const sqs: SQSClient = options.sqs ?? sqsClient(resources.config);
  const poller: SqsPoller = startSqsPoller({
    sqs,
    queueUrl: resources.commandQueue.url,
    queueArn: resources.commandQueue.arn,
    region: resources.config.region,
    handler: (event: SQSEvent, context: Context) => handler(event, context),
    batchSize: options.batchSize ?? 10,
    concurrency: options.concurrency ?? 4,
    ...(options.beforeDelete ? { beforeDelete: options.beforeDelete } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  // A getter, so `{ ...pipeline.totals }` snapshots the count at that moment like the outcome counts.
  const totals: PipelineTotals = Object.defineProperty(counts, 'received', {
    get: () => poller.received(),
    enumerable: true,
  }) as PipelineTotals;
  return {
    totals,
    latenciesMs,
    batches: () => batches,
    writes,
    drained: (timeoutMs) => poller.drained(timeoutMs),
    async stop() {
      await poller.stop();
      if (!options.sqs) sqs.destroy();
    },
  };
}
