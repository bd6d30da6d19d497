import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import type { EventStore } from '../persistence/eventStore.js';
import { commandEnvelope } from '../engine/envelope.js';
import { entityState } from '../engine/queries.js';
import { commandPk, COMMAND_SK } from '../persistence/tableLayout.js';
import { gameConfig, player, shopSku, type PlayerState } from '../domain/player/index.js';
import { badRequest } from '../http/errors.js';
import type { PaymentNotice } from '../http/schemas.js';

export interface PaymentDesk {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly store: EventStore;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export type PaymentOutcome = { status: 'queued' | 'unmatched'; duplicate: boolean; commandId: string };

/** Unmatched payments share one partition: they are rare, and operators list them in order. */
const UNMATCHED_PK = 'UNMATCHED';
/** A delivery marker per order, so a replayed notification can be answered `duplicate: true`. */
const receiptKey = (provider: string, orderId: string) => ({ pk: `PAYIN#${provider}#${orderId}`, sk: 'PAYIN' });
const RECEIPT_DAYS = 400;

/**
 * Credits a verified payment notice: the SKU and amount must be the catalog's; the command id derives from
 * [payment, provider, orderId], so every path that credits the same order is one command and the engine's PAY
 * claim holds it forever. A payment for a player that does not exist is kept as unmatched, never dropped.
 * The answer only says `duplicate` once the order was seen before; the send always happens first.
 */
export async function acceptPayment(desk: PaymentDesk, notice: PaymentNotice): Promise<PaymentOutcome> {
  const sku = shopSku(gameConfig, notice.sku);
  if (!sku) throw badRequest('UNKNOWN_SKU', `no shop item ${notice.sku}`);
  if (sku.price.amount !== notice.amount || sku.price.currency !== notice.currency.toUpperCase())
    throw badRequest('PRICE_MISMATCH', `${notice.sku} costs ${sku.price.amount} ${sku.price.currency}, not ${notice.amount} ${notice.currency}`);

  const envelope = commandEnvelope({
    entityType: 'player',
    entityId: notice.playerId,
    command: { type: 'CreditPurchase', provider: notice.provider, orderId: notice.orderId, sku: notice.sku },
    source: { kind: 'payment', actor: notice.provider },
    identity: ['payment', notice.provider, notice.orderId],
    issuedAt: desk.now(),
    correlationId: notice.eventId,
  });
  const { commandId } = envelope;

  const [receipt, record, unmatched] = await Promise.all([
    get(desk, receiptKey(notice.provider, notice.orderId)),
    get(desk, { pk: commandPk(commandId), sk: COMMAND_SK }),
    get(desk, { pk: UNMATCHED_PK, sk: unmatchedSk(notice.provider, notice.orderId) }),
  ]);
  if (unmatched) return { status: 'unmatched', duplicate: true, commandId };
  if (receipt || record) return { status: 'queued', duplicate: true, commandId };

  const found = await entityState<PlayerState>(desk.store, player, notice.playerId);
  if (!found?.state.exists) {
    const fresh = await putIfAbsent(desk, {
      pk: UNMATCHED_PK,
      sk: unmatchedSk(notice.provider, notice.orderId),
      ...notice,
      commandId,
      receivedAt: desk.now().toISOString(),
    });
    return { status: 'unmatched', duplicate: !fresh, commandId };
  }

  await desk.queue.send([envelope]);
  const fresh = await putIfAbsent(desk, {
    ...receiptKey(notice.provider, notice.orderId),
    eventId: notice.eventId,
    commandId,
    receivedAt: desk.now().toISOString(),
    ttl: Math.floor(desk.now().getTime() / 1000) + RECEIPT_DAYS * 86400,
  });
  return { status: 'queued', duplicate: !fresh, commandId };
}

export interface UnmatchedPayment extends PaymentNotice {
  readonly commandId: string;
  readonly receivedAt: string;
}

/** One page of unmatched payments; `after` is the `next` of the previous page (`<provider>:<orderId>`). */
export async function unmatchedPayments(
  desk: Pick<PaymentDesk, 'db' | 'tableName'>,
  limit = 50,
  after?: string,
): Promise<{ items: UnmatchedPayment[]; next: string | null }> {
  const start = after ? { pk: UNMATCHED_PK, sk: after.replace(':', '#') } : undefined;
  const out = await desk.db.send(
    new QueryCommand({
      TableName: desk.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': UNMATCHED_PK },
      Limit: limit,
      ConsistentRead: true,
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  const items = (out.Items ?? []).map(({ pk: _pk, sk: _sk, ...rest }) => rest as UnmatchedPayment);
  const last = out.LastEvaluatedKey?.sk as string | undefined;
  return { items, next: last ? last.replace('#', ':') : null };
}

const unmatchedSk = (provider: string, orderId: string) => `${provider}#${orderId}`;

async function get(desk: PaymentDesk, key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
  const out = await desk.db.send(new GetCommand({ TableName: desk.tableName, Key: key, ConsistentRead: true }));
  return out.Item;
}

/** True if this call wrote the item, false if it already existed. */
async function putIfAbsent(desk: PaymentDesk, item: Record<string, unknown>): Promise<boolean> {
  try {
    await desk.db.send(new PutCommand({ TableName: desk.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
