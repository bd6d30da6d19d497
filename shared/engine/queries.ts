import {
  QueryCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { EventStore } from '../persistence/eventStore.js';
import { ENTITY_INDEX, entityShardKey } from '../persistence/tableDefinition.js';
import { STATE_SK, entityPk, type EventItem, type StateItem } from '../persistence/tableLayout.js';
import type { AnyEntityType } from './entityType.js';
import { COMMAND_ID_PATTERN } from './envelope.js';

export type CommandStatusView =
  | { commandId: string; status: 'queued' }
  | { commandId: string; status: 'applied'; version: number; entityType: string; entityId: string }
  | {
      commandId: string;
      status: 'rejected';
      code: string;
      message: string;
      version: number;
      entityType: string;
      entityId: string;
    };

/** A command's outcome; `queued` until its record exists (it may also never have been sent). */
export async function commandStatus(store: EventStore, commandId: string): Promise<CommandStatusView> {
  if (!COMMAND_ID_PATTERN.test(commandId)) throw new Error('not a command id');
  const r = await store.commandRecord(commandId);
  if (!r) return { commandId, status: 'queued' };
  const where = { version: r.version, entityType: r.entityType, entityId: r.entityId };
  return r.status === 'applied'
    ? { commandId, status: 'applied', ...where }
    : { commandId, status: 'rejected', code: r.code ?? 'REJECTED', message: r.message ?? '', ...where };
}

/** The current state of an entity with its version (strongly consistent), or undefined if it was never written. */
export async function entityState<S>(
  store: EventStore,
  type: AnyEntityType,
  entityId: string,
): Promise<{ version: number; state: S } | undefined> {
  if (!type.idPattern.test(entityId)) throw new Error(`${type.name} id does not match ${type.idPattern}`);
  const item = await store.item<StateItem<S>>({ pk: entityPk(type.keyPrefix, entityId), sk: STATE_SK });
  return item ? { version: item.version, state: item.state } : undefined;
}

/** One page of an entity's audit trail after `afterVersion`, with the cursor for the next page. */
export async function entityEvents<E>(
  store: EventStore,
  type: AnyEntityType,
  entityId: string,
  afterVersion = 0,
  limit = 100,
): Promise<{ items: EventItem<E>[]; nextAfterVersion: number | undefined }> {
  if (!type.idPattern.test(entityId)) throw new Error(`${type.name} id does not match ${type.idPattern}`);
  return store.events<E>(entityPk(type.keyPrefix, entityId), afterVersion, Math.min(Math.max(1, limit), 500));
}

/** Where `listEntityIds` reads: the table's sparse entity index (only state items are in it). */
export interface EntityTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

export interface ListEntityIdsOptions {
  /** Which of `segments` disjoint parts of the type to list (0-based); parallel workers each take one. */
  readonly segment?: number;
  /** Into how many parts the listing is split: 1 to ENTITY_INDEX.shards (16); segment s gets the shards s, s + segments, … */
  readonly segments?: number;
  /** The `nextPageToken` of the previous page of the same listing (same type, segment and segments). */
  readonly pageToken?: string;
  /** At most this many ids per page (1-1000). A page may hold fewer and still have a next one. */
  readonly limit?: number;
}

export interface EntityIdPage {
  readonly entityIds: string[];
  /** Absent on the last page of the segment. Opaque: pass it back unchanged. */
  readonly nextPageToken?: string;
}

/** What a page token carries: the listing it belongs to, the shard it is in and DynamoDB's position there. */
interface PagePosition {
  readonly type: string;
  readonly segment: number;
  readonly segments: number;
  readonly shard: number;
  readonly after?: Record<string, unknown>;
}

/**
 * The ids of every entity of a type, one segment and page at a time (Castore's `listAggregateIds` is the model).
 * It queries the sparse entity index, so its cost grows with the number of entities, never with their history:
 * event items, command records and claims are not in the index. Every entity appears exactly once across the
 * pages of all segments; ids are ordered within a shard, not across shards. The index is eventually consistent,
 * as every DynamoDB global secondary index: an entity created a moment ago may not be listed yet.
 */
export async function listEntityIds(
  table: EntityTable,
  type: AnyEntityType,
  options: ListEntityIdsOptions = {},
): Promise<EntityIdPage> {
  const segments = options.segments ?? 1;
  const segment = options.segment ?? 0;
  const limit = options.limit ?? 1000;
  if (!Number.isInteger(segments) || segments < 1 || segments > ENTITY_INDEX.shards)
    throw new RangeError(`segments must be an integer from 1 to ${ENTITY_INDEX.shards}`);
  if (!Number.isInteger(segment) || segment < 0 || segment >= segments)
    throw new RangeError(`segment must be an integer from 0 to ${segments - 1}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RangeError('limit must be an integer from 1 to 1000');
  let position: PagePosition = options.pageToken
    ? readPageToken(options.pageToken)
    : { type: type.name, segment, segments, shard: segment };
  if (position.type !== type.name || position.segment !== segment || position.segments !== segments)
    throw new RangeError('the page token belongs to another listing');

  const entityIds: string[] = [];
  // Fill the page across this segment's shards; stop at the limit with a token saying where to go on.
  while (entityIds.length < limit) {
    const out = await queryIndex(table, {
      TableName: table.tableName,
      IndexName: ENTITY_INDEX.name,
      KeyConditionExpression: '#shard = :shard',
      ExpressionAttributeNames: { '#shard': ENTITY_INDEX.partitionKey },
      ExpressionAttributeValues: { ':shard': entityShardKey(type.name, position.shard) },
      Limit: limit - entityIds.length,
      ...(position.after ? { ExclusiveStartKey: position.after } : {}),
    });
    for (const item of out.Items ?? []) entityIds.push(String(item[ENTITY_INDEX.sortKey]));
    if (out.LastEvaluatedKey) {
      position = { ...position, after: out.LastEvaluatedKey };
      continue;
    }
    const next = position.shard + segments;
    if (next >= ENTITY_INDEX.shards) return { entityIds };
    position = { type: type.name, segment, segments, shard: next };
  }
  return { entityIds, nextPageToken: pageToken(position) };
}

async function queryIndex(table: EntityTable, input: QueryCommandInput): Promise<QueryCommandOutput> {
  try {
    return await table.db.send(new QueryCommand(input));
  } catch (error) {
    // A table created before the index (an old local .gamekeep/dynamodb): say how to add it.
    if ((error as Error).name === 'ValidationException' && /index/i.test(String((error as Error).message)))
      throw new Error(
        `table ${table.tableName} has no ${ENTITY_INDEX.name} index: run \`npm run backfill\` (docs/engine.md, "Listing entities")`,
        { cause: error },
      );
    throw error;
  }
}

function pageToken(position: PagePosition): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function readPageToken(token: string): PagePosition {
  try {
    const p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PagePosition;
    if (
      typeof p.type === 'string' &&
      Number.isInteger(p.segment) &&
      Number.isInteger(p.segments) &&
      Number.isInteger(p.shard) &&
      p.shard >= 0 &&
      p.shard < ENTITY_INDEX.shards
    )
      return p;
  } catch {
    // fall through
  }
  throw new RangeError('not a page token of listEntityIds');
}
