import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Config } from '../shared/config.js';
import { createProjectorHandler, type ProjectorHooks } from '../functions/projector/handler.js';
import type { ReadSide } from '../shared/readside/index.js';
import { lambdaContext } from './lambdaContext.js';
import { startStreamPoller, type DiscardReason, type StreamPoller, type StreamPollerOptions } from './streamPoller.js';

export interface ProjectionPipeline {
  readonly readSide: ReadSide;
  readonly poller: StreamPoller;
  /** Commit-to-projection lag (item timestamp) and stream-record-to-projection lag of every projected record, in ms. */
  readonly lagMs: number[];
  readonly streamLagMs: number[];
  /** Heals started (Redis lost its data) and finished, in this process. */
  readonly heals: { started: number; completed: number };
  /** Resolves once no heal started here is running (the data may still be marked rebuilding by another process). */
  healed(): Promise<void>;
  stop(): Promise<void>;
}

/** The projector Lambda fed by the local stream poller: the read side of `npm start`, the demo and the tests. */
export async function startProjectionPipeline(
  config: Config,
  options: ProjectorHooks &
    Pick<
      StreamPollerOptions,
      | 'pollIntervalMs'
      | 'batchSize'
      | 'parallelizationFactor'
      | 'retryAttempts'
      | 'maxRecordAgeMs'
      | 'bisectBatchOnError'
      | 'retryDelayMs'
    > & {
      onError?: (error: unknown) => void;
      /** Sees every batch the poller delivers (tests replay them). */
      onBatch?: (event: DynamoDBStreamEvent) => void;
      onDiscard?: (records: readonly DynamoDBRecord[], reason: DiscardReason) => void;
      /** Awaited before a heal starts running (tests hold a heal to watch reads during it). */
      beforeHeal?: () => Promise<void>;
    } = {},
): Promise<ProjectionPipeline> {
  const lagMs: number[] = [];
  const streamLagMs: number[] = [];
  const heals = { started: 0, completed: 0 };
  const running = new Set<Promise<unknown>>();
  // Records the event source gave up on leave the projections incomplete: the epoch is declared so, and healed.
  let incomplete = false;
  const declareIncomplete = async (): Promise<void> => {
    if (incomplete && (await handler.readSide.marker.invalidate().catch(() => undefined)) !== undefined)
      incomplete = false;
  };
  const handler = createProjectorHandler(config, {
    ...options,
    onReport: (report) => {
      lagMs.push(...report.lagMs);
      streamLagMs.push(...report.streamLagMs);
      if (incomplete && report.batchItemFailures.length === 0) void declareIncomplete();
      options.onReport?.(report);
    },
    // The asynchronous self-invocation of the Lambda: the same handler, not awaited by the batch that asked.
    invokeHeal:
      options.invokeHeal ??
      (async (event) => {
        heals.started++;
        const run = Promise.resolve(options.beforeHeal?.())
          .then(() => handler(event, lambdaContext('projector')))
          .then((r) => {
            if ('healed' in r && r.healed) heals.completed++;
          })
          .catch((error: unknown) => options.onError?.(error))
          .finally(() => running.delete(run));
        running.add(run);
      }),
  });
  const poller = await startStreamPoller({
    config,
    handler: (event, context) => {
      options.onBatch?.(event);
      return handler(event, context);
    },
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.parallelizationFactor !== undefined ? { parallelizationFactor: options.parallelizationFactor } : {}),
    ...(options.retryAttempts !== undefined ? { retryAttempts: options.retryAttempts } : {}),
    ...(options.maxRecordAgeMs !== undefined ? { maxRecordAgeMs: options.maxRecordAgeMs } : {}),
    ...(options.bisectBatchOnError !== undefined ? { bisectBatchOnError: options.bisectBatchOnError } : {}),
    ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    onDiscard: (records, reason) => {
      incomplete = true;
      void declareIncomplete();
      options.onDiscard?.(records, reason);
    },
  });
  return {
    readSide: handler.readSide,
    poller,
    lagMs,
    streamLagMs,
    heals,
    async healed() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    async stop() {
      await poller.stop();
      await Promise.allSettled([...running]);
      await handler.readSide.close();
    },
  };
}
