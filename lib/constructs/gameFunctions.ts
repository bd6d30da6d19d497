import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { archivePrefix } from '../../shared/backup/eventArchive.js';
import { RESTORE_TEST_TABLE_PREFIX } from '../../shared/backup/restoreValidation.js';
import type { BackupVault } from './backupVault.js';
import type { CommandQueues } from './commandQueues.js';
import { TABLE_COMMIT, TABLE_READ, type GameTable } from './gameTable.js';
import type { PlayerCache, PrivateNetwork } from './playerCache.js';
import { LAMBDA_BASIC_EXECUTION, LAMBDA_VPC_EXECUTION, acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** Paths resolved from this file, so synthesis does not depend on the working directory. */
const fromRepoRoot = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** CloudWatch namespace of every Powertools metric (the dashboard reads it). */
export const METRICS_NAMESPACE = 'Gamekeep';

interface FunctionSpec {
  /** Directory under functions/; its index.ts exports `handler`. Also the Powertools service name. */
  readonly dir: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Runs in the VPC because it talks to the cache. */
  readonly inVpc: boolean;
}

/**
 * Every Lambda of Gamekeep, declared once: the construct below, the alarms and the tests iterate over this.
 * Access (environment, permissions, event sources) is wired per function in `GameFunctions`.
 */
export const FUNCTIONS = {
  commandProcessor: {
    dir: 'command-processor',
    description: 'Applies queued commands exactly once (SQS FIFO source, one transaction per batch)',
    timeout: Duration.seconds(30),
    memorySize: 1024,
    inVpc: false,
  },
  api: {
    dir: 'api',
    description: 'Player and service routes of the HTTP APIs (reads, enqueues commands)',
    // `Prefer: wait=N` waits up to 10 s for an outcome; HTTP API integrations time out at 30 s.
    timeout: Duration.seconds(15),
    memorySize: 1024,
    inVpc: true,
  },
  paymentWebhook: {
    dir: 'payment-webhook',
    description: 'Payment provider webhooks: verifies the signature, enqueues CreditPurchase',
    timeout: Duration.seconds(15),
    memorySize: 512,
    inVpc: false,
  },
  adminApi: {
    dir: 'admin-api',
    description:
      'Operator routes under /v1/admin/ (stats is served by the api function, which reaches the cache) (IAM only)',
    timeout: Duration.seconds(29),
    memorySize: 512,
    inVpc: false,
  },
  rewardScheduler: {
    dir: 'reward-scheduler',
    description:
      'Daily reward run: lists players in segments, enqueues rewards, confirms them, continues itself from a checkpoint',
    timeout: Duration.minutes(5),
    memorySize: 512,
    inVpc: false,
  },
  paymentReconciler: {
    dir: 'payment-reconciler',
    description:
      'Every few minutes: settles queued payment credits from their outcome, re-sends those without one, credits unmatched payments whose player appeared',
    timeout: Duration.minutes(2),
    memorySize: 512,
    inVpc: false,
  },
  projector: {
    dir: 'projector',
    description:
      'The single table-stream consumer: player views and leaderboards in the cache; heals them when the cache lost its data',
    timeout: Duration.seconds(60),
    memorySize: 512,
    inVpc: true,
  },
  leaderboardRebuild: {
    dir: 'leaderboard-rebuild',
    description:
      'Rebuilds cached views and leaderboards from the table (operators, the heal); checkpointed, continues itself',
    timeout: Duration.minutes(15),
    memorySize: 1024,
    inVpc: true,
  },
  consistencyChecker: {
    dir: 'consistency-checker',
    description:
      'The consistency check (schema, invariants, folds, references, ledger, read side): daily sampled, or started by operators; checkpointed, continues itself',
    timeout: Duration.minutes(15),
    memorySize: 1024,
    inVpc: true,
  },
  eventArchiver: {
    dir: 'event-archiver',
    description:
      "The table stream's second consumer: every batch becomes one encrypted object of the event archive (backups bucket)",
    timeout: Duration.seconds(60),
    memorySize: 512,
    inVpc: false,
  },
  backupWorker: {
    dir: 'backup-worker',
    description:
      'Logical backups: full and incremental backups, verifications, restore drills into scratch tables, prune (schedules and the admin API)',
    timeout: Duration.minutes(15),
    // A full backup streams the table through gzip and the Encryption SDK; a drill holds the restored items to compare.
    memorySize: 3008,
    inVpc: false,
  },
  restoreValidator: {
    dir: 'restore-validator',
    description:
      "AWS Backup restore testing's validation: the consistency check of the restored table, reported to AWS Backup; continues itself",
    timeout: Duration.minutes(15),
    memorySize: 1024,
    inVpc: false,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

export const entryOf = (name: FunctionName): string => fromRepoRoot(`functions/${FUNCTIONS[name].dir}/index.ts`);

/** Entries that do not exist (yet): synthesis needs every one of them. */
export const missingEntries = (): FunctionName[] =>
  (Object.keys(FUNCTIONS) as FunctionName[]).filter((n) => !existsSync(entryOf(n)));

/** UTC hour of the daily reward run: the EventBridge rule and the code's notion of "the day" agree on it. */
export const DAILY_REWARD_HOUR_UTC = 0;
/** Partition keys the payment functions may write (IAM dynamodb:LeadingKeys): payment records and their status index. */
export const PAYMENT_ITEMS = ['PAYIN#*', 'PAYMENTS#*'] as const;
/** What the payment functions' transactions do to its own items (shared/payments/paymentRecords.ts). */
export const PAYMENT_WRITES = ['dynamodb:PutItem', 'dynamodb:DeleteItem'] as const;
export const REWARD_RUN_ITEMS = ['REWARDRUN#*'] as const;
/** Approval requests and their status lists, support's per-day counters, bulk grants (shared/approvals, shared/bulk). */
export const OPERATOR_WORK_ITEMS = ['APPROVAL#*', 'APPROVALS#*', 'OPDAY#*', 'BULK#*'] as const;
export const OPERATOR_WORK_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:BatchWriteItem',
] as const;
/** A consistency check's record (shared/checker/checkRun.ts). */
export const CHECK_ITEMS = ['CHECK#*'] as const;
/** The attributes of a snapshot item (shared/persistence/tableLayout.ts `SnapshotItem`), all the checker may write there. */
export const SNAPSHOT_ATTRIBUTES = [
  'pk',
  'sk',
  'entityType',
  'entityId',
  'version',
  'state',
  'stateHash',
  'foldedFrom',
  'committedAt',
] as const;
/** Operators' records of replayed and discarded dead letters (shared/http/deadLetterApi.ts): `DLQ#<messageId>`. */
export const DEAD_LETTER_AUDIT_ITEMS = ['DLQ#*'] as const;

/**
 * The event archiver's stream settings: one batch at a time per shard (parallelizationFactor 1), so archive objects
 * of one shard arrive in stream order; a failing batch is bisected, retried a bounded number of times, then its
 * metadata goes to the on-failure queue (alarmed: those writes are missing from the archive until re-archived).
 */
export const ARCHIVER_STREAM = {
  batchSize: 1000,
  maxBatchingWindow: Duration.seconds(5),
  retryAttempts: 10,
  maxRecordAge: Duration.days(1),
  parallelizationFactor: 1,
} as const;

/** AWS Backup restore testing restores the table as `awsbackup-restore-test-<random>`: the validator reaches those only. */
export const RESTORE_TEST_TABLES = `${RESTORE_TEST_TABLE_PREFIX}*`;
/** What a drill does to its scratch table `<table>-drill-<id>` (shared/backup/drill.ts, restoreBackup.ts, the checker). */
export const DRILL_TABLE_ACTIONS = [
  'dynamodb:CreateTable',
  'dynamodb:DescribeTable',
  'dynamodb:UpdateTimeToLive',
  'dynamodb:DeleteTable',
  'dynamodb:BatchWriteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
] as const;

/** Stream consumer settings the projection guarantees (G4) rely on. */
export const PROJECTOR_STREAM = {
  batchSize: 100,
  retryAttempts: 10,
  maxRecordAge: Duration.days(1),
  parallelizationFactor: 2,
} as const;

export interface GameFunctionsProps {
  readonly settings: StageSettings;
  readonly table: GameTable;
  readonly queues: CommandQueues;
  readonly network: PrivateNetwork;
  readonly cache: PlayerCache;
  /** The logical backups' bucket and key (the archiver, the backup worker, the admin API). */
  readonly backupVault: BackupVault;
}

/** The Lambdas with least-privilege roles, their environment (read by shared/config.ts) and event sources. */
export class GameFunctions extends Construct {
  readonly functions: Record<FunctionName, NodejsFunction>;
  /** `{"<provider>": ["<secret>", ...]}`: payment webhook signing secrets, several per provider during rotation. */
  readonly webhookSecrets: secretsmanager.Secret;
  /** Where the stream event source reports batches it gave up on (metadata: shard and sequence numbers). */
  readonly projectorFailures: sqs.Queue;
  /** The event archiver's on-failure destination: batches that never reached the archive. */
  readonly archiverFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: GameFunctionsProps) {
    super(scope, id);
    const { settings, table, queues, network, cache, backupVault } = props;

    const missing = missingEntries();
    if (missing.length > 0) {
      throw new Error(
        `Missing Lambda entries (functions/<name>/index.ts): ${missing.map((n) => FUNCTIONS[n].dir).join(', ')}`,
      );
    }

    const make = (name: FunctionName): NodejsFunction => {
      const spec: FunctionSpec = FUNCTIONS[name];
      const logGroup = new logs.LogGroup(this, `${capitalize(name)}Logs`, {
        retention: settings.logRetention,
        removalPolicy: settings.statefulRemovalPolicy,
      });
      const fn = new NodejsFunction(this, capitalize(name), {
        entry: entryOf(name),
        handler: 'handler',
        description: `Gamekeep ${settings.stage}: ${spec.description}`,
        projectRoot: fromRepoRoot(''),
        depsLockFilePath: fromRepoRoot('package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        ...(spec.inVpc
          ? {
              vpc: network.vpc,
              vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
              securityGroups: [network.functionSecurityGroup],
            }
          : {}),
        environment: {
          GAMEKEEP_TABLE: table.table.tableName,
          POWERTOOLS_SERVICE_NAME: spec.dir,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_LOG_LEVEL: settings.isProd ? 'INFO' : 'DEBUG',
          // Stack traces point at the TypeScript sources (the bundle is minified).
          NODE_OPTIONS: '--enable-source-maps',
        },
        bundling: {
          format: OutputFormat.ESM,
          // Some bundled CommonJS dependencies call require() for Node built-ins; ESM output has no require.
          banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
          mainFields: ['module', 'main'],
          minify: true,
          sourceMap: true,
          sourcesContent: false,
          // Bundle the AWS SDK too, so the function runs the exact SDK version the tests ran against.
          externalModules: [],
        },
      });
      acknowledge(fn, {
        'AwsSolutions-L1':
          'Node.js 22 is the runtime the issue and the code target (ESM bundle tested on it); moving to a newer one is a deliberate upgrade.',
        [LAMBDA_BASIC_EXECUTION]:
          'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs; the CDK default for every Lambda.',
        'AwsSolutions-IAM5[Resource::*]':
          'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions (Tracing.ACTIVE).',
        ...(spec.inVpc
          ? {
              [LAMBDA_VPC_EXECUTION]:
                "AWSLambdaVPCAccessExecutionRole only manages the function's ENIs in the VPC (ec2:*NetworkInterface*).",
            }
          : {}),
      });
      return fn;
    };

    const fns = Object.fromEntries((Object.keys(FUNCTIONS) as FunctionName[]).map((n) => [n, make(n)])) as Record<
      FunctionName,
      NodejsFunction
    >;
    this.functions = fns;

    const producer = (fn: NodejsFunction): void => {
      fn.addEnvironment('GAMEKEEP_QUEUE_URL', queues.queue.queueUrl);
      queues.queue.grantSendMessages(fn); // sqs:SendMessage (batch sends use the same action)
    };
    const cacheClient = (fn: NodejsFunction): void => {
      fn.addEnvironment('REDIS_URL', cache.url);
      fn.addEnvironment('GAMEKEEP_REDIS_SECRET_ARN', cache.authSecret.secretArn);
      cache.grantConnect(fn);
    };

    // Command processor: the only writer of state, events, command records and claims.
    const processor = fns.commandProcessor;
    // The audit's retention per source kind, written as a TTL with each command record (docs/console.md).
    if (settings.auditRetention) processor.addEnvironment('GAMEKEEP_AUDIT_RETENTION_DAYS', settings.auditRetention);
    processor.addEnvironment('GAMEKEEP_DLQ_URL', queues.deadLetterQueue.queueUrl);
    processor.addEnvironment('GAMEKEEP_COMMAND_RECORD_DAYS', String(settings.commandRecordDays));
    processor.addEnvironment('GAMEKEEP_MAX_COMMIT_ATTEMPTS', '8');
    table.grantItems(processor, [...TABLE_READ, ...TABLE_COMMIT]);
    // Malformed envelopes are forwarded to the DLQ by the processor itself (shared/messaging/deadLetters.ts).
    queues.deadLetterQueue.grantSendMessages(processor);
    // Also grants consume rights on the queue (receive, delete, change visibility), not send.
    processor.addEventSource(
      new SqsEventSource(queues.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: settings.processorMaxConcurrency,
      }),
    );

    // API (both HTTP APIs): reads the table and the cache, sends commands; never writes the table.
    producer(fns.api);
    cacheClient(fns.api);
    table.grantItems(fns.api, TABLE_READ);

    // The payment functions (webhook, reconciler, operators' resolutions): reads, sends credits, and writes its own items
    // only: payment records (pk PAYIN#<provider>#<order>) and the open-status index (pk PAYMENTS#<status>).
    const paymentFunction = (fn: NodejsFunction): void => {
      producer(fn);
      table.grantItems(fn, TABLE_READ);
      table.grantItems(fn, [...PAYMENT_WRITES], PAYMENT_ITEMS);
    };
    this.webhookSecrets = new secretsmanager.Secret(this, 'WebhookSecrets', {
      description: `Gamekeep ${settings.stage}: payment webhook signing secrets, {"<provider>": ["<secret>", ...]}`,
      // Starts empty (no provider accepted); ops put the real value after the first deploy (docs/operations.md).
      secretObjectValue: {},
      removalPolicy: settings.statefulRemovalPolicy,
    });
    acknowledge(this.webhookSecrets, {
      'AwsSolutions-SMG4':
        'Signing secrets are issued by the payment providers; they are rotated on the provider side and pasted in (docs/operations.md), never generated here.',
    });
    const webhook = fns.paymentWebhook;
    paymentFunction(webhook);
    webhook.addEnvironment('GAMEKEEP_WEBHOOK_SECRETS_ARN', this.webhookSecrets.secretArn);
    this.webhookSecrets.grantRead(webhook);
    paymentFunction(fns.paymentReconciler);

    // Daily rewards (shared/rewards/dailyRewards.ts) run in the scheduler and, on demand, in the admin API: both
    // list players through the entity index, send rewards and keep the run's checkpoint on its REWARDRUN#<date> item.
    const rewardRunner = (fn: NodejsFunction): void => {
      producer(fn);
      fn.addEnvironment('GAMEKEEP_DAILY_REWARD_HOUR', String(DAILY_REWARD_HOUR_UTC));
      table.grantItems(fn, TABLE_READ);
      table.grantEntityListing(fn);
      table.grantItems(fn, ['dynamodb:PutItem', 'dynamodb:UpdateItem'], REWARD_RUN_ITEMS);
    };
    const scheduler = fns.rewardScheduler;
    rewardRunner(scheduler);
    // It continues a long run by invoking itself asynchronously (context.invokedFunctionArn). A separate policy:
    // the function's default policy is a dependency of the function, so naming its own ARN there is a cycle.
    new iam.Policy(this, 'RewardSchedulerContinuation', {
      roles: [scheduler.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [scheduler.functionArn] })],
    });

    // Admin API: adjustments (sent as commands), open payments and their resolution, manual reward runs.
    rewardRunner(fns.adminApi);
    // Two-person approvals, support's daily counters and bulk grants (issue 13): its own items only. A bulk grant
    // continues by invoking the function itself, as the reward scheduler does.
    table.grantItems(fns.adminApi, OPERATOR_WORK_WRITES, OPERATOR_WORK_ITEMS);
    new iam.Policy(this, 'AdminApiContinuation', {
      roles: [fns.adminApi.role!],
      statements: [
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fns.adminApi.functionArn] }),
      ],
    });
    table.grantItems(fns.adminApi, [...PAYMENT_WRITES], PAYMENT_ITEMS);
    table.grantAuditRead(fns.adminApi);
    // The command DLQ (shared/messaging/deadLetters.ts): looked at by receiving and releasing (receive, change
    // visibility), replayed into the command queue (sent as `producer` allows), discarded (delete); each replay
    // and discard leaves its audit item (PutItem, conditional, on DLQ#* only). It never sends to the DLQ.
    fns.adminApi.addEnvironment('GAMEKEEP_DLQ_URL', queues.deadLetterQueue.queueUrl);
    queues.deadLetterQueue.grantConsumeMessages(fns.adminApi);
    table.grantItems(fns.adminApi, ['dynamodb:PutItem'], DEAD_LETTER_AUDIT_ITEMS);

    // Consistency checker: reads everything (its claims pass is a parallel Scan), keeps its run on CHECK#<id>,
    // repairs the read side in the cache, and rewrites a corrupt snapshot: PutItem under player partitions limited
    // to a snapshot's attributes (a state item needs updatedAt and lastCommandId, which it may not write).
    const checker = fns.consistencyChecker;
    cacheClient(checker);
    table.grantItems(checker, [...TABLE_READ, 'dynamodb:Scan']);
    table.grantEntityListing(checker);
    table.grantItems(checker, ['dynamodb:PutItem', 'dynamodb:UpdateItem'], CHECK_ITEMS);
    checker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [table.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['P#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...SNAPSHOT_ATTRIBUTES] },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    new iam.Policy(this, 'ConsistencyCheckerContinuation', {
      roles: [checker.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [checker.functionArn] })],
    });
    // The admin API opens a check (its CHECK# record) and starts it in the checker.
    table.grantItems(fns.adminApi, ['dynamodb:PutItem'], CHECK_ITEMS);
    fns.adminApi.addEnvironment('GAMEKEEP_CHECKER_FUNCTION', checker.functionName);
    // … and a read-side rebuild in the rebuild function (POST /v1/admin/rebuilds).
    fns.adminApi.addEnvironment('GAMEKEEP_REBUILD_FUNCTION', fns.leaderboardRebuild.functionName);
    new iam.Policy(this, 'AdminApiStartsChecks', {
      roles: [fns.adminApi.role!],
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [checker.functionArn, fns.leaderboardRebuild.functionArn],
        }),
      ],
    });

    // Projector: the single stream consumer; writes the cache, reads the table.
    this.projectorFailures = new sqs.Queue(this, 'ProjectorFailures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(this.projectorFailures, {
      'AwsSolutions-SQS3':
        'This queue is itself the on-failure destination of the stream event source; its depth is alarmed.',
    });
    const projector = fns.projector;
    cacheClient(projector);
    table.grantItems(projector, TABLE_READ);
    table.grantStreamDecrypt(projector);
    // When Redis lost its data the projector heals it: the read-side rebuild, run by the projector invoked
    // asynchronously (by itself, a step per invocation), lists players through the entity index.
    table.grantEntityListing(projector);
    new iam.Policy(this, 'ProjectorHeal', {
      roles: [projector.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [projector.functionArn] })],
    });
    // During a table restore the restored table has no stream yet; the final deploy re-attaches the projector.
    if (table.hasStream) {
      projector.addEventSource(
        new DynamoEventSource(table.table, {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: PROJECTOR_STREAM.batchSize,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          retryAttempts: PROJECTOR_STREAM.retryAttempts,
          maxRecordAge: PROJECTOR_STREAM.maxRecordAge,
          // With parallel batches Lambda keeps order only per item: every projection converges in any order.
          parallelizationFactor: PROJECTOR_STREAM.parallelizationFactor,
          onFailure: new SqsDlq(this.projectorFailures),
        }),
      );
    }

    // Logical backups (shared/backup/*): the archive, the worker, the admin API's routes and the restore validator.
    const backupStore = (fn: NodejsFunction): void => {
      fn.addEnvironment('GAMEKEEP_BACKUP_BUCKET', backupVault.bucket.bucketName);
      fn.addEnvironment('GAMEKEEP_BACKUP_KMS_KEY', backupVault.key.keyArn);
    };
    const tableArnOf = (name: string): string =>
      Stack.of(this).formatArn({ service: 'dynamodb', resource: 'table', resourceName: name });

    // Event archiver: the stream's second consumer; writes its table's archive prefix only.
    this.archiverFailures = new sqs.Queue(this, 'ArchiverFailures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(this.archiverFailures, {
      'AwsSolutions-SQS3':
        "This queue is itself the on-failure destination of the archiver's stream event source; its depth is alarmed.",
    });
    const archiver = fns.eventArchiver;
    backupStore(archiver);
    backupVault.grantArchiveWrite(archiver, table.table.tableName);
    acknowledge(archiver, {
      [`AwsSolutions-IAM5[Resource::<${nagBucket(backupVault)}.Arn>/${archivePrefix(nagTableName(table))}*]`]:
        "Archive objects are named by arrival time when written; the wildcard is this table's archive prefix only.",
    });
    table.grantStreamDecrypt(archiver);
    if (table.hasStream) {
      archiver.addEventSource(
        new DynamoEventSource(table.table, {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: ARCHIVER_STREAM.batchSize,
          maxBatchingWindow: ARCHIVER_STREAM.maxBatchingWindow,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          retryAttempts: ARCHIVER_STREAM.retryAttempts,
          maxRecordAge: ARCHIVER_STREAM.maxRecordAge,
          parallelizationFactor: ARCHIVER_STREAM.parallelizationFactor,
          onFailure: new SqsDlq(this.archiverFailures),
        }),
      );
    }

    // Backup worker: reads the live table (a full backup is a parallel Scan), never writes it; creates, fills, checks
    // and deletes its drills' scratch tables `<table>-drill-*` and nothing else; reads and writes the bucket.
    const worker = fns.backupWorker;
    backupStore(worker);
    table.grantItems(worker, TABLE_READ);
    worker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Scan', 'dynamodb:DescribeTable'],
        resources: [table.table.tableArn],
      }),
    );
    const drillTables = `${table.table.tableName}-drill-*`;
    worker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...DRILL_TABLE_ACTIONS],
        resources: [tableArnOf(drillTables), tableArnOf(`${drillTables}/index/*`)],
      }),
    );
    backupVault.grantWorker(worker);
    acknowledge(worker, {
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${nagTableName(table)}-drill-*]`]:
        "A drill's scratch table is named <table>-drill-<drill id> when the drill starts; the wildcard reaches those tables only, never the live one.",
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${nagTableName(table)}-drill-*/index/*]`]:
        "The indexes of the drill's scratch tables (the checker lists entities through them); scratch tables only.",
      ...bucketAcknowledgements(backupVault, ['backups/', 'config/', 'drills/', 'archive/']),
    });

    // Admin API: starts jobs in the worker (asynchronously) and reads what the bucket lists: backups, verifications,
    // drill reports.
    backupStore(fns.adminApi);
    fns.adminApi.addEnvironment('GAMEKEEP_BACKUP_FUNCTION', worker.functionName);
    backupVault.grantRead(fns.adminApi);
    acknowledge(fns.adminApi, bucketAcknowledgements(backupVault, ['backups/', 'drills/']));
    new iam.Policy(this, 'AdminApiStartsBackups', {
      roles: [fns.adminApi.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [worker.functionArn] })],
    });

    // Restore validator: checks the tables AWS Backup restore testing restored (reads them, keeps its check run on
    // CHECK#<id> there), reports to AWS Backup, and continues a long check by invoking itself.
    const validator = fns.restoreValidator;
    validator.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeTable', 'dynamodb:Scan', ...TABLE_READ],
        resources: [tableArnOf(RESTORE_TEST_TABLES), tableArnOf(`${RESTORE_TEST_TABLES}/index/*`)],
      }),
    );
    validator.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [tableArnOf(RESTORE_TEST_TABLES)],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...CHECK_ITEMS] } },
      }),
    );
    validator.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['backup:PutRestoreValidationResult'], resources: ['*'] }),
    );
    new iam.Policy(this, 'RestoreValidatorContinuation', {
      roles: [validator.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [validator.functionArn] })],
    });
    acknowledge(validator, {
      'AwsSolutions-IAM5[Resource::*]':
        "X-Ray's PutTraceSegments/PutTelemetryRecords, and backup:PutRestoreValidationResult: the restore job it reports on exists only once AWS Backup starts the test, so no ARN can be named at deploy time.",
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${RESTORE_TEST_TABLES}]`]:
        'AWS Backup restore testing names each restored table awsbackup-restore-test-<random>; the wildcard reaches those tables only.',
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${RESTORE_TEST_TABLES}/index/*]`]:
        'The indexes of the restore-test tables (the checker lists entities through them); restore-test tables only.',
    });

    // Read-side rebuild: lists players through the entity index, reads their states and recent events, writes the
    // cache (its checkpoint too), and continues itself asynchronously when its time runs low.
    const rebuild = fns.leaderboardRebuild;
    cacheClient(rebuild);
    table.grantItems(rebuild, TABLE_READ);
    table.grantEntityListing(rebuild);
    new iam.Policy(this, 'LeaderboardRebuildContinuation', {
      roles: [rebuild.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [rebuild.functionArn] })],
    });
    // It runs in the VPC (the cache is there), which has no route out: its self-invocation (and the projector's, for
    // its heal) needs the Lambda API's interface endpoint, reachable (HTTPS) from the Gamekeep functions only.
    const lambdaEndpointSecurityGroup = new ec2.SecurityGroup(this, 'LambdaEndpointSecurityGroup', {
      vpc: network.vpc,
      description: 'Gamekeep Lambda API endpoint (the read-side rebuild and the projector heal invoke themselves)',
      allowAllOutbound: false,
    });
    lambdaEndpointSecurityGroup.addIngressRule(
      network.functionSecurityGroup,
      ec2.Port.tcp(443),
      'HTTPS from the Gamekeep functions',
    );
    network.vpc.addInterfaceEndpoint('Lambda', {
      service: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
      privateDnsEnabled: true,
      open: false,
      securityGroups: [lambdaEndpointSecurityGroup],
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
  }
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** How cdk-nag writes the table's name in a finding: `<LogicalId>` for its Ref, the name itself during a restore. */
function nagTableName(table: GameTable): string {
  const name: unknown = Stack.of(table).resolve(table.table.tableName);
  return typeof name === 'string' ? name : `<${(name as { Ref: string }).Ref}>`;
}

const nagBucket = (vault: BackupVault): string =>
  Stack.of(vault).resolve((vault.bucket.node.defaultChild as CfnElement).logicalId) as string;

/** The object wildcards of the backup bucket, acknowledged per prefix: each one a kind of backup object. */
function bucketAcknowledgements(vault: BackupVault, prefixes: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    prefixes.map((prefix) => [
      `AwsSolutions-IAM5[Resource::<${nagBucket(vault)}.Arn>/${prefix}*]`,
      `Objects under ${prefix} of the backup bucket are named by backup, drill or archive id when written; the wildcard is that prefix only.`,
    ]),
  );
}
