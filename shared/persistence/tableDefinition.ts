import { createHash } from 'node:crypto';
import type { CreateTableCommandInput, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';
import { auditIndexAttributes, auditIndexDefinitions } from './auditLog.js';

/** The table's shape, shared by the local runtime and (by the same attribute names) the CDK stack. */
export const TABLE_KEY = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'ttl' } as const;

/**
 * The sparse index that lists the entities of a type (docs/engine.md, "Listing entities"). Only state items carry
 * `entityShard`, so the index holds one small entry per entity and never an event, record or claim. Each type is
 * spread over `shards` partitions (`player#00` … `player#15`) so listing and creating players is not one hot
 * partition; the sort key is the entity id every state item already has. The shard count is part of the stored
 * data: changing it means re-writing every state item's `entityShard` (`npm run backfill` does that).
 */
export const ENTITY_INDEX = { name: 'entities', partitionKey: 'entityShard', sortKey: 'entityId', shards: 16 } as const;

/** The index partition an entity is listed in: `<entity type>#<shard, 2 digits>`, stable for the entity's life. */
export function entityShardOf(entityType: string, entityId: string): string {
  return entityShardKey(entityType, shardNumberOf(entityId));
}

export const entityShardKey = (entityType: string, shard: number): string =>
  `${entityType}#${String(shard).padStart(2, '0')}`;

export function shardNumberOf(entityId: string): number {
  return createHash('sha256').update(entityId).digest().readUInt32BE(0) % ENTITY_INDEX.shards;
}

/** The index as CreateTable and UpdateTable (`npm run backfill` adds it to a table created before it) declare it. */
export const entityIndexDefinition: GlobalSecondaryIndex = {
  IndexName: ENTITY_INDEX.name,
  KeySchema: [
    { AttributeName: ENTITY_INDEX.partitionKey, KeyType: 'HASH' },
    { AttributeName: ENTITY_INDEX.sortKey, KeyType: 'RANGE' },
  ],
  // Listing needs the ids only; keys-only entries keep the index a few dozen bytes per entity.
  Projection: { ProjectionType: 'KEYS_ONLY' },
};

export const entityIndexAttributes = [
  { AttributeName: ENTITY_INDEX.partitionKey, AttributeType: 'S' },
  { AttributeName: ENTITY_INDEX.sortKey, AttributeType: 'S' },
] as const;

export function createTableInput(tableName: string, withStream = true): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_KEY.sortKey, AttributeType: 'S' },
      ...entityIndexAttributes,
      ...auditIndexAttributes,
    ],
    KeySchema: [
      { AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEY.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [entityIndexDefinition, ...auditIndexDefinitions],
    ...(withStream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
  };
}
