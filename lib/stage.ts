import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { RETENTION_DAYS } from '../shared/backup/retention.js';
import { loadConfig } from '../shared/config.js';

/** Object Lock's default retention: no backup object may go before the shortest tier lets it (the archive's 7 days). */
const SHORTEST_RETENTION_DAYS = Math.min(...Object.values(RETENTION_DAYS).filter((d) => d !== null));

/**
 * Everything that differs between stages, resolved once from the CDK context (`-c stage=prod`, cdk.json).
 * Constructs receive this object and never read the context themselves, so a test can build any stage.
 */
export interface StageSettings {
  readonly stage: string;
  readonly isProd: boolean;
  /** Stateful resources (table, keys, vault, secrets, log groups): RETAIN in prod, DESTROY elsewhere. */
  readonly statefulRemovalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  /** Command records (the idempotency records) live this long; DESIGN.md section 3 requires at least 7 days. */
  readonly commandRecordDays: number;
  /** Upper bound of concurrent processor instances (SQS event source maximum concurrency). */
  readonly processorMaxConcurrency: number;
  /** Stage-wide throttling of each HTTP API. */
  readonly apiThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Serverless cache ceilings: a cost cap, not a size (serverless scales below it). */
  readonly cacheLimits: { readonly dataStorageGb: number; readonly ecpuPerSecond: number };
  readonly cacheSnapshotRetentionDays: number;
  /** JWT authorizer of the public API's player routes. */
  readonly jwt: { readonly issuer: string; readonly audience: readonly string[] };
  /** Optional e-mail subscribed to the alarm topic. */
  readonly alarmEmail: string | undefined;
  /** Optional AWS Backup vault ARN in a second region: every recovery point is copied there. */
  readonly backupCopyVaultArn: string | undefined;
  /** API 5xx answers in 5 minutes that raise the alarm. */
  readonly api5xxThreshold: number;
  /** Projector stream iterator age that raises the alarm. */
  readonly maxProjectionLag: Duration;
  /** Event archiver stream iterator age that raises the alarm: the archive's lag, what losing the table would cost. */
  readonly maxArchiveLag: Duration;
  /**
   * Object Lock of the logical-backup bucket: its mode (GOVERNANCE lets a privileged operator shorten it in dev,
   * COMPLIANCE lets nobody in prod) and its default retention, the shortest tier (shared/backup/retention.ts).
   */
  readonly backupObjectLock: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
  /**
   * Optional replication of the logical-backup bucket to a bucket in a second region (context
   * `backupReplicaBucketArn` and `backupReplicaKmsKeyArn`, the replica's key there).
   */
  readonly backupReplica?: { readonly bucketArn: string; readonly kmsKeyArn: string };
  /**
   * Set only while a point-in-time restore is swapped in (docs/operations.md): the restored table's name and the
   * phase. `detach` leaves the old table out of the stack (the functions use the restored one by name); `import`
   * declares the restored table as it was restored (no stream, TTL, PITR) for `cdk import`. A normal deploy
   * afterwards re-attaches stream, TTL, PITR, deletion protection, tags and the projector.
   */
  readonly tableRestore: { readonly tableName: string; readonly phase: 'detach' | 'import' } | undefined;
  /**
   * Days the audit keeps each source kind's entries, `operator=3650,client=30` (context `auditRetentionDays`; the
   * defaults of shared/persistence/auditLog.ts for the kinds it does not name). Set on the command processor, which
   * writes the audit's TTL with each command record.
   */
  readonly auditRetention?: string;
  /** The operators' Cognito hosted UI domain prefix; `gamekeep-<stage>-<account id>` when absent. */
  readonly operatorDomainPrefix?: string;
  /** The console's own domain and its ACM certificate (us-east-1); CloudFront's default domain when absent. */
  readonly consoleDomain?: { readonly name: string; readonly certificateArn: string };
}

interface StageDefaults {
  readonly jwtIssuer?: string;
  readonly jwtAudience?: string | string[];
  readonly alarmEmail?: string;
  readonly backupCopyVaultArn?: string;
  readonly operatorDomainPrefix?: string;
  readonly consoleDomainName?: string;
  readonly consoleCertificateArn?: string;
  readonly backupReplicaBucketArn?: string;
  readonly backupReplicaKmsKeyArn?: string;
  readonly auditRetentionDays?: string;
}

const RESTORE_PHASES = ['detach', 'import'] as const;

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Reads the stage and its settings. Per-stage defaults live in cdk.json under `gamekeep:stages`; a flat
 * context value (`-c jwtIssuer=...`) overrides them for one run.
 */
