import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_KEY } from '../../shared/persistence/tableDefinition.js';

export interface CoreStackProps extends StackProps {
  /** Deployment stage (`dev`, `prod`, ...). `prod` turns on deletion protection and retains stateful resources. */
  readonly stage: string;
}

/** Paths resolved from this file, so synthesis does not depend on the working directory. */
const fromRepoRoot = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Processor timeout; the queue's visibility timeout is derived from it (AWS recommends >= 6x for SQS event sources). */
const PROCESSOR_TIMEOUT = Duration.seconds(30);
const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Command records (the idempotency records) are kept this long; DESIGN.md section 3 requires at least 7 days. */
const COMMAND_RECORD_DAYS = 14;

/** What TableV2.grantReadWriteData grants on a customer-managed table key (aws-dynamodb perms KEY_READ/WRITE_ACTIONS). */
const TABLE_KEY_READ_WRITE_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/**
 * The write path of DESIGN.md section 2: the command queue (SQS FIFO), the command processor Lambda and the
 * single table. A minimal starting point: the full infrastructure issue adds the API, projector, cache and
 * alarms, and narrows the processor's table permissions.
 */
export class CoreStack extends Stack {
  readonly table: dynamodb.TableV2;
  /** The table's encryption key. `table.encryptionKey` is unset, so stream consumers must be granted this key explicitly. */
  readonly tableKey: kms.Key;
  readonly commandQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly commandProcessor: NodejsFunction;

  constructor(scope: Construct, id: string, props: CoreStackProps) {
    super(scope, id, props);

    const isProd = props.stage === 'prod';
    // The key must live exactly as long as the table: a retained table with a deleted key is unreadable.
    const statefulRemovalPolicy = isProd ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.tableKey = new kms.Key(this, 'TableKey', {
      description: `Gamekeep ${props.stage}: table encryption`,
      enableKeyRotation: true,
      removalPolicy: statefulRemovalPolicy,
    });

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: TABLE_KEY.ttlAttribute,
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Customer-managed key, see the override below: TableEncryptionV2.customerManagedKey(key) cannot render
      // in a region-agnostic stack (it throws ReplicaSpecificationCannotRenderedRegion), so this stack asks
      // for KMS encryption here and points the table's only replica at our key itself.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: isProd,
      removalPolicy: statefulRemovalPolicy,
    });
    // Same template customerManagedKey(key) produces for the deployment region's replica:
    // SSESpecification {SSEEnabled, SSEType: KMS} on the table, KMSMasterKeyId on the replica.
    (this.table.node.defaultChild as dynamodb.CfnGlobalTable).addPropertyOverride(
      'Replicas.0.SSESpecification.KMSMasterKeyId',
      this.tableKey.keyArn,
    );

    this.deadLetterQueue = new sqs.Queue(this, 'CommandDeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.commandQueue = new sqs.Queue(this, 'CommandQueue', {
      fifo: true,
      // MessageDeduplicationId = hash(command id) is always set by producers (shared/engine/envelope.ts).
      contentBasedDeduplication: false,
      // High-throughput FIFO: ordering and deduplication per player (MessageGroupId), not per queue.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(PROCESSOR_TIMEOUT.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    const logGroup = new logs.LogGroup(this, 'CommandProcessorLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: statefulRemovalPolicy,
    });

    this.commandProcessor = new NodejsFunction(this, 'CommandProcessor', {
      entry: fromRepoRoot('functions/command-processor/index.ts'),
      handler: 'handler',
      projectRoot: fromRepoRoot(''),
      depsLockFilePath: fromRepoRoot('package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: PROCESSOR_TIMEOUT,
      memorySize: 1024,
      logGroup,
      environment: {
        GAMEKEEP_TABLE: this.table.tableName,
        GAMEKEEP_QUEUE_URL: this.commandQueue.queueUrl,
        GAMEKEEP_DLQ_URL: this.deadLetterQueue.queueUrl,
        GAMEKEEP_COMMAND_RECORD_DAYS: String(COMMAND_RECORD_DAYS),
        POWERTOOLS_SERVICE_NAME: 'command-processor',
        POWERTOOLS_METRICS_NAMESPACE: 'Gamekeep',
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
        sourcesContent: false, // the mappings are enough for stack traces; keeps the bundle small
        // Bundle the AWS SDK too, so the function runs the exact SDK version the tests ran against.
        externalModules: [],
      },
    });

    this.commandProcessor.addEventSource(
      new SqsEventSource(this.commandQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 50,
      }),
    ); // also grants the function consume rights on the queue (receive, delete, change visibility)

    // Least privilege for now; the full IaC issue narrows this to the exact item actions used.
    this.table.grantReadWriteData(this.commandProcessor);
    // table.encryptionKey is unset (see the override above), so grant the key use TableV2 would have granted.
    this.tableKey.grant(this.commandProcessor, ...TABLE_KEY_READ_WRITE_ACTIONS);
    // Malformed envelopes are forwarded to the DLQ by the processor itself (shared/messaging/deadLetters.ts).
    this.deadLetterQueue.grantSendMessages(this.commandProcessor);

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'CommandQueueUrl', { value: this.commandQueue.queueUrl });
    new CfnOutput(this, 'CommandDeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
  }
}
