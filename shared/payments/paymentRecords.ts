import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { CommandEnvelope } from '../engine/envelope.js';

/**
 * The payment records' own items: one record per paid order, kept forever, and one index item per order that needs
 * attention, so operators can list them without a Scan. The record is stored before anything is sent, and every
 * change of status is one transaction (record + index) conditioned on the record's revision.
 */

/** What a user can see of a payment. `credited` is only ever set once the credit's command record says applied. */
export type PaymentStatus = 'queued' | 'credited' | 'unmatched' | 'disputed' | 'dismissed';
/** Statuses with an index partition: the open ones an operator or the reconciler must look at. */
export const LISTED_STATUSES = ['queued', 'unmatched', 'disputed'] as const;
export type ListedStatus = (typeof LISTED_STATUSES)[number];

export interface PaidNotice {
  readonly provider: string;
  readonly eventId: string;
  readonly orderId: string;
  readonly playerId: string;
  readonly sku: string;
  /** Minor units of `currency`. */
  readonly amount: number;
  readonly currency: string;
}

export interface OperatorNote {
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
}

export interface PaymentHistoryEntry {
  readonly at: string;
  readonly status: PaymentStatus;
  /** `intake`, `reconciler`, or `operator:<id>`. */
  readonly by: string;
  readonly note?: string;
  readonly reason?: string;
  readonly ticket?: string;
}

export interface PaymentRecord extends PaidNotice {
  readonly status: PaymentStatus;
  /** Why the payment is disputed or unmatched (a code and a sentence). */
  readonly problem?: { readonly code: string; readonly message: string };
  /** The credit command whose outcome decides `credited`; re-sent as is until it has one. */
  readonly credit: CommandEnvelope;
  /** Credit commands tried so far (an operator's credit after a rejected one is a new command id). */
  readonly attempts: number;
  readonly lastSentAt?: string;
  readonly resolution?: OperatorNote & { readonly action: 'credit' | 'dismiss'; readonly at: string };
  readonly receivedAt: string;
  readonly updatedAt: string;
  /** Bumped by every write: the condition that makes concurrent transitions take turns. */
  readonly revision: number;
  readonly history: readonly PaymentHistoryEntry[];
}

export interface PaymentTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

const recordKey = (provider: string, orderId: string) => ({ pk: `PAYIN#${provider}#${orderId}`, sk: 'PAYIN' });
const indexPk = (status: ListedStatus) => `PAYMENTS#${status}`;
const indexKey = (status: ListedStatus, provider: string, orderId: string) => ({
  pk: indexPk(status),
  sk: `${provider}#${orderId}`,
});
const isListed = (status: PaymentStatus): status is ListedStatus =>
  (LISTED_STATUSES as readonly string[]).includes(status);

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export async function paymentRecord(
  t: PaymentTable,
  provider: string,
  orderId: string,
): Promise<PaymentRecord | undefined> {
  const out = await t.db.send(
    new GetCommand({ TableName: t.tableName, Key: recordKey(provider, orderId), ConsistentRead: true }),
  );
  return out.Item ? strip(out.Item) : undefined;
}

/** Stores a payment seen for the first time with its first status; false if the order was stored already. */
export async function storePayment(t: PaymentTable, record: PaymentRecord): Promise<boolean> {
  const items: TransactItem[] = [
    {
      Put: {
        TableName: t.tableName,
        Item: { ...recordKey(record.provider, record.orderId), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
  if (isListed(record.status)) items.push({ Put: { TableName: t.tableName, Item: indexItem(record) } });
  return transact(t, items);
}

/**
 * Replaces `from` with `to` if nobody changed it in between (same revision), moving its index item along.
 * Returns the stored record, or undefined when another writer got there first (re-read and decide again).
 */
export async function replacePayment(
  t: PaymentTable,
  from: PaymentRecord,
  to: Omit<PaymentRecord, 'revision'>,
): Promise<PaymentRecord | undefined> {
  const next: PaymentRecord = { ...to, revision: from.revision + 1 };
  const items: TransactItem[] = [
    {
      Put: {
        TableName: t.tableName,
        Item: { ...recordKey(from.provider, from.orderId), ...next },
        ConditionExpression: 'revision = :revision',
        ExpressionAttributeValues: { ':revision': from.revision },
      },
    },
  ];
  if (from.status !== next.status && isListed(from.status))
    items.push({ Delete: { TableName: t.tableName, Key: indexKey(from.status, from.provider, from.orderId) } });
  if (isListed(next.status)) items.push({ Put: { TableName: t.tableName, Item: indexItem(next) } });
  return (await transact(t, items)) ? next : undefined;
}

/** One page of the payments in a listed status, by provider and order; `after` is the previous page's `next`. */
export async function listPayments(
  t: PaymentTable,
  status: ListedStatus,
  limit: number,
  after?: string,
): Promise<{ items: PaymentRecord[]; next: string | null }> {
  const out = await t.db.send(
    new QueryCommand({
      TableName: t.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': indexPk(status) },
      Limit: limit,
      ConsistentRead: true,
      ...(after ? { ExclusiveStartKey: { pk: indexPk(status), sk: after.replace(':', '#') } } : {}),
    }),
  );
  const refs = (out.Items ?? []).map((i) => ({ provider: String(i.provider), orderId: String(i.orderId) }));
  const records = await recordsOf(t, refs);
  const last = out.LastEvaluatedKey?.sk as string | undefined;
  return { items: records, next: last ? last.replace('#', ':') : null };
}

/** The records behind index items, in the index's order (an index item may briefly outlive its status: skipped). */
async function recordsOf(
  t: PaymentTable,
  refs: readonly { provider: string; orderId: string }[],
): Promise<PaymentRecord[]> {
  if (refs.length === 0) return [];
  const found = new Map<string, PaymentRecord>();
  let pending: Record<string, unknown>[] = refs.map((r) => recordKey(r.provider, r.orderId));
  while (pending.length > 0) {
    const out = await t.db.send(
      new BatchGetCommand({ RequestItems: { [t.tableName]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[t.tableName] ?? []) found.set(String(item.pk), strip(item));
    pending = (out.UnprocessedKeys?.[t.tableName]?.Keys ?? []) as Record<string, unknown>[];
  }
  return refs
    .map((r) => found.get(recordKey(r.provider, r.orderId).pk))
    .filter((r): r is PaymentRecord => r !== undefined);
}

function indexItem(record: PaymentRecord): Record<string, unknown> {
  return {
    ...indexKey(record.status as ListedStatus, record.provider, record.orderId),
    provider: record.provider,
    orderId: record.orderId,
    since: record.updatedAt,
  };
}

function strip(item: Record<string, unknown>): PaymentRecord {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as PaymentRecord;
}

/** True if the transaction committed, false if a condition failed (or it met a concurrent one). */
async function transact(t: PaymentTable, items: TransactItem[]): Promise<boolean> {
  try {
    await t.db.send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException || (error as Error).name === 'TransactionCanceledException') {
      const codes = ((error as TransactionCanceledException).CancellationReasons ?? []).map((r) => r.Code);
      if (codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict')) return false;
    }
    throw error;
  }
}
