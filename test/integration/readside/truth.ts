import type { Redis } from 'ioredis';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The read side as the table alone says it must be, written out here from docs/read-side.md rather than with the
 * projector's or leaderboards.ts's functions (an expectation computed with the code under test would agree with
 * its bugs): raw items by Query, scores and sums folded in this file.
 */
export interface Truth {
  /** Board key (as Redis names it) → player → score. */
  readonly boards: Map<string, Map<string, number>>;
  /** Player → the state's version and the fields a view shows. */
  readonly players: Map<
    string,
    { version: number; level: number; experience: number; gold: number; spiritStones: number }
  >;
}

const DAY_MS = 86_400_000;
const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** ISO 8601 week: the week (Monday to Sunday, UTC) belongs to the year its Thursday falls in. */
function isoWeek(at: Date): string {
  const day = Math.floor(at.getTime() / DAY_MS); // 1970-01-01 was a Thursday
  const monday = day - ((day + 3) % 7);
  const thursday = new Date((monday + 3) * DAY_MS);
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1) / DAY_MS;
  return `${thursday.getUTCFullYear()}-W${String(Math.floor((monday + 3 - jan1) / 7) + 1).padStart(2, '0')}`;
}

interface RawEvent {
  type: string;
  amount?: number;
  outcome?: string;
}

export async function truthOf(
  db: DynamoDBDocumentClient,
  tableName: string,
  playerIds: Iterable<string>,
): Promise<Truth> {
  const boards = new Map<string, Map<string, number>>();
  const players: Truth['players'] = new Map();
  const add = (key: string, id: string, value: number): void => {
    const board = boards.get(key) ?? new Map<string, number>();
    board.set(id, (board.get(id) ?? 0) + value);
    boards.set(key, board);
  };
  for (const id of new Set(playerIds)) {
    const items: Record<string, any>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `P#${id}` },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    const state = items.find((i) => i.sk === 'STATE');
    if (!state?.state?.exists) continue;
    const s = state.state;
    players.set(id, {
      version: state.version,
      level: s.level,
      experience: s.experience,
      gold: s.gold,
      spiritStones: s.spiritStones,
    });
    add('gk:lb:{level}', id, s.level * 1e12 + s.experience);
    add('gk:lb:{wealth}', id, s.gold + s.spiritStones);
    let wins = 0;
    // A rollback's RolledBack event lists the versions it undid: they count on no board.
    const undone = new Set<number>(
      items
        .filter((i) => String(i.sk).startsWith('E#'))
        .flatMap((i) => i.events as { type: string; undone?: { version: number }[] }[])
        .flatMap((e) => (e.type === 'RolledBack' ? (e.undone ?? []).map((u) => u.version) : [])),
    );
    for (const item of items.filter((i) => String(i.sk).startsWith('E#') && !undone.has(i.version))) {
      const issued = new Date(item.issuedAt);
      for (const event of item.events as RawEvent[]) {
        if (event.type === 'CombatRecorded' && event.outcome === 'win') wins++;
        if (event.type === 'ExperienceGained' && (event.amount ?? 0) > 0) {
          add(`gk:lb:{experience-daily:${utcDay(issued)}}`, id, event.amount!);
          add(`gk:lb:{experience-weekly:${isoWeek(issued)}}`, id, event.amount!);
        }
      }
    }
    if (wins > 0) add('gk:lb:{combat-wins}', id, wins);
  }
  return { boards, players };
}

/** Every board Redis holds (every `gk:lb:` sorted set), as scores in rank order: best first, ties by player id. */
export async function boardsIn(redis: Redis): Promise<Map<string, [string, number][]>> {
  const out = new Map<string, [string, number][]>();
  let cursor = '0';
  const keys: string[] = [];
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', 'gk:lb:*', 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  for (const key of keys.sort()) {
    if ((await redis.type(key)) !== 'zset') continue;
    const raw = await redis.zrange(key, '0', '-1', 'WITHSCORES');
    const entries: [string, number][] = [];
    for (let i = 0; i < raw.length; i += 2) entries.push([raw[i]!, -Number(raw[i + 1])]);
    out.set(key, entries);
  }
  return out;
}

/** The truth's boards the same way: ranked by score descending, then player id ascending. */
export function ranked(truth: Truth): Map<string, [string, number][]> {
  const out = new Map<string, [string, number][]>();
  for (const key of [...truth.boards.keys()].sort()) {
    out.set(
      key,
      [...truth.boards.get(key)!].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  return out;
}

/** Polls until `check` holds (no assertion on how long it takes; the test's own timeout is the limit). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not reached after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
