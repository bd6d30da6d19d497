import type { TestProject } from 'vitest/node';
import { startFauxqs } from 'fauxqs';
import { startDynamoDbLocal } from '../../local/dynamoDbLocal.js';

/** One DynamoDB Local and one fauxqs for the whole run, on free ports; each test file provisions its own table and queues. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await startDynamoDbLocal();
  const sqs = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.address);
  return async () => {
    await sqs.stop();
    await dynamo.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    sqsEndpoint: string;
  }
}
