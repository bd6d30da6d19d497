import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { backupStore, type BackupStore } from '../../shared/backup/backupStore.js';
import { appendToArchive, archiveRecordsOf, arrivalOf, commitTimeOf } from '../../shared/backup/eventArchive.js';

export interface ArchiveReport extends DynamoDBBatchResponse {
  readonly archived: number;
  readonly objectKey: string | undefined;
  /** Commit (the item's own clock) to archived, per record, in ms: the archive's lag. */
  readonly lagMs: number[];
}

export interface EventArchiverClients {
  readonly store?: BackupStore;
  readonly now?: () => Date;
  readonly onReport?: (report: ArchiveReport) => void;
}

/**
 * The table stream's second consumer: every batch becomes one encrypted archive object (shared/backup/eventArchive.ts),
 * which incremental backups and point-in-time restores read. A batch that cannot be written fails whole and is
 * retried by the event source; a write that landed before a retry is harmless, since readers count each record once.
 */
export function createEventArchiverHandler(config: Config, clients: EventArchiverClients = {}) {
  const logger = new Logger({ serviceName: 'event-archiver' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'event-archiver' });
  const store = clients.store ?? backupStore(config);
  if (!store) throw new Error('the event archiver needs the backup bucket (GAMEKEEP_BACKUP_BUCKET)');
  const now = clients.now ?? (() => new Date());
  return middy(async (event: DynamoDBStreamEvent): Promise<ArchiveReport> => {
    const records = archiveRecordsOf(event.Records);
    const objectKey = await appendToArchive({ ...store, tableName: config.tableName, now }, records);
    const arrived = objectKey ? arrivalOf(objectKey).getTime() : now().getTime();
    const lagMs = records.map((r) => Math.max(0, arrived - Date.parse(commitTimeOf(r))));
    if (lagMs.length > 0) metrics.addMetric('ArchiveLagSeconds', MetricUnit.Seconds, Math.max(...lagMs) / 1000);
    const report = { batchItemFailures: [], archived: records.length, objectKey, lagMs };
    clients.onReport?.(report);
    return report;
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}
