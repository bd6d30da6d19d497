import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { BackupWorkerJob } from '../../functions/backup-worker/handler.js';

/**
 * When the backup worker runs what (UTC): the daily full backup (on Sundays the weekly one, kept 180 days, in its
 * place), an increment every hour, the weekly drill and the daily prune. Each rule hands the worker the job it
 * already understands (shared/backup/jobs.ts, plus `prune`).
 */
export const BACKUP_SCHEDULES: readonly {
  readonly id: string;
  readonly description: string;
  readonly cron: events.CronOptions;
  readonly job: BackupWorkerJob;
}[] = [
  {
    id: 'DailyFullBackup',
    description: 'daily full backup (Monday to Saturday, 02:00 UTC)',
    cron: { minute: '0', hour: '2', weekDay: 'MON-SAT' },
    job: { job: 'full', tier: 'daily' },
  },
  {
    id: 'WeeklyFullBackup',
    description: 'weekly full backup (Sunday, 02:00 UTC, in place of the daily one)',
    cron: { minute: '0', hour: '2', weekDay: 'SUN' },
    job: { job: 'full', tier: 'weekly' },
  },
  {
    // At 30 past, away from the full backup on the hour, so an increment never races its own base.
    id: 'HourlyIncrement',
    description: 'incremental backup (every hour, at 30 past)',
    cron: { minute: '30' },
    job: { job: 'incremental' },
  },
  {
    id: 'WeeklyDrill',
    description: 'restore drill of the logical backups (Wednesday, 05:00 UTC)',
    cron: { minute: '0', hour: '5', weekDay: 'WED' },
    job: { job: 'drill' },
  },
  {
    id: 'DailyPrune',
    description: 'prune by retention tier (daily, 06:00 UTC; lifecycle rules expire the same objects by tag)',
    cron: { minute: '0', hour: '6' },
    job: { job: 'prune' },
  },
];

/** The backup worker's schedules: EventBridge rules, as the house schedules (rewards, checks) are. */
export class BackupSchedule extends Construct {
  readonly rules: Record<string, events.Rule>;

  constructor(scope: Construct, id: string, props: { readonly worker: lambda.IFunction }) {
    super(scope, id);
    // A failed job is retried once by Lambda; the next run (an hour, a day later) starts from the chain as it is, and
    // the missing-backup, drill and error alarms say when one did not happen.
    props.worker.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: Duration.hours(1) });
    this.rules = Object.fromEntries(
      BACKUP_SCHEDULES.map((s) => [
        s.id,
        new events.Rule(this, s.id, {
          description: `Gamekeep: ${s.description}`,
          schedule: events.Schedule.cron(s.cron),
          targets: [
            new targets.LambdaFunction(props.worker, {
              retryAttempts: 2,
              maxEventAge: Duration.hours(1),
              event: events.RuleTargetInput.fromObject(s.job),
            }),
          ],
        }),
      ]),
    );
  }
}
