import type { Config } from '../shared/config.js';
import { createEventArchiverHandler, type ArchiveReport } from '../functions/event-archiver/handler.js';
import type { BackupStore } from '../shared/backup/backupStore.js';
import { startStreamPoller, type StreamPoller } from './streamPoller.js';

export interface ArchivePipeline {
  readonly poller: StreamPoller;
  /** Commit-to-archive lag of every archived record, in ms. */
  readonly lagMs: number[];
  readonly objects: string[];
  stop(): Promise<void>;
}

/**
 * The event-archiver Lambda fed by its own local stream poller: the table stream's second consumer, with the CDK
 * mapping's settings (one batch at a time per shard, up to 1,000 records).
 */
export async function startArchivePipeline(
  config: Config,
  options: { store?: BackupStore; pollIntervalMs?: number; onError?: (error: unknown) => void } = {},
): Promise<ArchivePipeline> {
  const lagMs: number[] = [];
  const objects: string[] = [];
  const handler = createEventArchiverHandler(config, {
    ...(options.store ? { store: options.store } : {}),
    onReport: (report: ArchiveReport) => {
      lagMs.push(...report.lagMs);
      if (report.objectKey) objects.push(report.objectKey);
    },
  });
  const poller = await startStreamPoller({
    config,
    handler,
    functionName: 'event-archiver',
    batchSize: 1000,
    parallelizationFactor: 1,
    retryAttempts: 10,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return { poller, lagMs, objects, stop: () => poller.stop() };
}
