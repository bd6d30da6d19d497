import { Duration } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
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
 * AWS Backup of the table: its own vault with its own key (a compromised table key or a deleted table does not
 * take the backups with it), the three tiers, and an optional copy of every recovery point to a vault in a
 * second region (context `backupCopyVaultArn`).
 */
export class TableBackup extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: { readonly settings: StageSettings; readonly table: GameTable }) {
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
  }
}