export function stageSettings(node: Node): StageSettings {
  const stage: unknown = node.tryGetContext('stage') ?? 'dev';
  if (typeof stage !== 'string' || !STAGE_PATTERN.test(stage)) {
    throw new Error(
      `Invalid stage context ${JSON.stringify(stage)}: expected lowercase letters, digits and dashes, e.g. dev or prod`,
    );
  }
  const defaults = ((node.tryGetContext('gamekeep:stages') ?? {}) as Record<string, StageDefaults>)[stage] ?? {};
  const read = <K extends keyof StageDefaults>(key: K): StageDefaults[K] =>
    (node.tryGetContext(key) as StageDefaults[K] | undefined) ?? defaults[key];

  const issuer = read('jwtIssuer');
  const audience = read('jwtAudience');
  if (!issuer || !/^https:\/\//.test(issuer)) {
    throw new Error(
      `Stage ${stage}: context jwtIssuer must be an https URL (set it in cdk.json "gamekeep:stages" or with -c jwtIssuer=...)`,
    );
  }
  const audiences = (Array.isArray(audience) ? audience : String(audience ?? '').split(','))
    .map((a) => a.trim())
    .filter(Boolean);
  if (audiences.length === 0) throw new Error(`Stage ${stage}: context jwtAudience must name at least one audience`);

  const restoreTableName: unknown = node.tryGetContext('restoreTableName');
  const restorePhase: unknown = node.tryGetContext('restorePhase');
  if ((restoreTableName === undefined) !== (restorePhase === undefined)) {
    throw new Error(
      'restoreTableName and restorePhase go together (docs/operations.md, "Restoring the table to a point in time")',
    );
  }
  if (restorePhase !== undefined && !RESTORE_PHASES.includes(restorePhase as never)) {
    throw new Error(`restorePhase must be one of ${RESTORE_PHASES.join(', ')}`);
  }
  if (
    restoreTableName !== undefined &&
    (typeof restoreTableName !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(restoreTableName))
  ) {
    throw new Error(`restoreTableName ${JSON.stringify(restoreTableName)} is not a DynamoDB table name`);
  }

  return settingsFor(stage, {
    jwt: { issuer, audience: audiences },
    alarmEmail: read('alarmEmail') || undefined,
    backupCopyVaultArn: read('backupCopyVaultArn') || undefined,
    ...operatorDomainPrefixOf(read('operatorDomainPrefix')),
    ...consoleDomainOf(read('consoleDomainName'), read('consoleCertificateArn')),
    ...backupReplicaOf(read('backupReplicaBucketArn'), read('backupReplicaKmsKeyArn')),
    ...auditRetentionOf(read('auditRetentionDays')),
    tableRestore: restoreTableName
      ? { tableName: restoreTableName as string, phase: restorePhase as 'detach' | 'import' }
      : undefined,
  });
}

/** A Cognito domain prefix: lowercase letters, digits and dashes, without the words Cognito reserves. */
function operatorDomainPrefixOf(prefix: string | undefined): Pick<StageSettings, 'operatorDomainPrefix'> {
  if (!prefix) return {};
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix) || /aws|amazon|cognito/.test(prefix)) {
    throw new Error(
      `operatorDomainPrefix ${JSON.stringify(prefix)} is not a Cognito domain prefix (a-z 0-9 -, no aws, amazon or cognito)`,
    );
  }
  return { operatorDomainPrefix: prefix };
}

/** The console's domain name and certificate go together; the certificate is CloudFront's, so in us-east-1. */
function consoleDomainOf(
  name: string | undefined,
  certificateArn: string | undefined,
): Pick<StageSettings, 'consoleDomain'> {
  if (!name && !certificateArn) return {};
  if (!name || !certificateArn) throw new Error('consoleDomainName and consoleCertificateArn go together');
  if (!/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/.test(certificateArn)) {
    throw new Error(
      `consoleCertificateArn ${JSON.stringify(certificateArn)} is not an ACM certificate ARN in us-east-1`,
    );
  }
  return { consoleDomain: { name, certificateArn } };
}

/** The replica bucket (second region) of the logical backups and its key there: both or neither. */
/** Checked as the functions will read it (shared/config.ts), so a bad value fails the synth, not the processor. */
function auditRetentionOf(value: string | undefined): Pick<StageSettings, 'auditRetention'> {
  if (!value) return {};
  try {
    loadConfig({ GAMEKEEP_AUDIT_RETENTION_DAYS: value });
  } catch (error) {
    throw new Error(`auditRetentionDays ${JSON.stringify(value)}: ${String(error)}`);
  }
  return { auditRetention: value };
}

function backupReplicaOf(
  bucketArn: string | undefined,
  kmsKeyArn: string | undefined,
): Pick<StageSettings, 'backupReplica'> {
  if (!bucketArn && !kmsKeyArn) return {};
  if (!bucketArn || !kmsKeyArn)
    throw new Error('backupReplicaBucketArn and backupReplicaKmsKeyArn go together (the replica bucket and its key)');
  if (!/^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketArn))
    throw new Error(`backupReplicaBucketArn ${JSON.stringify(bucketArn)} is not an S3 bucket ARN`);
  if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(kmsKeyArn))
    throw new Error(`backupReplicaKmsKeyArn ${JSON.stringify(kmsKeyArn)} is not a KMS key ARN`);
  return { backupReplica: { bucketArn, kmsKeyArn } };
}

/** Sizes and retention per stage: prod keeps data and logs longer and allows more concurrency. */
export function settingsFor(
  stage: string,
  external: Pick<
    StageSettings,
    | 'jwt'
    | 'alarmEmail'
    | 'backupCopyVaultArn'
    | 'tableRestore'
    | 'operatorDomainPrefix'
    | 'consoleDomain'
    | 'backupReplica'
    | 'auditRetention'
  >,
): StageSettings {
  const isProd = stage === 'prod';
  return {
    stage,
    isProd,
    statefulRemovalPolicy: isProd ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    logRetention: isProd ? logs.RetentionDays.THREE_MONTHS : logs.RetentionDays.ONE_WEEK,
    commandRecordDays: 14,
    processorMaxConcurrency: isProd ? 50 : 5,
    apiThrottle: isProd ? { rateLimit: 2000, burstLimit: 5000 } : { rateLimit: 50, burstLimit: 100 },
    cacheLimits: isProd ? { dataStorageGb: 50, ecpuPerSecond: 100_000 } : { dataStorageGb: 1, ecpuPerSecond: 5_000 },
    cacheSnapshotRetentionDays: isProd ? 7 : 1,
    api5xxThreshold: isProd ? 5 : 20,
    maxProjectionLag: Duration.seconds(isProd ? 60 : 300),
    maxArchiveLag: Duration.minutes(isProd ? 3 : 5),
    backupObjectLock: { mode: isProd ? 'COMPLIANCE' : 'GOVERNANCE', days: SHORTEST_RETENTION_DAYS },
    ...external,
  };
}
