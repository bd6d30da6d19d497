import { beforeAll, describe, expect, it } from 'vitest';
import { TIER_TAG } from '../../shared/backup/backupBucket.js';
import { RETENTION_DAYS } from '../../shared/backup/retention.js';
import { BACKUP_SCHEDULES } from '../../lib/constructs/backupSchedule.js';
import { NONCURRENT_VERSION_DAYS } from '../../lib/constructs/backupVault.js';
import { ARCHIVER_STREAM, type FunctionName } from '../../lib/constructs/gameFunctions.js';
import { RESTORE_TESTING } from '../../lib/constructs/tableBackup.js';
import { all, arnOf, logicalIdOf, only, synthStage, type Resource, type SynthesizedStage } from './synthStage.js';

const REPLICA_BUCKET = 'arn:aws:s3:::gamekeep-prod-backups-replica';
const REPLICA_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, any> };
const actionsOf = (s: Statement): string[] => [s.Action].flat();
const json = (v: unknown): string => JSON.stringify(v);

/**
 * The AWS side of issue 12's logical backups: the bucket (key, versioning, Object Lock, lifecycle per tier, TLS,
 * no public access, replication), the archiver's stream source, least privilege of the worker, the archiver, the
 * admin API and the restore validator, the schedules, AWS Backup restore testing and the alarms.
 */
