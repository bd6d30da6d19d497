import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type FunctionName } from './gameFunctions.js';
import type { StageSettings } from '../stage.js';

/**
 * The Powertools metrics the dashboard reads (namespace Gamekeep, dimension `service`). The processor emits
 * `commands_<outcome>` today; the projector and the API must emit the lag and cache metrics named here.
 */
export const PIPELINE_METRICS = {
  applied: { service: 'command-processor', name: 'commands_applied' },
  rejected: { service: 'command-processor', name: 'commands_rejected' },
  duplicate: { service: 'command-processor', name: 'commands_duplicate' },
  malformed: { service: 'command-processor', name: 'commands_malformed' },
  decideLatency: { service: 'command-processor', name: 'enqueue_to_decided_ms' },
  projectionLag: { service: 'projector', name: 'projection_lag_ms' },
  cacheHit: { service: 'api', name: 'player_cache_hits' },
  cacheMiss: { service: 'api', name: 'player_cache_misses' },
} as const;

export interface PipelineMonitoringProps {
  readonly settings: StageSettings;
  readonly functions: Record<FunctionName, lambda.Function>;
  readonly commandQueue: sqs.IQueue;
  /** Queues whose every message means a failure someone must look at. */
  readonly deadLetterQueues: Record<string, sqs.IQueue>;
  readonly apis: Record<string, apigwv2.HttpApi>;
  /** The serverless cache's name: its server-side hit rate goes beside the API's own. */
  readonly cacheName: string;
}

/** Alarms (to one encrypted SNS topic) and the pipeline dashboard; each alarm is explained in docs/operations.md. */
export class PipelineMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const { settings, functions } = props;

    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Gamekeep ${settings.stage}: alarm topic encryption`,
      enableKeyRotation: true,
    });
    // CloudWatch publishes to an encrypted topic only if the key lets it.
    topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Gamekeep ${settings.stage} alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (settings.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));

    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string): void => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `gamekeep-${settings.stage}-${id}`,
        alarmDescription: `${description} Runbook: docs/operations.md, Alarms, ${id}.`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      a.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(a);
    };

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(
        `${name}NotEmpty`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        1,
        `${name} holds messages.`,
      );
    }
    alarm(
      'CommandBacklogAge',
      props.commandQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      300,
      'The oldest queued command waits 5 minutes or more.',
    );
    alarm(
      'ProjectionLag',
      functions.projector.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
      settings.maxProjectionLag.toMilliseconds(),
      `The projector is ${settings.maxProjectionLag.toSeconds()} s or more behind the table stream.`,
    );
    // Logical backups (docs/operations.md, Backups on AWS): the archive's lag, what losing the table would cost.
    alarm(
      'ArchiveLag',
      functions.eventArchiver.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
      settings.maxArchiveLag.toMilliseconds(),
      `The event archive is ${settings.maxArchiveLag.toSeconds()} s or more behind the table stream.`,
    );
    const backupMetric = (service: string, name: string, period = Duration.hours(1)): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service },
        statistic: 'Sum',
        period,
      });
    alarm(
      'BackupFailed',
      backupMetric('backup-worker', 'BackupFailed'),
      1,
      'A backup job failed or a verification found damage.',
    );
    alarm(
      'DrillFailed',
      backupMetric('backup-worker', 'DrillFailed'),
      1,
      'A restore drill of the logical backups failed.',
    );
    alarm(
      'RestoreValidationFailed',
      backupMetric('restore-validator', 'RestoreValidationFailed'),
      1,
      'The consistency check of an AWS Backup restore test found damage.',
    );
    // No full backup for 26 hours: every one of the last 26 hours without one (an hour without data breaches).
    const missing = new cloudwatch.Alarm(this, 'DailyBackupMissing', {
      alarmName: `gamekeep-${settings.stage}-DailyBackupMissing`,
      alarmDescription:
        'No full logical backup was taken in 26 hours. Runbook: docs/operations.md, Alarms, DailyBackupMissing.',
      metric: backupMetric('backup-worker', 'FullBackupTaken'),
      threshold: 1,
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    missing.addAlarmAction(new actions.SnsAction(this.topic));
    missing.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(missing);
    for (const [name, fn] of Object.entries(functions)) {
      const id = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(
        `${id}Errors`,
        fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        1,
        `${name} invocations failed.`,
      );
      alarm(
        `${id}Throttles`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        1,
        `${name} invocations were throttled.`,
      );
    }
    for (const [name, api] of Object.entries(props.apis)) {
      alarm(
        `${name}ServerErrors`,
        api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
        settings.api5xxThreshold,
        `${name} answered 5xx.`,
      );
    }

    const pm = (m: { service: string; name: string }, statistic = 'Sum', label?: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: m.name,
        dimensionsMap: { service: m.service },
        statistic,
        period: Duration.minutes(1),
        ...(label ? { label } : {}),
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `gamekeep-${settings.stage}-pipeline`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Commands: in, applied, rejected, duplicate, malformed',
        width: 12,
        left: [
          props.commandQueue.metricNumberOfMessagesSent({
            period: Duration.minutes(1),
            label: 'in (sent to commands.fifo)',
          }),
          pm(PIPELINE_METRICS.applied, 'Sum', 'applied'),
          pm(PIPELINE_METRICS.rejected, 'Sum', 'rejected'),
          pm(PIPELINE_METRICS.duplicate, 'Sum', 'duplicate'),
          pm(PIPELINE_METRICS.malformed, 'Sum', 'malformed'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue backlog and enqueue-to-decided latency',
        width: 12,
        left: [
          props.commandQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), label: 'queued' }),
        ],
        right: [pm(PIPELINE_METRICS.decideLatency, 'p99', 'p99 enqueue to decided (ms)')],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Projection lag',
        width: 12,
        left: [
          functions.projector.metric('IteratorAge', {
            period: Duration.minutes(1),
            statistic: 'Maximum',
            label: 'stream iterator age (ms)',
          }),
          pm(PIPELINE_METRICS.projectionLag, 'p99', 'p99 commit to projected (ms)'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Cache hit ratio (%)',
        width: 12,
        left: [
          new cloudwatch.MathExpression({
            expression: '100 * hits / (hits + misses)',
            usingMetrics: { hits: pm(PIPELINE_METRICS.cacheHit), misses: pm(PIPELINE_METRICS.cacheMiss) },
            label: 'player views (API)',
            period: Duration.minutes(1),
          }),
          new cloudwatch.Metric({
            namespace: 'AWS/ElastiCache',
            metricName: 'CacheHitRate',
            dimensionsMap: { clusterId: props.cacheName },
            statistic: 'Average',
            period: Duration.minutes(1),
            label: 'all keys (ElastiCache)',
          }),
        ],
        leftYAxis: { min: 0, max: 100 },
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Function errors',
        width: 12,
        left: Object.entries(functions).map(([n, fn]) => fn.metricErrors({ period: Duration.minutes(5), label: n })),
      }),
      new cloudwatch.GraphWidget({
        title: 'API 5xx',
        width: 12,
        left: Object.entries(props.apis).map(([n, api]) =>
          api.metricServerError({ period: Duration.minutes(5), label: n }),
        ),
      }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
  }
}
