import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { auditIndexAttributes, auditIndexDefinitions } from '../shared/persistence/auditLog.js';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import type { Config } from '../shared/config.js';
import { sqsClient } from '../shared/clients.js';
import { TABLE_KEY, createTableInput } from '../shared/persistence/tableDefinition.js';
import { startDynamoDbLocal } from './dynamoDbLocal.js';

export interface LocalStackOptions {
  /** Keep DynamoDB's data in this folder across restarts; in memory when absent. */
  readonly dataDir?: string;
  readonly tableName?: string;
  readonly queueName?: string;
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Create the table with its stream (projections need it). */
  readonly stream?: boolean;
}

export interface QueueRef {
  readonly url: string;
  readonly arn: string;
}

export interface LocalStack {
  readonly config: Config;
  readonly commandQueue: QueueRef;
  readonly deadLetterQueue: QueueRef;
  /** Adds another table + queue pair on the same stand-ins (tests isolate themselves this way). */
  provision(names: {
    tableName: string;
    queueName: string;
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
    stream?: boolean;
  }): Promise<ProvisionedResources>;
  stop(): Promise<void>;
}

export interface ProvisionedResources {
  readonly config: Config;
  readonly commandQueue: QueueRef;
  readonly deadLetterQueue: QueueRef;
}

const REGION = 'us-east-1';

/** DynamoDB Local and fauxqs on free ports, with the table and the FIFO queues of DESIGN.md created. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dynamo = await startDynamoDbLocal(options.dataDir ? { dataDir: options.dataDir } : {});
  let sqsServer: Awaited<ReturnType<typeof startFauxqs>> | undefined;
  try {
    sqsServer = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
    return await attachLocalStack(dynamo.endpoint, sqsServer.address, options, async () => {
      await sqsServer?.stop();
      await dynamo.stop();
    });
  } catch (error) {
    await sqsServer?.stop();
    await dynamo.stop();
    throw error;
  }
}

/** Uses stand-ins that are already running (the test setup starts them once for all test files). */
export async function attachLocalStack(
  dynamoDbEndpoint: string,
  sqsEndpoint: string,
  options: LocalStackOptions = {},
  stop: () => Promise<void> = async () => undefined,
): Promise<LocalStack> {
  const base = { dynamoDbEndpoint, sqsEndpoint };
  const provision: LocalStack['provision'] = (names) => provisionResources(base, names);
  const main = await provision({
    tableName: options.tableName ?? 'gamekeep',
    queueName: options.queueName ?? 'commands',
    ...(options.visibilityTimeoutSeconds !== undefined
      ? { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds }
      : {}),
    ...(options.maxReceiveCount !== undefined ? { maxReceiveCount: options.maxReceiveCount } : {}),
    stream: options.stream ?? true,
  });
  return { ...main, provision, stop };
}

async function provisionResources(
  endpoints: { dynamoDbEndpoint: string; sqsEndpoint: string },
  names: {
    tableName: string;
    queueName: string;
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
    stream?: boolean;
  },
): Promise<ProvisionedResources> {
  const config: Config = {
    region: REGION,
    tableName: names.tableName,
    queueUrl: undefined,
    deadLetterQueueUrl: undefined,
    checkerFunctionName: undefined,
    rebuildFunctionName: undefined,
    dynamoDbEndpoint: endpoints.dynamoDbEndpoint,
    sqsEndpoint: endpoints.sqsEndpoint,
    commandRecordDays: 14,
    maxCommitAttempts: 8,
    apiPort: 3000,
    jwtSecret: undefined,
    serviceToken: undefined,
    adminToken: undefined,
    webhookSecrets: {},
    redisUrl: undefined,
  };
  await ensureTable(config, names.stream ?? true);
  const sqs = sqsClient(config);
  try {
    const deadLetterQueue = await ensureQueue(sqs, `${names.queueName}-dlq.fifo`, {
      FifoQueue: 'true',
      MessageRetentionPeriod: '1209600',
    });
    const commandQueue = await ensureQueue(sqs, `${names.queueName}.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      VisibilityTimeout: String(names.visibilityTimeoutSeconds ?? 30),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: deadLetterQueue.arn,
        maxReceiveCount: String(names.maxReceiveCount ?? 5),
      }),
    });
    return {
      config: { ...config, queueUrl: commandQueue.url, deadLetterQueueUrl: deadLetterQueue.url },
      commandQueue,
      deadLetterQueue,
    };
  } finally {
    sqs.destroy();
  }
}

async function ensureTable(config: Config, stream: boolean): Promise<void> {
  const client = new DynamoDBClient({
    region: config.region,
    endpoint: config.dynamoDbEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: config.tableName }));
      // A table kept from before the audit indexes (.gamekeep/dynamodb) gets them, one per update as DynamoDB asks.
      const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
      for (const index of auditIndexDefinitions.filter((i) => !present.has(i.IndexName)))
        await client.send(
          new UpdateTableCommand({
            TableName: config.tableName,
            AttributeDefinitions: auditIndexAttributes,
            GlobalSecondaryIndexUpdates: [{ Create: index }],
          }),
        );
      return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await client.send(new CreateTableCommand(createTableInput(config.tableName, stream)));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: config.tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_KEY.ttlAttribute, Enabled: true },
      }),
    );
  } finally {
    client.destroy();
  }
}

async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<QueueRef> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}
