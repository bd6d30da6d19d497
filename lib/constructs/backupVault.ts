import { type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TIER_TAG } from '../../shared/backup/backupBucket.js';
import { archivePrefix } from '../../shared/backup/eventArchive.js';
import { RETENTION_DAYS, type RetentionTier } from '../../shared/backup/retention.js';
import { acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** How long an overwritten or deleted version is kept after it stopped being current (an accident can be undone). */
export const NONCURRENT_VERSION_DAYS = 7;
/** Server access logs of the backup bucket are kept this long. */
export const ACCESS_LOG_DAYS = 365;

/** Key prefixes the backup code writes (shared/backup/manifest.ts, configVersions.ts, drill.ts, eventArchive.ts). */
export const BACKUP_PREFIXES = {
  backups: 'backups/',
  config: 'config/',
  drills: 'drills/',
  archive: 'archive/',
} as const;

/** The lifecycle rule of every tier that expires (config is kept forever): by the object tag the writer sets. */
export const tierLifecycleRules = (): s3.LifecycleRule[] =>
  (Object.entries(RETENTION_DAYS) as [RetentionTier, number | null][])
    .filter((entry): entry is [RetentionTier, number] => entry[1] !== null)
    .map(([tier, days]) => ({
      id: `tier-${tier}`,
      tagFilters: { [TIER_TAG]: tier },
      expiration: Duration.days(days),
      noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
    }));

/**
 * The logical backups' bucket (shared/backup/*): full and incremental backups, the event archive, configuration
 * versions and drill reports. One customer-managed key encrypts the bucket (SSE-KMS, bucket key) and wraps the AWS
 * Encryption SDK's data keys of every chunk (GAMEKEEP_BACKUP_KMS_KEY). Versioned, under Object Lock (no object goes
 * before the shortest tier's days, not even by its writer), TLS only, private, access-logged, expired per tier by
 * lifecycle rules, optionally replicated to a second region.
 */
export class BackupVault extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: { readonly settings: StageSettings }) {
    super(scope, id);
    const { settings } = props;
    // Object Lock keeps CloudFormation from emptying the bucket, so it and the key it needs are retained in every
    // stage (a retained bucket with a deleted key would be unreadable).
    this.key = new kms.Key(this, 'Key', {
      description: `Gamekeep ${settings.stage}: logical backups (bucket encryption and the Encryption SDK's wrapping key)`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // the log delivery service writes SSE-S3 only
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      lifecycleRules: [
        {
          id: 'access-logs',
          expiration: Duration.days(ACCESS_LOG_DAYS),
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.accessLogs, {
      'AwsSolutions-S1':
        'This bucket receives the server access logs of the backup bucket; logging it into itself would loop.',
    });

    const lock = settings.backupObjectLock;
    const retention = Duration.days(lock.days);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        lock.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(retention)
          : s3.ObjectLockRetention.governance(retention),
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'backups/',
      lifecycleRules: [
        ...tierLifecycleRules(),
        // Delete markers left once every version under them expired, and uploads that never finished.
        { id: 'housekeeping', expiredObjectDeleteMarker: true, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      ...(settings.backupReplica
        ? {
            replicationRules: [
              {
                destination: s3.Bucket.fromBucketArn(this, 'Replica', settings.backupReplica.bucketArn),
                kmsKey: kms.Key.fromKeyArn(this, 'ReplicaKey', settings.backupReplica.kmsKeyArn),
                sseKmsEncryptedObjects: true,
                // Deletions (lifecycle's delete markers) are not replicated: the replica expires by its own rules.
                deleteMarkerReplication: false,
                priority: 1,
              },
            ],
          }
        : {}),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (settings.backupReplica) {
      const bucketId = Stack.of(this).resolve((this.bucket.node.defaultChild as CfnElement).logicalId) as string;
      acknowledge(this.bucket, {
        [`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`]:
          "S3 replication's role reads every object version of this bucket to copy it: the whole bucket is what is replicated.",
        [`AwsSolutions-IAM5[Resource::${settings.backupReplica.bucketArn}/*]`]:
          'S3 replication writes each replica under its own key in the replica bucket (second region), and only there.',
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
          "Replication re-encrypts each object under the replica bucket's key; on that key and this bucket's key only.",
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]':
          "Replication re-encrypts each object under the replica bucket's key; on that key and this bucket's key only.",
      });
    }
  }

  /** `arn:…:bucket/<prefix>*` */
  objectsUnder(prefix: string): string {
    return `${this.bucket.bucketArn}/${prefix}*`;
  }

  /** The event archiver: appends objects under its table's archive prefix, and nothing else. */
  grantArchiveWrite(grantee: iam.IGrantable, tableName: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:PutObjectTagging'],
        resources: [this.objectsUnder(archivePrefix(tableName))],
      }),
    );
    this.grantSealing(grantee);
  }

  /**
   * The backup worker: lists, reads and writes (tagged) every kind of backup object, and deletes the current version
   * of expired ones for `prune` (a delete marker: versions stay until lifecycle removes them, Object Lock permitting).
   */
  grantWorker(grantee: iam.IGrantable): void {
    const p = BACKUP_PREFIXES;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject'],
        resources: [p.backups, p.config, p.drills].map((prefix) => this.objectsUnder(prefix)),
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:DeleteObject'],
        resources: [this.objectsUnder(p.archive)],
      }),
    );
    this.grantSealing(grantee);
  }

  /** The admin API: lists backups and reads manifests, verifications and drill reports. */
  grantRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [BACKUP_PREFIXES.backups, BACKUP_PREFIXES.drills].map((prefix) => this.objectsUnder(prefix)),
      }),
    );
    this.key.grant(grantee, 'kms:Decrypt', 'kms:DescribeKey');
  }

  /**
   * The Encryption SDK asks KMS for a data key per message and decrypts it to read; S3 uses the same key for
   * SSE-KMS on the caller's behalf (bucket key). On this key only.
   */
  private grantSealing(grantee: iam.IGrantable): void {
    this.key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt', 'kms:DescribeKey');
  }
}
