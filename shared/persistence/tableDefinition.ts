import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** The table's shape, shared by the local runtime and (by the same attribute names) the CDK stack. */
export const TABLE_KEY = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'ttl' } as const;

export function createTableInput(tableName: string, withStream = true): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_KEY.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEY.sortKey, KeyType: 'RANGE' },
    ],
    ...(withStream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
  };
}
