import { z } from 'zod';
import { SourceKind } from './engine/envelope.js';

/**
 * The one place that reads the environment. On AWS the CDK sets these variables; locally the runtime and the
 * tests set the endpoints of the stand-ins. Everything else receives a typed `Config`.
 */
/** An endpoint or queue URL. Not zod's `url()`: it refuses the emulator's `sqs.<region>.127.0.0.1` host names. */
const endpoint = (schemes: string) =>
  z.string().regex(new RegExp(`^(${schemes})://[^\\s/?#]+(?:[/?#]\\S*)?$`), `must be a ${schemes} URL`);

const Env = z.object({
  AWS_REGION: z.string().default('us-east-1'),
  GAMEKEEP_TABLE: z.string().min(3).default('gamekeep'),
  GAMEKEEP_QUEUE_URL: endpoint('https?').optional(),
  GAMEKEEP_DLQ_URL: endpoint('https?').optional(),
  GAMEKEEP_CHECKER_FUNCTION: z.string().min(1).max(140).optional(),
  GAMEKEEP_REBUILD_FUNCTION: z.string().min(1).max(140).optional(),
  GAMEKEEP_DYNAMODB_ENDPOINT: endpoint('https?').optional(),
  GAMEKEEP_SQS_ENDPOINT: endpoint('https?').optional(),
  GAMEKEEP_COMMAND_RECORD_DAYS: z.coerce.number().int().min(7).default(14),
  GAMEKEEP_MAX_COMMIT_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  GAMEKEEP_API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  GAMEKEEP_JWT_SECRET: z.string().min(16).optional(),
  GAMEKEEP_SERVICE_TOKEN: z.string().min(16).optional(),
  GAMEKEEP_ADMIN_TOKEN: z.string().min(16).optional(),
  REDIS_URL: endpoint('rediss?').optional(),
  GAMEKEEP_SERVICE_ROLES: z.string().optional(),
  GAMEKEEP_OPERATOR_ROLES: z.string().optional(),
  GAMEKEEP_DAILY_REWARD_HOUR: z.coerce.number().int().min(0).max(23).optional(),
  GAMEKEEP_WEBHOOK_SECRETS_ARN: z.string().optional(),
  GAMEKEEP_REDIS_SECRET_ARN: z.string().optional(),
  GAMEKEEP_VIEW_TTL_SECONDS: z.coerce.number().int().min(1).optional(),
  GAMEKEEP_LEADERBOARD_RETENTION_DAYS: z.coerce.number().int().min(1).optional(),
  GAMEKEEP_BACKUP_BUCKET: z.string().min(3).max(63).optional(),
  GAMEKEEP_BACKUP_KMS_KEY: z.string().min(1).optional(),
  GAMEKEEP_BACKUP_KEY_FILE: z.string().min(1).optional(),
  GAMEKEEP_BACKUP_FUNCTION: z.string().min(1).max(140).optional(),
  GAMEKEEP_S3_ENDPOINT: endpoint('https?').optional(),
  GAMEKEEP_OPERATOR_ISSUER: endpoint('https?').optional(),
  GAMEKEEP_OPERATOR_AUDIENCE: z.string().min(1).optional(),
  GAMEKEEP_SUPPORT_ADJUSTMENT_LIMIT: z.coerce.number().int().min(0).optional(),
  GAMEKEEP_SUPPORT_DAILY_LIMIT: z.coerce.number().int().min(0).optional(),
  GAMEKEEP_APPROVAL_THRESHOLDS: z
    .string()
    .regex(/^(gold|spiritStones|items)=\d+(,(gold|spiritStones|items)=\d+)*$/, 'must be like gold=100000,items=500')
    .optional(),
  GAMEKEEP_APPROVAL_TTL_HOURS: z.coerce.number().int().min(1).max(8760).optional(),
  /** Set by Lambda itself: the process runs on AWS (long work continues by invoking its own function). */
  AWS_LAMBDA_FUNCTION_NAME: z.string().min(1).optional(),
  GAMEKEEP_OIDC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** `operator=3650,client=30`: days the audit keeps each source kind's entries (docs/console.md). */
  GAMEKEEP_AUDIT_RETENTION_DAYS: z
    .string()
    .regex(
      new RegExp(
        `^(?:(?:${SourceKind.options.join('|')})=\\d{1,5})(?:,(?:${SourceKind.options.join('|')})=\\d{1,5})*$`,
      ),
      `must be kind=days pairs, comma-separated (kinds: ${SourceKind.options.join(', ')})`,
    )
    .optional(),
});

