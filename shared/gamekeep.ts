import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config.js';
import { dynamoDbClient, sqsClient } from './clients.js';
import { entityRegistry } from './entities.js';
import { CommandProcessor, type ProcessorLog } from './engine/commandProcessor.js';
import { EventStore } from './persistence/eventStore.js';
import { DeadLetters } from './messaging/deadLetters.js';
import { CommandQueue } from './messaging/commandQueue.js';

/** Clients a process may bring itself (a test wrapping one with fault injection); the rest are made from config. */
export interface Clients {
  readonly db?: DynamoDBDocumentClient;
  readonly sqs?: SQSClient;
}

export function eventStore(config: Config, clients: Clients = {}): EventStore {
  return new EventStore(clients.db ?? dynamoDbClient(config), config.tableName);
}

export function commandQueue(config: Config, clients: Clients = {}): CommandQueue {
  if (!config.queueUrl) throw new Error('GAMEKEEP_QUEUE_URL is not set');
  return new CommandQueue(clients.sqs ?? sqsClient(config), config.queueUrl);
}

export function commandProcessor(config: Config, log: ProcessorLog, clients: Clients = {}): CommandProcessor {
  return new CommandProcessor({
    store: eventStore(config, clients),
    registry: entityRegistry(),
    log,
    ...(config.deadLetterQueueUrl
      ? { deadLetters: new DeadLetters(clients.sqs ?? sqsClient(config), config.deadLetterQueueUrl) }
      : {}),
    commandRecordDays: config.commandRecordDays,
    ...(config.auditRetentionDays ? { auditRetentionDays: config.auditRetentionDays } : {}),
    maxCommitAttempts: config.maxCommitAttempts,
  });
}
