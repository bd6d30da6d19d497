import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { attachLocalStack, type ProvisionedResources } from '../../local/stack.js';

/** A fresh table and FIFO queue pair on the shared stand-ins, so test files never see each other's data. */
export async function provisionTestStack(
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number; stream?: boolean } = {},
): Promise<ProvisionedResources> {
  const suffix = randomUUID().slice(0, 8);
  return attachLocalStack(inject('dynamoDbEndpoint'), inject('sqsEndpoint'), {
    tableName: `t-${suffix}`,
    queueName: `q-${suffix}`,
    stream: options.stream ?? false,
    ...options,
  });
}
