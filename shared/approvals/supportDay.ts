import { createHash } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Currency } from '../domain/player/index.js';
import { conditional } from '../fanout/checkpoint.js';
import { HttpError } from '../http/errors.js';

/**
 * A support operator's adjustments of one UTC day: the item `OPDAY#<operator>#<day>` / `OPDAY` holds the sum of
 * absolute amounts per currency and the requests already counted. One conditional update charges a request, so
 * concurrent requests can never together pass the limit, and a retried request (same player and key) is charged
 * once. A charge is never given back, not even when the command is then rejected (insufficient funds): the limit
 * caps what an operator may attempt per day, and giving back would need the outcome, which the route may not wait for.
 */
export interface OperatorDayTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

export const operatorDayKey = (operator: string, day: string) => ({ pk: `OPDAY#${operator}#${day}`, sk: 'OPDAY' });

/** Kept two days past its day, then DynamoDB's TTL removes it. */
const KEEP_MS = 3 * 86_400_000;

export interface OperatorDay {
  readonly operator: string;
  readonly day: string;
  readonly gold?: number;
  readonly spiritStones?: number;
  readonly charged?: ReadonlySet<string>;
}

/**
 * Adds |delta| to the operator's day for `currency`, unless that takes it past `limit` (403 OVER_DAILY_LIMIT,
 * nothing written). `request` names the request (player and idempotency key) so a retry is not charged twice.
 */
export async function chargeOperatorDay(
  table: OperatorDayTable,
  charge: { operator: string; currency: Currency; delta: number; request: string; now: Date },
  limit: number,
): Promise<void> {
  const day = charge.now.toISOString().slice(0, 10);
  const amount = Math.abs(charge.delta);
  const request = createHash('sha256').update(charge.request).digest('hex').slice(0, 32);
  const key = operatorDayKey(charge.operator, day);
  const charged =
    amount <= limit &&
    (await conditional(() =>
      table.db.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: key,
          UpdateExpression:
            'ADD #amount :amount, #charged :request SET #operator = :operator, #day = :day, #ttl = :ttl',
          ConditionExpression:
            '(attribute_not_exists(#amount) OR #amount <= :room) AND (attribute_not_exists(#charged) OR NOT contains(#charged, :id))',
          ExpressionAttributeNames: {
            '#amount': charge.currency,
            '#charged': 'charged',
            '#operator': 'operator',
            '#day': 'day',
            '#ttl': 'ttl',
          },
          ExpressionAttributeValues: {
            ':amount': amount,
            ':room': limit - amount,
            ':request': new Set([request]),
            ':id': request,
            ':operator': charge.operator,
            ':day': day,
            ':ttl': Math.floor((Date.parse(day) + KEEP_MS) / 1000),
          },
        }),
      ),
    ));
  if (charged) return;
  const current = await operatorDay(table, charge.operator, day);
  // An earlier attempt of this very request was charged: the retry goes through, once.
  if (current?.charged?.has(request)) return;
  const used = current?.[charge.currency] ?? 0;
  throw new HttpError(
    403,
    'OVER_DAILY_LIMIT',
    `operator ${charge.operator} may adjust at most ${limit} ${charge.currency} per day (UTC); ${used} today, ${amount} more takes the gm role`,
  );
}

export async function operatorDay(
  table: OperatorDayTable,
  operator: string,
  day: string,
): Promise<OperatorDay | undefined> {
  const out = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: operatorDayKey(operator, day), ConsistentRead: true }),
  );
  return out.Item as OperatorDay | undefined;
}
