/**
 * `npm run backfill [-- --segments N]`: once, for a table whose state items predate the entity index (docs/engine.md,
 * "Listing entities"). On the local stack `npm start` runs (its .gamekeep/stack.json) it first adds the index if the
 * table lacks it; on AWS the stack's deploy adds the index, and this runs afterwards with the environment of
 * shared/config.ts. Then it gives every state item without `entityShard` its shard, so every entity is listed.
 * Idempotent: a second run finds nothing to do. It is the one Scan Gamekeep still issues, and it issues it once.
 */
import { DescribeTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../shared/config.js';
import { dynamoDbClient } from '../shared/clients.js';
import { entityRegistry } from '../shared/entities.js';
import { sleep } from '../shared/backoff.js';
import {
  ENTITY_INDEX,
  entityIndexAttributes,
  entityIndexDefinition,
  entityShardOf,
} from '../shared/persistence/tableDefinition.js';
import { STATE_SK } from '../shared/persistence/tableLayout.js';
import { STALE_STACK_HINT, targetStack, unreachable } from './localSecrets.js';
import { parseScriptArgs, wholeNumber } from './commandLine.js';

/** State items updated at once (each is one conditional UpdateItem). */
const UPDATES_AT_ONCE = 25;

interface Tally {
  scanned: number;
  backfilled: number;
  /** State items of entity types this code does not know (left alone). */
  unknown: number;
}

async function main(): Promise<number> {
  const usage = 'usage: npm run backfill [-- --segments N]   (N parallel Scan segments, 1-64, default 4)';
  const { values } = parseScriptArgs(usage, { options: { segments: { type: 'string', default: '4' } } });
  const segments = wholeNumber(usage, '--segments', values.segments, 1, 64);
  const { config, local } = targetStack();
  const started = Date.now();
  try {
    const added = await ensureIndex(config, local);
    const db = dynamoDbClient(config);
    const tally: Tally = { scanned: 0, backfilled: 0, unknown: 0 };
    try {
      await Promise.all(
        Array.from({ length: segments }, (_, segment) =>
          backfillSegment(db, config.tableName, segment, segments, tally),
        ),
      );
    } finally {
      db.destroy();
    }
    console.log(
      `${added ? `added the ${ENTITY_INDEX.name} index to ${config.tableName}; ` : ''}backfilled ${tally.backfilled} state items of ${config.tableName}` +
        `${tally.unknown ? ` (${tally.unknown} of unknown entity types left alone)` : ''}; ${tally.scanned} items scanned in ${Date.now() - started} ms`,
    );
    return 0;
  } catch (error) {
    if (local && unreachable(error)) {
      console.error(STALE_STACK_HINT);
      return 1;
    }
    throw error;
  }
}

/** Adds the entity index to a local table created before it; on AWS the stack owns the table's indexes. */
async function ensureIndex(config: Config, local: boolean): Promise<boolean> {
  const client = new DynamoDBClient({
    region: config.region,
    ...(config.dynamoDbEndpoint
      ? { endpoint: config.dynamoDbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  try {
    const indexStatus = async () =>
      (
        await client.send(new DescribeTableCommand({ TableName: config.tableName }))
      ).Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === ENTITY_INDEX.name)?.IndexStatus;
    if (await indexStatus()) return false;
    if (!local)
      throw new Error(
        `table ${config.tableName} has no ${ENTITY_INDEX.name} index: deploy the stack first (it adds the index), then run this again`,
      );
    await client.send(
      new UpdateTableCommand({
        TableName: config.tableName,
        AttributeDefinitions: [...entityIndexAttributes],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: entityIndexDefinition.IndexName,
              KeySchema: entityIndexDefinition.KeySchema,
              Projection: entityIndexDefinition.Projection,
            },
          },
        ],
      }),
    );
    while ((await indexStatus()) !== 'ACTIVE') await sleep(200);
    return true;
  } finally {
    client.destroy();
  }
}

/** One parallel-Scan segment: every state item without a shard gets the one its type and id give. */
async function backfillSegment(
  db: DynamoDBDocumentClient,
  tableName: string,
  segment: number,
  segments: number,
  tally: Tally,
): Promise<void> {
  const registry = entityRegistry();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: tableName,
        Segment: segment,
        TotalSegments: segments,
        FilterExpression: 'sk = :state AND attribute_not_exists(#shard)',
        ProjectionExpression: 'pk, sk, entityType, entityId',
        ExpressionAttributeNames: { '#shard': ENTITY_INDEX.partitionKey },
        ExpressionAttributeValues: { ':state': STATE_SK },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    tally.scanned += page.ScannedCount ?? 0;
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += UPDATES_AT_ONCE) {
      await Promise.all(
        items.slice(i, i + UPDATES_AT_ONCE).map(async (item) => {
          const type = registry.get(String(item.entityType));
          if (!type || typeof item.entityId !== 'string') {
            tally.unknown++;
            return;
          }
          if (await setShard(db, tableName, item.pk as string, entityShardOf(type.name, item.entityId)))
            tally.backfilled++;
        }),
      );
    }
    start = page.LastEvaluatedKey;
  } while (start);
}

/**
 * Adds the shard without touching anything else (the version stays, so the projector sees nothing new). A state
 * the processor rewrote meanwhile already has it: the condition makes that a no-op.
 */
async function setShard(db: DynamoDBDocumentClient, tableName: string, pk: string, shard: string): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk, sk: STATE_SK },
        UpdateExpression: 'SET #shard = :shard',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#shard)',
        ExpressionAttributeNames: { '#shard': ENTITY_INDEX.partitionKey },
        ExpressionAttributeValues: { ':shard': shard },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
