import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EVENT_SK_PREFIX, entityPk } from '../persistence/tableLayout.js';
import { player } from '../domain/player/index.js';

/**
 * Who was active on a day, from the data the table already has: a player's event items carry `committedAt` and
 * the command's `source`, newest last (the sort key is the version). Reading a player's events newest first and
 * stopping at the first one before the day costs one small query for a player idle since, and a few items for
 * one active since: the cost follows activity after the day, never the whole history. "Active" is a command of
 * the player's own, of a game service (combat, quests) or of a payment that day; the daily reward, operators and
 * the system's repairs do not make a player active.
 */
const ACTIVE_SOURCES: ReadonlySet<string> = new Set(['client', 'service', 'payment']);
const CONCURRENCY = 16;
const QUERY_PAGE = 20;

export interface EventTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** The ids of `playerIds` that were active on `day` (YYYY-MM-DD, UTC), in their order. */
export async function activeOn(table: EventTable, playerIds: readonly string[], day: string): Promise<string[]> {
  const from = `${day}T00:00:00.000Z`;
  const until = new Date(Date.parse(from) + 86_400_000).toISOString();
  const active = new Array<boolean>(playerIds.length).fill(false);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < playerIds.length; i = next++)
      active[i] = await wasActive(table, playerIds[i]!, from, until);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, playerIds.length) }, worker));
  return playerIds.filter((_, i) => active[i]);
}

async function wasActive(table: EventTable, playerId: string, from: string, until: string): Promise<boolean> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :events)',
        ExpressionAttributeValues: { ':pk': entityPk(player.keyPrefix, playerId), ':events': EVENT_SK_PREFIX },
        ExpressionAttributeNames: { '#source': 'source' },
        ProjectionExpression: 'committedAt, #source',
        ScanIndexForward: false,
        Limit: QUERY_PAGE,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) {
      const committedAt = String(item.committedAt);
      if (committedAt < from) return false;
      if (committedAt < until && ACTIVE_SOURCES.has(String((item.source as { kind?: string })?.kind))) return true;
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return false;
}
