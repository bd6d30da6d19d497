import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

/** EventBridge retries a failed invocation this often (with backoff) before the event goes to the DLQ. */
export const REWARD_RETRY_ATTEMPTS = 8;

/**
 * The daily reward run: an EventBridge rule at the reward hour (UTC) invokes the reward scheduler. A run is idempotent
 * (task id + player is a claim), so retries and a manual re-run from the DLQ or the admin API are safe.
 */
export class RewardSchedule extends Construct {
  readonly rule: events.Rule;
  /** Events EventBridge could not deliver after every retry, and runs that failed all of Lambda's async retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(
    scope: Construct,
    id: string,
    props: { readonly rewardScheduler: lambda.IFunction; readonly hourUtc: number },
  ) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(this.deadLetterQueue, {
      'AwsSolutions-SQS3':
        'This queue is itself the dead-letter queue of the daily reward rule target; its depth is alarmed.',
    });
    // EventBridge's retries cover delivery; a run that fails inside the function is retried by Lambda's async
    // invocation (also the self-continuations) and then lands in the same queue.
    props.rewardScheduler.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    this.rule = new events.Rule(this, 'DailyRewardRule', {
      description: `Gamekeep: daily reward run (${props.hourUtc}:00 UTC)`,
      schedule: events.Schedule.cron({ minute: '0', hour: String(props.hourUtc) }),
      targets: [
        new targets.LambdaFunction(props.rewardScheduler, {
          retryAttempts: REWARD_RETRY_ATTEMPTS,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