/** `GAMEKEEP_WEBHOOK_SECRET_<PROVIDER>`: comma-separated secrets per payment provider (several during rotation). */
const WEBHOOK_SECRET_PREFIX = 'GAMEKEEP_WEBHOOK_SECRET_';

export interface Config {
  readonly region: string;
  readonly tableName: string;
  /** The command queue (SQS FIFO). Producers need it; the processor does not. */
  readonly queueUrl: string | undefined;
  /** Where the processor forwards messages that can never be processed (malformed envelopes). */
  readonly deadLetterQueueUrl: string | undefined;
  /** The consistency checker's function, which the admin API starts a check in (locally a check runs in process). */
  readonly checkerFunctionName: string | undefined;
  /** The read-side rebuild's function, which the admin API starts a rebuild in (locally the runtime provides one). */
  readonly rebuildFunctionName: string | undefined;
  /** Set only for the local stand-ins; on AWS the SDK's default endpoints are used. */
  readonly dynamoDbEndpoint: string | undefined;
  readonly sqsEndpoint: string | undefined;
  /** Command records (the idempotency records) live this long; longer than every upstream retry horizon. */
  readonly commandRecordDays: number;
  /** Optimistic-concurrency attempts of one commit before its messages go back to the queue. */
  readonly maxCommitAttempts: number;
  /** Port of the local HTTP gateway (`npm start`). */
  readonly apiPort: number;
  /** Local only: HS256 secret of player JWTs (on AWS the HTTP API's JWT authorizer verifies them). */
  readonly jwtSecret: string | undefined;
  /** Local only: bearer tokens standing in for IAM-signed game services and operators. */
  readonly serviceToken: string | undefined;
  readonly adminToken: string | undefined;
  /** Local webhook secrets by provider (on AWS they come from Secrets Manager). */
  readonly webhookSecrets: Readonly<Record<string, readonly string[]>>;
  /** The player-view cache and leaderboards (ElastiCache on AWS, redis-server locally). */
  readonly redisUrl: string | undefined;
  /** IAM role names whose callers are game services / operators on the internal API (defaults in shared/http/caller.ts). */
  readonly serviceRoles?: readonly string[];
  readonly operatorRoles?: readonly string[];
  /** UTC hour of the daily reward run (the EventBridge rule on AWS, the local scheduler here); 0 when absent. */
  readonly dailyRewardHour?: number;
  /** AWS: the Secrets Manager secret `{"<provider>": ["<secret>", ...]}` the payment webhook reads (and re-reads for rotation). */
  readonly webhookSecretsArn?: string;
  /** On AWS: the Secrets Manager secret holding the cache's `{"username", "password"}` (REDIS_URL carries none). */
  readonly redisSecretArn?: string;
  /** Base TTL of a cached player view (±20 % jitter per write); 300 s when absent. */
  readonly viewTtlSeconds?: number;
  /** How long a past period of a periodic leaderboard stays readable after it ends; 90 days when absent. */
  readonly leaderboardRetentionDays?: number;
  /** Where backups and the event archive live: the S3 bucket (s3rver's locally, at `s3Endpoint`). */
  readonly backupBucket?: string;
  /** On AWS: the KMS key (ARN) backups and the archive are encrypted under. */
  readonly backupKmsKey?: string;
  /** Locally: the raw AES key file in place of KMS (.gamekeep/backup.key). */
  readonly backupKeyFile?: string;
  /** The backup worker's function, which the admin API starts backups, verifications and drills in. */
  readonly backupFunctionName?: string;
  readonly s3Endpoint?: string;
  /** The OpenID Connect issuer of operators' tokens (Cognito on AWS, the local provider of `npm start`). */
  readonly operatorIssuer?: string;
  /** Audiences (or Cognito app client ids) an operator token must be for; `gamekeep-admin` when absent. */
  readonly operatorAudiences?: readonly string[];
  /** The largest balance adjustment a support operator may make in one action (1,000 when absent). */
  readonly supportAdjustmentLimit?: number;
  /** What a support operator may adjust per UTC day, per currency, as a sum of absolute amounts (5,000 when absent). */
  readonly supportDailyLimit?: number;
  /**
   * Above these (absolute amount per currency, item quantity) an adjustment or a bulk grant's total needs a second
   * operator's approval; absent entries take the defaults of shared/approvals/policy.ts.
   */
  readonly approvalThresholds?: Readonly<Partial<Record<'gold' | 'spiritStones' | 'items', number>>>;
  /** How long an approval request stays pending before it expires (72 hours when absent). */
  readonly approvalTtlHours?: number;
  /** On AWS, the function this process serves (Lambda sets it); absent locally. */
  readonly lambdaFunctionName?: string;
  /** Local only: the port of the operators' OpenID provider (3001), fixed so tokens outlive a restart. */
  readonly oidcPort?: number;
  /** Days the audit keeps entries, per source kind; unset kinds keep the defaults of shared/persistence/auditLog.ts. */
  readonly auditRetentionDays?: Partial<Record<SourceKind, number>>;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const e = Env.parse(env);
  return {
    region: e.AWS_REGION,
    tableName: e.GAMEKEEP_TABLE,
    queueUrl: e.GAMEKEEP_QUEUE_URL,
    deadLetterQueueUrl: e.GAMEKEEP_DLQ_URL,
    checkerFunctionName: e.GAMEKEEP_CHECKER_FUNCTION,
    rebuildFunctionName: e.GAMEKEEP_REBUILD_FUNCTION,
    dynamoDbEndpoint: e.GAMEKEEP_DYNAMODB_ENDPOINT,
    sqsEndpoint: e.GAMEKEEP_SQS_ENDPOINT,
    commandRecordDays: e.GAMEKEEP_COMMAND_RECORD_DAYS,
    maxCommitAttempts: e.GAMEKEEP_MAX_COMMIT_ATTEMPTS,
    apiPort: e.GAMEKEEP_API_PORT,
    jwtSecret: e.GAMEKEEP_JWT_SECRET,
    serviceToken: e.GAMEKEEP_SERVICE_TOKEN,
    adminToken: e.GAMEKEEP_ADMIN_TOKEN,
    webhookSecrets: Object.fromEntries(
      Object.entries(env)
        .filter(([k, v]) => k.startsWith(WEBHOOK_SECRET_PREFIX) && v)
        .map(([k, v]) => [
          k.slice(WEBHOOK_SECRET_PREFIX.length).toLowerCase(),
          v!
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        ]),
    ),
    redisUrl: e.REDIS_URL,
    ...(e.GAMEKEEP_SERVICE_ROLES ? { serviceRoles: list(e.GAMEKEEP_SERVICE_ROLES) } : {}),
    ...(e.GAMEKEEP_OPERATOR_ROLES ? { operatorRoles: list(e.GAMEKEEP_OPERATOR_ROLES) } : {}),
    ...(e.GAMEKEEP_DAILY_REWARD_HOUR !== undefined ? { dailyRewardHour: e.GAMEKEEP_DAILY_REWARD_HOUR } : {}),
    ...(e.GAMEKEEP_WEBHOOK_SECRETS_ARN ? { webhookSecretsArn: e.GAMEKEEP_WEBHOOK_SECRETS_ARN } : {}),
    ...(e.GAMEKEEP_REDIS_SECRET_ARN ? { redisSecretArn: e.GAMEKEEP_REDIS_SECRET_ARN } : {}),
    ...(e.GAMEKEEP_VIEW_TTL_SECONDS !== undefined ? { viewTtlSeconds: e.GAMEKEEP_VIEW_TTL_SECONDS } : {}),
    ...(e.GAMEKEEP_LEADERBOARD_RETENTION_DAYS !== undefined
      ? { leaderboardRetentionDays: e.GAMEKEEP_LEADERBOARD_RETENTION_DAYS }
      : {}),
    ...(e.GAMEKEEP_BACKUP_BUCKET ? { backupBucket: e.GAMEKEEP_BACKUP_BUCKET } : {}),
    ...(e.GAMEKEEP_BACKUP_KMS_KEY ? { backupKmsKey: e.GAMEKEEP_BACKUP_KMS_KEY } : {}),
    ...(e.GAMEKEEP_BACKUP_KEY_FILE ? { backupKeyFile: e.GAMEKEEP_BACKUP_KEY_FILE } : {}),
    ...(e.GAMEKEEP_BACKUP_FUNCTION ? { backupFunctionName: e.GAMEKEEP_BACKUP_FUNCTION } : {}),
    ...(e.GAMEKEEP_S3_ENDPOINT ? { s3Endpoint: e.GAMEKEEP_S3_ENDPOINT } : {}),
    ...(e.GAMEKEEP_OPERATOR_ISSUER ? { operatorIssuer: e.GAMEKEEP_OPERATOR_ISSUER } : {}),
    ...(e.GAMEKEEP_OPERATOR_AUDIENCE ? { operatorAudiences: list(e.GAMEKEEP_OPERATOR_AUDIENCE) } : {}),
    ...(e.GAMEKEEP_SUPPORT_ADJUSTMENT_LIMIT !== undefined
      ? { supportAdjustmentLimit: e.GAMEKEEP_SUPPORT_ADJUSTMENT_LIMIT }
      : {}),
    ...(e.GAMEKEEP_OIDC_PORT !== undefined ? { oidcPort: e.GAMEKEEP_OIDC_PORT } : {}),
    ...(e.GAMEKEEP_SUPPORT_DAILY_LIMIT !== undefined ? { supportDailyLimit: e.GAMEKEEP_SUPPORT_DAILY_LIMIT } : {}),
    ...(e.GAMEKEEP_APPROVAL_THRESHOLDS
      ? {
          approvalThresholds: Object.fromEntries(
            list(e.GAMEKEEP_APPROVAL_THRESHOLDS).map((pair) => {
              const [name, value] = pair.split('=');
              return [name!, Number(value)];
            }),
          ),
        }
      : {}),
    ...(e.GAMEKEEP_APPROVAL_TTL_HOURS !== undefined ? { approvalTtlHours: e.GAMEKEEP_APPROVAL_TTL_HOURS } : {}),
    ...(e.AWS_LAMBDA_FUNCTION_NAME ? { lambdaFunctionName: e.AWS_LAMBDA_FUNCTION_NAME } : {}),
    ...(e.GAMEKEEP_AUDIT_RETENTION_DAYS
      ? {
          auditRetentionDays: Object.fromEntries(
            list(e.GAMEKEEP_AUDIT_RETENTION_DAYS).map((pair) => {
              const [kind, days] = pair.split('=');
              return [kind!, Number(days)];
            }),
          ) as Partial<Record<SourceKind, number>>,
        }
      : {}),
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The environment a process needs to reach a given stack: what the CDK sets on AWS, and the local runtime here. */
export function configEnvironment(c: Config): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: c.region,
    GAMEKEEP_TABLE: c.tableName,
    GAMEKEEP_COMMAND_RECORD_DAYS: String(c.commandRecordDays),
    GAMEKEEP_MAX_COMMIT_ATTEMPTS: String(c.maxCommitAttempts),
  };
  if (c.queueUrl) env.GAMEKEEP_QUEUE_URL = c.queueUrl;
  if (c.deadLetterQueueUrl) env.GAMEKEEP_DLQ_URL = c.deadLetterQueueUrl;
  if (c.checkerFunctionName) env.GAMEKEEP_CHECKER_FUNCTION = c.checkerFunctionName;
  if (c.rebuildFunctionName) env.GAMEKEEP_REBUILD_FUNCTION = c.rebuildFunctionName;
  if (c.dynamoDbEndpoint) env.GAMEKEEP_DYNAMODB_ENDPOINT = c.dynamoDbEndpoint;
  if (c.sqsEndpoint) env.GAMEKEEP_SQS_ENDPOINT = c.sqsEndpoint;
  env.GAMEKEEP_API_PORT = String(c.apiPort);
  if (c.jwtSecret) env.GAMEKEEP_JWT_SECRET = c.jwtSecret;
  if (c.serviceToken) env.GAMEKEEP_SERVICE_TOKEN = c.serviceToken;
  if (c.adminToken) env.GAMEKEEP_ADMIN_TOKEN = c.adminToken;
  for (const [provider, secrets] of Object.entries(c.webhookSecrets))
    env[`${WEBHOOK_SECRET_PREFIX}${provider.toUpperCase()}`] = secrets.join(',');
  if (c.redisUrl) env.REDIS_URL = c.redisUrl;
  if (c.serviceRoles) env.GAMEKEEP_SERVICE_ROLES = c.serviceRoles.join(',');
  if (c.operatorRoles) env.GAMEKEEP_OPERATOR_ROLES = c.operatorRoles.join(',');
  if (c.dailyRewardHour !== undefined) env.GAMEKEEP_DAILY_REWARD_HOUR = String(c.dailyRewardHour);
  if (c.webhookSecretsArn) env.GAMEKEEP_WEBHOOK_SECRETS_ARN = c.webhookSecretsArn;
  if (c.redisSecretArn) env.GAMEKEEP_REDIS_SECRET_ARN = c.redisSecretArn;
  if (c.viewTtlSeconds !== undefined) env.GAMEKEEP_VIEW_TTL_SECONDS = String(c.viewTtlSeconds);
  if (c.leaderboardRetentionDays !== undefined)
    env.GAMEKEEP_LEADERBOARD_RETENTION_DAYS = String(c.leaderboardRetentionDays);
  if (c.backupBucket) env.GAMEKEEP_BACKUP_BUCKET = c.backupBucket;
  if (c.backupKmsKey) env.GAMEKEEP_BACKUP_KMS_KEY = c.backupKmsKey;
  if (c.backupKeyFile) env.GAMEKEEP_BACKUP_KEY_FILE = c.backupKeyFile;
  if (c.backupFunctionName) env.GAMEKEEP_BACKUP_FUNCTION = c.backupFunctionName;
  if (c.s3Endpoint) env.GAMEKEEP_S3_ENDPOINT = c.s3Endpoint;
  if (c.operatorIssuer) env.GAMEKEEP_OPERATOR_ISSUER = c.operatorIssuer;
  if (c.operatorAudiences) env.GAMEKEEP_OPERATOR_AUDIENCE = c.operatorAudiences.join(',');
  if (c.supportAdjustmentLimit !== undefined) env.GAMEKEEP_SUPPORT_ADJUSTMENT_LIMIT = String(c.supportAdjustmentLimit);
  if (c.oidcPort !== undefined) env.GAMEKEEP_OIDC_PORT = String(c.oidcPort);
  if (c.supportDailyLimit !== undefined) env.GAMEKEEP_SUPPORT_DAILY_LIMIT = String(c.supportDailyLimit);
  if (c.approvalThresholds)
    env.GAMEKEEP_APPROVAL_THRESHOLDS = Object.entries(c.approvalThresholds)
      .map(([name, value]) => `${name}=${value}`)
      .join(',');
  if (c.approvalTtlHours !== undefined) env.GAMEKEEP_APPROVAL_TTL_HOURS = String(c.approvalTtlHours);
  if (c.auditRetentionDays)
    env.GAMEKEEP_AUDIT_RETENTION_DAYS = Object.entries(c.auditRetentionDays)
      .map(([kind, days]) => `${kind}=${days}`)
      .join(',');
  return env;
}
