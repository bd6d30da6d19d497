import type { Redis } from 'ioredis';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../persistence/tableLayout.js';
import type { PlayerEvent, PlayerState } from '../domain/player/index.js';
import { absoluteScores, boardKey, periodEnd, periodOf, type BoardName, type PeriodicBoard } from './leaderboards.js';
import { experienceGained } from './projector.js';
import { playerViewOf } from './playerView.js';

/**
 * A rebuilt score at a version: written if no newer version was applied meanwhile (equal versions are
 * overwritten, so a rebuild also repairs a wrong score). Returns 0 when the projector got ahead: read again.
 */
const REBUILD_SCORE = `
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
if ARGV[4] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
  redis.call('PEXPIREAT', KEYS[2], ARGV[4])
end
return 1`;

export interface RebuildReport {
  readonly players: number;
  readonly periods: number;
  /** Players read again because the projector applied a newer version while they were being rebuilt. */
  readonly rereads: number;
  readonly removed: number;
}

const periodicBoards: readonly PeriodicBoard[] = ['experience-daily', 'experience-weekly'];

/**
 * Rebuilds every leaderboard from the table, in place and while the projector keeps running: each player's
 * scores are recomputed from its state and events at a version and written under the same version guard the
 * projector uses, so whichever of the two saw the newer version wins and the boards end equal to the truth.
 * Entries of players the table does not justify are removed.
 */
export async function rebuildLeaderboards(options: {
  db: DynamoDBDocumentClient;
  store: EventStore;
  redis: Redis;
  retentionDays?: number;
  now?: Date;
}): Promise<RebuildReport> {
  const { db, store, redis } = options;
  const now = options.now ?? new Date();
  const retentionMs = (options.retentionDays ?? 90) * 86_400_000;
  const playerIds = await scanPlayerIds(db, store.tableName);
  const truth = new Map<string, Set<string>>(); // board key -> players that belong on it
  const seenVersion = new Map<string, number>();
  const note = (key: string, playerId: string): void => {
    const set = truth.get(key) ?? new Set<string>();
    set.add(playerId);
    truth.set(key, set);
  };
  let rereads = 0;

  for (const playerId of playerIds) {
    for (let attempt = 0; ; attempt++) {
      const pk = entityPk('P', playerId);
      const state = await store.item<StateItem<PlayerState>>({ pk, sk: STATE_SK });
      if (!state || state.state.exists === false) break;
      const events = await store.allEvents<PlayerEvent>(pk);
      const version = Math.max(state.version, events.at(-1)?.version ?? 0);
      const writes: [string, string, string, string][] = []; // board key, score, expire at, periodic
      const view = playerViewOf(state);
      for (const [board, score] of Object.entries(absoluteScores(view)) as [BoardName, number | undefined][]) {
        writes.push([boardKey(board), score === undefined ? '' : String(-score), '', '']);
        if (score !== undefined) note(boardKey(board), playerId);
      }
      const perPeriod = new Map<string, { amount: number; expireAt: number }>();
      for (const item of events) {
        const amount = experienceGained(item.events);
        if (amount <= 0) continue;
        const at = new Date(item.committedAt);
        for (const board of periodicBoards) {
          const expireAt = periodEnd(board, at) + retentionMs;
          if (expireAt <= now.getTime()) continue;
          const key = boardKey(board, periodOf(board, at));
          const sum = perPeriod.get(key) ?? { amount: 0, expireAt };
          perPeriod.set(key, { amount: sum.amount + amount, expireAt });
        }
      }
      for (const [key, { amount, expireAt }] of perPeriod) {
        writes.push([key, String(-amount), String(expireAt), 'p']);
        note(key, playerId);
      }
      const results = await Promise.all(writes.map(([key, score, expireAt]) => redis.eval(REBUILD_SCORE, 2, key, `${key}:applied`, playerId, String(version), score, expireAt)));
      // The periodic guard compares with the player's last version in that period, which can only be newer if the projector moved on.
      if (results.every((r) => r === 1) || attempt >= 5) {
        seenVersion.set(playerId, version);
        if (!results.every((r) => r === 1)) rereads++;
        break;
      }
      rereads++;
    }
  }

  // Entries the table does not justify (for periodic boards: only those no newer version put there meanwhile).
  let removed = 0;
  const keys = new Set([...truth.keys(), ...(['level', 'wealth', 'combat-wins'] as const).map((b) => boardKey(b)), ...(await scanKeys(redis, 'gk:lb:{experience-*'))]);
  for (const key of keys) {
    if (key.endsWith(':applied')) continue;
    const belong = truth.get(key) ?? new Set<string>();
    const members = await redis.zrange(key, '0', '-1');
    for (const member of members) {
      if (belong.has(member)) continue;
      const applied = Number((await redis.hget(`${key}:applied`, member)) ?? 0);
      if (applied > (seenVersion.get(member) ?? 0)) continue;
      await redis.zrem(key, member);
      removed++;
    }
  }
  return { players: playerIds.length, periods: [...truth.keys()].filter((k) => k.includes('experience-')).length, rereads, removed };
}

async function scanPlayerIds(db: DynamoDBDocumentClient, tableName: string): Promise<string[]> {
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'sk = :state AND begins_with(pk, :p)',
        ExpressionAttributeValues: { ':state': STATE_SK, ':p': 'P#' },
        ProjectionExpression: 'entityId',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) ids.push(String(item.entityId));
    start = out.LastEvaluatedKey;
  } while (start);
  return ids.sort();
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}
