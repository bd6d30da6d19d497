import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './gameFunctions.js';

/** The share of players the daily check samples (seed 004's 抽样验证); a full check is an operator's POST /v1/admin/checks. */
export const DAILY_CHECK_SAMPLE = 0.1;
/** UTC hour of the daily check: after the reward run, away from peak hours. */
export const DAILY_CHECK_HOUR_UTC = 3;

/**
 * The daily sampled consistency check (an EventBridge rule invoking the checker, which continues itself until
 * done) and an alarm on its findings: any finding that needs an operator or isolation pages on-call.
 */
export class ConsistencyChecks extends Construct {
  readonly rule: events.Rule;
  readonly alarm: cloudwatch.Alarm;

  constructor(
    scope: Construct,
    id: string,
    props: { readonly checker: lambda.IFunction; readonly stage: string; readonly topic: sns.ITopic },
  ) {
    super(scope, id);
    props.checker.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });
    this.rule = new events.Rule(this, 'DailyCheckRule', {
      description: `Gamekeep: the daily consistency check of a ${DAILY_CHECK_SAMPLE * 100} % sample of players`,
      schedule: events.Schedule.cron({ minute: '0', hour: String(DAILY_CHECK_HOUR_UTC) }),
      targets: [
        new targets.LambdaFunction(props.checker, {
          retryAttempts: 0,
          event: events.RuleTargetInput.fromObject({ sample: DAILY_CHECK_SAMPLE, repair: true }),
        }),
      ],
    });
    const findings = (cls: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: `checkFindings_${cls}`,
        dimensionsMap: { service: 'consistency-checker' },
        statistic: 'Maximum',
        period: Duration.hours(1),
      });
    this.alarm = new cloudwatch.Alarm(this, 'CheckFindings', {
      alarmName: `gamekeep-${props.stage}-CheckFindings`,
      alarmDescription:
        'A consistency check found damage that needs an operator or isolation. Runbook: docs/recovery.md, The consistency checker.',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(op, 0) + FILL(iso, 0)',
        usingMetrics: { op: findings('operator'), iso: findings('isolate') },
        period: Duration.hours(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(props.topic));
  }
}
