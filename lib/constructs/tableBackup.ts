import { Duration } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { GameTable } from './gameTable.js';
import { acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** Seed 004's tiers on AWS Backup (PITR covers the last 35 days to the second). */
export const BACKUP_TIERS = [
  { ruleName: 'Daily', schedule: { minute: '0', hour: '3' }, keepDays: 90 },
  { ruleName: 'Weekly', schedule: { minute: '0', hour: '4', weekDay: 'SUN' }, keepDays: 180 },
  { ruleName: 'Monthly', schedule: { minute: '0', hour: '5', day: '1' }, keepDays: 365 },
] as const;

/**
 * AWS Backup restore testing of the table (issue 12, item 5): every week the latest recovery point of the last week
 * is restored into a new table (`awsbackup-restore-test-*`), which the restore validator checks and AWS Backup
 * deletes once the validation window is over.
 */
export const RESTORE_TESTING = {
  /** Thursday 07:00 UTC, away from the backup rules, the logical backups and their drill. */
  scheduleExpression: 'cron(0 7 ? * THU *)',
  startWindowHours: 8,
  selectionWindowDays: 7,
  /** The restored table is kept this long for the validation (the checker over a whole table) to report. */
  validationWindowHours: 24,
} as const;

/**
 * AWS Backup of the table: its own vault with its own key (a compromised table key or a deleted table does not
 * take the backups with it), the three tiers, and an optional copy of every recovery point to a vault in a
 * second region (context `backupCopyVaultArn`).
 */
export class TableBackup extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;
  readonly restoreTestingPlan: backup.CfnRestoreTestingPlan;
  readonly restoreTestingSelection: backup.CfnRestoreTestingSelection;
  /** Completed restore tests of this plan, to the validator. */
  readonly restoreTestRule: events.Rule;

  constructor(
    scope: Construct,
    id: string,
    props: {
      readonly settings: StageSettings;
      readonly table: GameTable;
      /** The restore testing plan's validation (functions/restore-validator). */
      readonly validator: lambda.IFunction;
    },
  ) {
    super(scope, id);
    const { settings, table } = props;

    const vaultKey = new kms.Key(this, 'VaultKey', {
      description: `Gamekeep ${settings.stage}: backup vault encryption`,
      enableKeyRotation: true,
      removalPolicy: settings.statefulRemovalPolicy,
    });
    this.vault = new backup.BackupVault(this, 'Vault', {
      encryptionKey: vaultKey,
      removalPolicy: settings.statefulRemovalPolicy,
    });

    const copyTo = settings.backupCopyVaultArn
      ? backup.BackupVault.fromBackupVaultArn(this, 'CopyVault', settings.backupCopyVaultArn)
      : undefined;

    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupPlanName: `gamekeep-${settings.stage}-table`,
      backupVault: this.vault,
      backupPlanRules: BACKUP_TIERS.map(
        (tier) =>
          new backup.BackupPlanRule({
            ruleName: tier.ruleName,
            scheduleExpression: events.Schedule.cron(tier.schedule),
            startWindow: Duration.hours(1),
            completionWindow: Duration.hours(8),
            deleteAfter: Duration.days(tier.keepDays),
            ...(copyTo
              ? { copyActions: [{ destinationBackupVault: copyTo, deleteAfter: Duration.days(tier.keepDays) }] }
              : {}),
          }),
      ),
    });
    const selection = this.plan.addSelection('Table', {
      resources: [backup.BackupResource.fromArn(table.table.tableArn)],
      allowRestores: true,
    });
    // Backing up and restoring a table encrypted with a customer-managed key uses that key on the role's behalf.
    table.key.grant(
      selection,
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
      'kms:CreateGrant',
    );
    acknowledge(selection, {
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
        'Key use on the table key only, by the AWS Backup role of this plan.',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]':
        'Key use on the table key only, by the AWS Backup role of this plan.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]':
        'The AWS Backup service role policy is what AWS Backup documents for taking DynamoDB backups; the selection limits it to this table.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]':
        'Lets operators restore recovery points of this plan with the same role (docs/operations.md).',
    });

    // Restore testing: the same role restores (it holds the restore policy and the table key), the table's recovery
    // points in this vault only. Names allow letters, digits and underscores.
    const restoreRole = selection.grantPrincipal;
    if (!(restoreRole instanceof iam.Role)) throw new Error('the backup selection has no role of its own');
    const planName = `gamekeep_${settings.stage.replaceAll('-', '_')}_table`;
    this.restoreTestingPlan = new backup.CfnRestoreTestingPlan(this, 'RestoreTestingPlan', {
      restoreTestingPlanName: planName,
      scheduleExpression: RESTORE_TESTING.scheduleExpression,
      scheduleExpressionTimezone: 'Etc/UTC',
      startWindowHours: RESTORE_TESTING.startWindowHours,
      recoveryPointSelection: {
        algorithm: 'LATEST_WITHIN_WINDOW',
        includeVaults: [this.vault.backupVaultArn],
        recoveryPointTypes: ['SNAPSHOT'],
        selectionWindowDays: RESTORE_TESTING.selectionWindowDays,
      },
    });
    this.restoreTestingSelection = new backup.CfnRestoreTestingSelection(this, 'RestoreTestingSelection', {
      restoreTestingPlanName: this.restoreTestingPlan.ref,
      restoreTestingSelectionName: 'table',
      protectedResourceType: 'DynamoDB',
      protectedResourceArns: [table.table.tableArn],
      iamRoleArn: restoreRole.roleArn,
      validationWindowHours: RESTORE_TESTING.validationWindowHours,
    });

    // A completed restore test of this plan (never an operator's own restore) starts its validation.
    props.validator.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: Duration.hours(6) });
    this.restoreTestRule = new events.Rule(this, 'RestoreTestCompleted', {
      description: 'Gamekeep: validate each completed AWS Backup restore test of the table (consistency checker)',
      eventPattern: {
        source: ['aws.backup'],
        detailType: ['Restore Job State Change'],
        detail: {
          status: ['COMPLETED'],
          resourceType: ['DynamoDB'],
          restoreTestingPlanArn: [this.restoreTestingPlan.attrRestoreTestingPlanArn],
        },
      },
      targets: [new targets.LambdaFunction(props.validator, { retryAttempts: 4, maxEventAge: Duration.hours(6) })],
    });
  }
}
