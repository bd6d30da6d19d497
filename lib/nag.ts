import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on a construct (and its children), with the reason ops will read in the
 * validation report. cdk-nag v3 uses CDK's native Validations: one call per finding id, e.g.
 * `AwsSolutions-IAM5[Action::kms:GenerateDataKey*]`; there is no blanket suppression of a whole rule.
 */
export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  for (const [id, reason] of Object.entries(findings)) {
    if (reason.trim().length < 20)
      throw new Error(`cdk-nag acknowledgement ${id} on ${scope.node.path} needs a real reason`);
    Validations.of(scope).acknowledge({ id, reason });
  }
}

/** The managed policies Lambda's own construct attaches, acknowledged once per role. */
export const LAMBDA_BASIC_EXECUTION =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
export const LAMBDA_VPC_EXECUTION =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';
