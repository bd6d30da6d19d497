import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** How often the payment reconciler runs on AWS: the longest a credit waits on a lost send or an unmatched player. */
export const PAYMENT_RECONCILIATION_MINUTES = 5;

/**
 * An EventBridge rule that invokes the payment reconciler every few minutes. A pass is idempotent (every credit's
 * command id is fixed by its order), so a missed or doubled invocation only delays or repeats harmless work; no
 * dead-letter queue, because the next pass does the same work.
 */
export class PaymentReconciliation extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: { readonly reconciler: lambda.IFunction }) {
    super(scope, id);
    props.reconciler.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(PAYMENT_RECONCILIATION_MINUTES),
    });
    this.rule = new events.Rule(this, 'Rule', {
      description: `Gamekeep: payment reconciliation every ${PAYMENT_RECONCILIATION_MINUTES} minutes`,
      schedule: events.Schedule.rate(Duration.minutes(PAYMENT_RECONCILIATION_MINUTES)),
      targets: [new targets.LambdaFunction(props.reconciler, { retryAttempts: 0 })],
    });
  }
}
