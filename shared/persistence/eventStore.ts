import { backoffMs, sleep } from '../backoff.js';
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  COMMAND_SK,
  EVENT_SK_PREFIX,
  commandPk,
  eventSk,
  snapshotSk,
  type CommandRecord,
  type EventItem,
  type Key,
  type SnapshotItem,
} from './tableLayout.js';
import { writeCapacityUnits } from './capacity.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** DynamoDB's limit of items in one TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;
const MAX_BATCH_GET_KEYS = 100;

/** A commit lost an optimistic-concurrency race (a version moved, a claim was taken): reload and decide again. */
export class CommitConflict extends Error {
  constructor(
    readonly reasons: readonly (string | undefined)[],
    /** Partition keys of the items whose condition failed or that met a concurrent transaction. */
    readonly failedKeys: ReadonlySet<string>,
  ) {
    super(`transaction cancelled: ${reasons.map((r) => r ?? 'None').join(',')}`);
    this.name = 'CommitConflict';
  }
}

export class EventStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Strongly consistent read of many items at once; the result is keyed by `pk|sk`. */
  async getMany(keys: readonly Key[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    const unique = [...new Map(keys.map((k) => [keyString(k), { pk: k.pk, sk: k.sk }])).values()];
    for (let i = 0; i < unique.length; i += MAX_BATCH_GET_KEYS) {
      let pending: Key[] = unique.slice(i, i + MAX_BATCH_GET_KEYS);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffMs(attempt, 20, 1000));
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) found.set(keyString(item as Key), item);
        pending = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Key[];
      }
    }
    return found;
  }

  /**
   * Commits all items or none. A cancellation caused by a condition or a concurrent transaction is a
   * `CommitConflict`; anything else (validation, throttling after the SDK's retries) is thrown as is.
   * Returns the write capacity DynamoDB reports as consumed and what AWS would bill for these items.
   */
  async commit(items: readonly TransactItem[]): Promise<{ reported: number; billed: number }> {
    if (items.length === 0) return { reported: 0, billed: 0 };
    if (items.length > MAX_TRANSACTION_ITEMS)
      throw new Error(`a transaction holds at most ${MAX_TRANSACTION_ITEMS} items, got ${items.length}`);
    try {
      const out = await this.db.send(
        new TransactWriteCommand({
          TransactItems: [...items],
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return {
        reported: (out.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0),
        billed: items.reduce(
          (sum, i) =>
            sum +
            writeCapacityUnits(
              (i.Put?.Item ?? i.ConditionCheck?.Key ?? i.Update?.Key ?? i.Delete?.Key ?? {}) as Record<string, unknown>,
              true,
            ),
          0,
        ),
      };
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const codes = (error.CancellationReasons ?? []).map((r) => r.Code);
        if (codes.length === 0 || codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict')) {
          const failed = new Set<string>();
          codes.forEach((code, i) => {
            const item = items[i];
            const pk = (item?.Put?.Item ?? item?.ConditionCheck?.Key ?? item?.Update?.Key ?? item?.Delete?.Key)?.pk;
            if (code && code !== 'None' && typeof pk === 'string') failed.add(pk);
          });
          throw new CommitConflict(codes, failed);
        }
      }
      throw error;
    }
  }

  async commandRecord(commandId: string): Promise<CommandRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: commandPk(commandId), sk: COMMAND_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item as CommandRecord | undefined;
  }

  async item<T>(key: Key): Promise<T | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
    );
    return out.Item as T | undefined;
  }

  /** Event items of one entity after `afterVersion`, oldest first, with a cursor when more remain. */
  async events<E>(
    pk: string,
    afterVersion = 0,
    limit = 100,
  ): Promise<{ items: EventItem<E>[]; nextAfterVersion: number | undefined }> {
    // Versions are keyed as 10 padded digits: none follows the last, and its successor would not sort after it.
    if (afterVersion >= 9_999_999_999) return { items: [], nextAfterVersion: undefined };
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':from': `${EVENT_SK_PREFIX}${String(afterVersion + 1).padStart(10, '0')}`,
          ':to': `${EVENT_SK_PREFIX}9999999999`,
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const items = (out.Items ?? []) as EventItem<E>[];
    const last = items.at(-1);
    return { items, nextAfterVersion: out.LastEvaluatedKey && last ? last.version : undefined };
  }

  /** Event items of one entity with versions in [from, to], oldest first (every page). */
  async eventRange<E>(pk: string, from: number, to: number): Promise<EventItem<E>[]> {
    if (to < from) return [];
    return this.queryAll<EventItem<E>>(pk, { from: eventSk(Math.max(from, 1)), to: eventSk(to) });
  }

  /** Up to `limit` snapshots of one entity at or before `version`, newest first. */
  async snapshotsBefore<S>(pk: string, version: number, limit: number): Promise<SnapshotItem<S>[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': snapshotSk(0), ':to': snapshotSk(version) },
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []) as SnapshotItem<S>[];
  }

  /** Version and commit time of every snapshot of one entity, oldest first (small items: no states read). */
  async snapshotIndex(pk: string): Promise<{ version: number; committedAt: string }[]> {
    const items = await this.queryAll<{ version: number; committedAt: string }>(
      pk,
      { from: snapshotSk(0), to: snapshotSk(9_999_999_999) },
      { expression: '#v, committedAt', names: { '#v': 'version' } },
    );
    return items.map((i) => ({ version: i.version, committedAt: i.committedAt }));
  }

  /** Every item of one partition, or of a sort-key range of it, oldest first (every page). */
  private async queryAll<T>(
    pk: string,
    range?: { from: string; to: string },
    projection?: { expression: string; names: Record<string, string> },
  ): Promise<T[]> {
    const all: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: range ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk',
          ExpressionAttributeValues: range ? { ':pk': pk, ':from': range.from, ':to': range.to } : { ':pk': pk },
          ConsistentRead: true,
          ...(projection
            ? { ProjectionExpression: projection.expression, ExpressionAttributeNames: projection.names }
            : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      all.push(...((out.Items ?? []) as T[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return all;
  }

  /** Every item under one partition key (an entity's state, events and snapshots), strongly consistent. */
  async partition(pk: string): Promise<Record<string, unknown>[]> {
    return this.queryAll<Record<string, unknown>>(pk);
  }

  /** Every event item of one entity, oldest first. */
  async allEvents<E>(pk: string): Promise<EventItem<E>[]> {
    const all: EventItem<E>[] = [];
    let after: number | undefined = 0;
    while (after !== undefined) {
      const page: { items: EventItem<E>[]; nextAfterVersion: number | undefined } = await this.events<E>(
        pk,
        after,
        500,
      );
      all.push(...page.items);
      after = page.nextAfterVersion;
    }
    return all;
  }
}

export function keyString(k: Key): string {
  return `${k.pk}|${k.sk}`;
}
