import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { Config } from '../shared/config.js';
import { createProjectorHandler, type ProjectorHooks } from '../functions/projector/handler.js';
import type { ReadSide } from '../shared/readside/index.js';
import { startStreamPoller, type StreamPoller } from './streamPoller.js';

export interface ProjectionPipeline {
  readonly readSide: ReadSide;
  readonly poller: StreamPoller;
  /** Commit-to-projection lag (item timestamp) and stream-record-to-projection lag of every projected record, in ms. */
  readonly lagMs: number[];
  readonly streamLagMs: number[];
  stop(): Promise<void>;
}

/** The projector Lambda fed by the local stream poller: the read side of `npm start`, the demo and the tests. */
export async function startProjectionPipeline(
  config: Config,
  options: ProjectorHooks & {
    pollIntervalMs?: number;
    batchSize?: number;
    onError?: (error: unknown) => void;
    /** Sees every batch the poller delivers (tests replay them). */
    onBatch?: (event: DynamoDBStreamEvent) => void;
  } = {},
): Promise<ProjectionPipeline> {
  const lagMs: number[] = [];
  const streamLagMs: number[] = [];
  const handler = createProjectorHandler(config, {
    ...options,
    onReport: (report) => {
      lagMs.push(...report.lagMs);
      streamLagMs.push(...report.streamLagMs);
      options.onReport?.(report);
    },
  });
  const poller = await startStreamPoller({
    config,
    handler: (event, context) => {
      options.onBatch?.(event);
      return handler(event, context);
    },
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return {
    readSide: handler.readSide,
    poller,
    lagMs,
    streamLagMs,
    async stop() {
      await poller.stop();
      await handler.readSide.close();
    },
  };
}
