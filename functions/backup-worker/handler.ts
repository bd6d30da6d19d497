import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { entityRegistry } from '../../shared/entities.js';
import { backupStore, type BackupStore } from '../../shared/backup/backupStore.js';
import { runBackupJob, type BackupJob, type BackupJobResult } from '../../shared/backup/jobs.js';
import { pruneBackups, type PruneReport } from '../../shared/backup/prune.js';

/** The jobs of shared/backup/jobs.ts and the daily `prune` (shared/backup/prune.ts) of this stack's table. */
export type BackupWorkerJob = BackupJob | { readonly job: 'prune'; readonly dryRun?: boolean };
export type BackupWorkerResult = BackupJobResult | { readonly job: 'prune'; readonly report: PruneReport };

export interface BackupWorkerClients {
  readonly db?: DynamoDBDocumentClient;
  readonly store?: BackupStore;
}

/**
 * Backups, increments, verifications and drills, one job an invocation (shared/backup/jobs.ts): from the
 * schedules (daily and weekly full, hourly increment, weekly drill) and from the admin API. Each outcome is logged
 * and counted, so the alarms see a failed backup, a missing one and a failed drill.
 */
export function createBackupWorkerHandler(config: Config, clients: BackupWorkerClients = {}) {
  const logger = new Logger({ serviceName: 'backup-worker' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'backup-worker' });
  const store = clients.store ?? backupStore(config);
  if (!store) throw new Error('the backup worker needs the backup bucket (GAMEKEEP_BACKUP_BUCKET)');
  const db = clients.db ?? dynamoDbClient(config);
  const deps = { config, db, registry: entityRegistry(), ...store };
  return middy(async (job: BackupWorkerJob): Promise<BackupWorkerResult> => {
    try {
      if (job.job === 'prune') {
        const report = await pruneBackups(store.bucket, { table: config.tableName, dryRun: job.dryRun ?? false });
        metrics.addMetric('BackupObjectsPruned', MetricUnit.Count, report.objectsDeleted);
        logger.info('backup job done', { job, result: { ...report, backups: report.backups.length } });
        return { job: 'prune', report };
      }
      const result = await runBackupJob(deps, job);
      if (result.job === 'full' || result.job === 'incremental') metrics.addMetric('BackupTaken', MetricUnit.Count, 1);
      // The missing-daily-backup alarm counts full backups alone (increments are taken every hour).
      if (result.job === 'full') metrics.addMetric('FullBackupTaken', MetricUnit.Count, 1);
      if (result.job === 'verify' && !result.verification.ok) metrics.addMetric('BackupFailed', MetricUnit.Count, 1);
      if (result.job === 'drill') {
        const { report } = result;
        metrics.addMetric(report.status === 'passed' ? 'DrillPassed' : 'DrillFailed', MetricUnit.Count, 1);
        if (report.restore) metrics.addMetric('DrillRestoreSeconds', MetricUnit.Seconds, report.restore.seconds.total);
        if (report.rpo) metrics.addMetric('DrillEventsLost', MetricUnit.Count, report.rpo.eventsLost);
      }
      logger.info('backup job done', { job, result: summaryOf(result) });
      return result;
    } catch (error) {
      metrics.addMetric('BackupFailed', MetricUnit.Count, 1);
      logger.error('backup job failed', { job, error: String(error) });
      throw error;
    }
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

function summaryOf(result: BackupJobResult): Record<string, unknown> {
  switch (result.job) {
    case 'full':
    case 'incremental':
      return {
        backupId: result.manifest.backupId,
        items: result.manifest.items,
        chunks: result.manifest.chunks.length,
      };
    case 'verify':
      return { ...result.verification };
    case 'drill':
      return { drillId: result.report.drillId, status: result.report.status, failure: result.report.failure };
  }
}