describe('logical backups on AWS', () => {
  let dev: SynthesizedStage;
  let prod: SynthesizedStage;
  let ids: { bucket: string; key: string; table: string; logs: string };

  const fnId = (s: SynthesizedStage, name: FunctionName): string => logicalIdOf(s.stack.functions.functions[name]);
  const statements = (s: SynthesizedStage, name: FunctionName): Statement[] => {
    const role = logicalIdOf(s.stack.functions.functions[name].role!);
    return all(s.template, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => json(r) === json({ Ref: role })))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
  };
  const resourcesOf = (s: Statement): string[] => [s.Resource].flat().map(json);
  const bucketOf = (s: SynthesizedStage): Resource =>
    s.template.toJSON().Resources[logicalIdOf(s.stack.backupVault.bucket)];

  beforeAll(() => {
    dev = synthStage('dev');
    prod = synthStage('prod', { backupReplicaBucketArn: REPLICA_BUCKET, backupReplicaKmsKeyArn: REPLICA_KEY });
    ids = {
      bucket: logicalIdOf(dev.stack.backupVault.bucket),
      key: logicalIdOf(dev.stack.backupVault.key),
      table: logicalIdOf(dev.stack.table.table),
      logs: logicalIdOf(dev.stack.backupVault.accessLogs),
    };
  }, 600_000); // two stages with real bundling of every function, on a shared machine

  describe('bucket', () => {
    it('is encrypted (SSE-KMS, bucket key) with its own rotating key, the one the Encryption SDK wraps data keys with', () => {
      const p = bucketOf(dev).Properties;
      expect(p.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(ids.key) },
        },
      ]);
      const key = dev.template.toJSON().Resources[ids.key] as Resource;
      expect(key.Properties.EnableKeyRotation).toBe(true);
      for (const name of ['eventArchiver', 'backupWorker', 'adminApi'] as const) {
        const env = (dev.template.toJSON().Resources[fnId(dev, name)] as Resource).Properties.Environment.Variables;
        expect(env.GAMEKEEP_BACKUP_KMS_KEY, name).toEqual(arnOf(ids.key));
        expect(env.GAMEKEEP_BACKUP_BUCKET, name).toEqual({ Ref: ids.bucket });
      }
    });

    it('is versioned, under Object Lock: GOVERNANCE in dev, COMPLIANCE in prod, for the shortest tier (7 days)', () => {
      const shortest = Math.min(...Object.values(RETENTION_DAYS).filter((d) => d !== null));
      expect(shortest).toBe(7);
      for (const [stage, mode] of [
        [dev, 'GOVERNANCE'],
        [prod, 'COMPLIANCE'],
      ] as const) {
        const p = bucketOf(stage).Properties;
        expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
        expect(p.ObjectLockEnabled).toBe(true);
        expect(p.ObjectLockConfiguration).toEqual({
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: mode, Days: shortest } },
        });
        expect(bucketOf(stage).DeletionPolicy).toBe('Retain');
      }
    });

    it('expires each tier by the object tag the writer sets, noncurrent versions too; configuration is kept forever', () => {
      const rules = bucketOf(dev).Properties.LifecycleConfiguration.Rules as Record<string, any>[];
      const tiered = rules.filter((r) => r.TagFilters);
      const expected = Object.entries(RETENTION_DAYS).filter(([, days]) => days !== null);
      expect(tiered).toHaveLength(expected.length);
      for (const [tier, days] of expected) {
        const rule = tiered.find((r) => json(r.TagFilters) === json([{ Key: TIER_TAG, Value: tier }]));
        expect(rule, tier).toMatchObject({
          Status: 'Enabled',
          ExpirationInDays: days,
          NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_DAYS },
        });
      }
      expect(expected.map(([t]) => t).sort()).toEqual(['archive', 'daily', 'hourly', 'weekly']);
      expect(json(rules)).not.toContain('"Value":"config"');
      // Nothing expires current objects without a tier tag (untagged would mean kept forever, as config is).
      for (const r of rules.filter((x) => !x.TagFilters)) expect(r.ExpirationInDays, r.Id).toBeUndefined();
      // What the rules match is what the writer sends: `gamekeep:tier` (shared/backup/backupBucket.ts).
      expect(TIER_TAG).toBe('gamekeep:tier');
    });

    it('denies requests without TLS, blocks all public access and logs access to its own log bucket', () => {
      const p = bucketOf(dev).Properties;
      expect(p.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(p.LoggingConfiguration).toMatchObject({ DestinationBucketName: { Ref: ids.logs } });
      const [, policy] = only(dev.template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: ids.bucket } });
      const deny = (policy.Properties.PolicyDocument.Statement as Statement[]).find(
        (s) => s.Effect === 'Deny' && json(s.Condition) === json({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      expect(deny && actionsOf(deny)).toEqual(['s3:*']);
    });

    it('replicates to the second region when the stage names a replica bucket and key; not otherwise', () => {
      expect(bucketOf(dev).Properties.ReplicationConfiguration).toBeUndefined();
      const replication = bucketOf(prod).Properties.ReplicationConfiguration;
      expect(replication.Role).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      expect(replication.Rules).toHaveLength(1);
      expect(replication.Rules[0]).toMatchObject({
        Status: 'Enabled',
        Destination: { Bucket: REPLICA_BUCKET, EncryptionConfiguration: { ReplicaKmsKeyID: REPLICA_KEY } },
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
      });
    });

    it('names the bucket in the outputs', () => {
      expect(dev.template.toJSON().Outputs.BackupBucketName.Value).toEqual({ Ref: ids.bucket });
    });
  });

  describe('event archiver', () => {
    it("consumes the table's stream one batch per shard: bisect, bounded retries, its own on-failure queue", () => {
      const [, mapping] = only(dev.template, 'AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fnId(dev, 'eventArchiver') },
      });
      expect(mapping.Properties).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': [ids.table, 'StreamArn'] },
        ParallelizationFactor: 1,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: ARCHIVER_STREAM.retryAttempts,
        MaximumRecordAgeInSeconds: 86400,
        StartingPosition: 'TRIM_HORIZON',
        DestinationConfig: {
          OnFailure: { Destination: arnOf(logicalIdOf(dev.stack.functions.archiverFailures)) },
        },
      });
    });

    it("writes only its table's archive prefix, and never reads or deletes backups", () => {
      const s3 = statements(dev, 'eventArchiver').filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:PutObject', 's3:PutObjectTagging']);
      expect(json(s3.map((s) => s.Resource))).toBe(
        json([{ 'Fn::Join': ['', [arnOf(ids.bucket), '/archive/', { Ref: ids.table }, '/*']] }]),
      );
    });
  });

  describe('backup worker', () => {
    it('reads the live table (Scan for a full backup) and writes none of it: no table write, create or delete', () => {
      const onLive = statements(dev, 'backupWorker').filter((s) => resourcesOf(s).includes(json(arnOf(ids.table))));
      const actions = onLive.flatMap(actionsOf);
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:GetItem']));
      for (const a of [
        'dynamodb:DeleteTable',
        'dynamodb:CreateTable',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:UpdateTimeToLive',
      ])
        expect(actions, a).not.toContain(a);
    });

    it('creates, fills, checks and deletes tables named <table>-drill-* only', () => {
      const deletes = statements(dev, 'backupWorker').filter((s) => actionsOf(s).includes('dynamodb:DeleteTable'));
      expect(deletes).toHaveLength(1);
      const resources = json(deletes[0]!.Resource);
      expect(resources).toContain('-drill-*');
      expect(actionsOf(deletes[0]!)).toEqual(
        expect.arrayContaining(['dynamodb:CreateTable', 'dynamodb:BatchWriteItem', 'dynamodb:Scan']),
      );
      for (const r of [deletes[0]!.Resource].flat()) expect(json(r)).toMatch(/-drill-\*/);
    });

    it('reads and writes backups, configuration versions and drill reports, reads and prunes the archive, uses the backup key', () => {
      const all_ = statements(dev, 'backupWorker');
      const s3Actions = all_.flatMap(actionsOf).filter((a) => a.startsWith('s3:'));
      expect(s3Actions).not.toContain('s3:DeleteObjectVersion');
      expect(s3Actions).not.toContain('s3:BypassGovernanceRetention');
      expect(s3Actions).not.toContain('s3:PutObjectRetention');
      const kms = all_.filter((s) => resourcesOf(s).includes(json(arnOf(ids.key))));
      expect(kms.flatMap(actionsOf)).toEqual(expect.arrayContaining(['kms:GenerateDataKey', 'kms:Decrypt']));
    });

    it('runs on the schedules with the jobs it understands: daily and weekly full, hourly increment, weekly drill, daily prune', () => {
      const worker = fnId(dev, 'backupWorker');
      const rules = all(dev.template, 'AWS::Events::Rule').filter(([, r]) =>
        (r.Properties.Targets as { Arn: unknown }[] | undefined)?.some((t) => json(t.Arn) === json(arnOf(worker))),
      );
      const byInput = new Map(
        rules.map(([, r]) => [r.Properties.Targets[0].Input as string, r.Properties.ScheduleExpression as string]),
      );
      expect(byInput).toEqual(
        new Map([
          [json({ job: 'full', tier: 'daily' }), 'cron(0 2 ? * MON-SAT *)'],
          [json({ job: 'full', tier: 'weekly' }), 'cron(0 2 ? * SUN *)'],
          [json({ job: 'incremental' }), 'cron(30 * * * ? *)'],
          [json({ job: 'drill' }), 'cron(0 5 ? * WED *)'],
          [json({ job: 'prune' }), 'cron(0 6 * * ? *)'],
        ]),
      );
      expect(BACKUP_SCHEDULES).toHaveLength(5);
    });
  });

  describe('admin API', () => {
    it('starts jobs in the worker (and invokes nothing else new), reads the bucket, writes nothing there', () => {
      const env = (dev.template.toJSON().Resources[fnId(dev, 'adminApi')] as Resource).Properties.Environment.Variables;
      expect(env.GAMEKEEP_BACKUP_FUNCTION).toEqual({ Ref: fnId(dev, 'backupWorker') });
      const invokes = statements(dev, 'adminApi').filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
      expect(invokes.flatMap(resourcesOf)).toContain(json(arnOf(fnId(dev, 'backupWorker'))));
      const s3 = statements(dev, 'adminApi')
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('s3:'));
      expect([...new Set(s3)].sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
      // The worker's invokers: the admin API and the schedules (EventBridge), nobody else.
      const permissions = all(dev.template, 'AWS::Lambda::Permission', {
        FunctionName: arnOf(fnId(dev, 'backupWorker')),
      }).map(([, p]) => p.Properties.Principal);
      expect(new Set(permissions)).toEqual(new Set(['events.amazonaws.com']));
    });
  });

  describe('AWS Backup restore testing', () => {
    it('has a plan over the vault of the table and a selection of the table, restored with the plan role', () => {
      const [planId, plan] = only(dev.template, 'AWS::Backup::RestoreTestingPlan');
      expect(plan.Properties).toMatchObject({
        ScheduleExpression: RESTORE_TESTING.scheduleExpression,
        RecoveryPointSelection: {
          Algorithm: 'LATEST_WITHIN_WINDOW',
          IncludeVaults: [{ 'Fn::GetAtt': [logicalIdOf(dev.stack.backup.vault), 'BackupVaultArn'] }],
          RecoveryPointTypes: ['SNAPSHOT'],
          SelectionWindowDays: 7,
        },
      });
      const [, selection] = only(dev.template, 'AWS::Backup::RestoreTestingSelection');
      expect(selection.Properties).toMatchObject({
        RestoreTestingPlanName: { Ref: planId },
        ProtectedResourceType: 'DynamoDB',
        ProtectedResourceArns: [arnOf(ids.table)],
        IamRoleArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        ValidationWindowHours: RESTORE_TESTING.validationWindowHours,
      });
    });

    it('runs the validator on each completed restore test of this plan only', () => {
      const [planId] = only(dev.template, 'AWS::Backup::RestoreTestingPlan');
      const [, rule] = only(dev.template, 'AWS::Events::Rule', {
        EventPattern: { source: ['aws.backup'], 'detail-type': ['Restore Job State Change'] },
      });
      expect(rule.Properties.EventPattern.detail).toEqual({
        status: ['COMPLETED'],
        resourceType: ['DynamoDB'],
        restoreTestingPlanArn: [{ 'Fn::GetAtt': [planId, 'RestoreTestingPlanArn'] }],
      });
      expect(rule.Properties.Targets.map((t: { Arn: unknown }) => t.Arn)).toEqual([
        arnOf(fnId(dev, 'restoreValidator')),
      ]);
    });

    it('the validator reads restore-test tables only, keeps its check run there, and reports to AWS Backup', () => {
      const s = statements(dev, 'restoreValidator');
      const dynamo = s.filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
      for (const st of dynamo) for (const r of resourcesOf(st)) expect(r).toContain('awsbackup-restore-test-*');
      const writes = dynamo.filter((st) => actionsOf(st).includes('dynamodb:PutItem'));
      expect(writes.map((w) => w.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'])).toEqual([
        ['CHECK#*'],
      ]);
      expect(s.flatMap(actionsOf)).toContain('backup:PutRestoreValidationResult');
      expect(s.flatMap(actionsOf)).not.toContain('dynamodb:DeleteTable');
    });
  });

  describe('alarms', () => {
    const alarms = (st: SynthesizedStage) => all(st.template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const named = (st: SynthesizedStage, id: string) => {
      const stage = st === dev ? 'dev' : 'prod';
      const found = alarms(st).filter((a) => a.AlarmName === `gamekeep-${stage}-${id}`);
      expect(found, id).toHaveLength(1);
      return found[0]!;
    };

    it("the archive's lag: the archiver's stream iterator age, a few minutes", () => {
      for (const [st, ms] of [
        [dev, 300_000],
        [prod, 180_000],
      ] as const) {
        expect(named(st, 'ArchiveLag')).toMatchObject({
          MetricName: 'IteratorAge',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId(st, 'eventArchiver') } }],
          Threshold: ms,
        });
      }
    });

    it('a missing daily backup: no FullBackupTaken in any of the last 26 hours', () => {
      expect(named(dev, 'DailyBackupMissing')).toMatchObject({
        MetricName: 'FullBackupTaken',
        Namespace: 'Gamekeep',
        Dimensions: [{ Name: 'service', Value: 'backup-worker' }],
        Period: 3600,
        EvaluationPeriods: 26,
        DatapointsToAlarm: 26,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it('a failed drill, a failed restore validation, a failed backup; errors of the archiver and the worker; archiver failures', () => {
      for (const [id, metric, service] of [
        ['DrillFailed', 'DrillFailed', 'backup-worker'],
        ['RestoreValidationFailed', 'RestoreValidationFailed', 'restore-validator'],
        ['BackupFailed', 'BackupFailed', 'backup-worker'],
      ] as const)
        expect(named(dev, id)).toMatchObject({
          MetricName: metric,
          Dimensions: [{ Name: 'service', Value: service }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      expect(named(dev, 'EventArchiverErrors').Dimensions).toEqual([
        { Name: 'FunctionName', Value: { Ref: fnId(dev, 'eventArchiver') } },
      ]);
      expect(named(dev, 'BackupWorkerErrors').Dimensions).toEqual([
        { Name: 'FunctionName', Value: { Ref: fnId(dev, 'backupWorker') } },
      ]);
      expect(named(dev, 'ArchiverFailuresNotEmpty').MetricName).toBe('ApproximateNumberOfMessagesVisible');
    });

    it('every backup alarm notifies the alarm topic', () => {
      const topic = { Ref: logicalIdOf(dev.stack.monitoring.topic) };
      for (const id of [
        'ArchiveLag',
        'DailyBackupMissing',
        'DrillFailed',
        'RestoreValidationFailed',
        'BackupFailed',
        'EventArchiverErrors',
        'BackupWorkerErrors',
        'RestoreValidatorErrors',
        'ArchiverFailuresNotEmpty',
      ])
        expect(named(dev, id).AlarmActions, id).toEqual([topic]);
    });
  });
});
