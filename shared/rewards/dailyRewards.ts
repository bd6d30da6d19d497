import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import { commandEnvelope, type CommandEnvelope } from '../engine/envelope.js';
import { sleep } from '../persistence/eventStore.js';
import { STATE_SK } from '../persistence/tableLayout.js';

/** What every player gets each day (the task id makes it once per player per day). */
export const DAILY_REWARD = Object.freeze({ gold: 100, spiritStones: 5 });

export interface RewardDesk {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export interface RunOptions {
  /** Items a Scan page evaluates (players and everything else in the table). */
  readonly pageSize?: number;
  /** How long a claimed segment is reserved for its run before another may take it over. */
  readonly leaseMs?: number;
  /** Stop taking segments when less than this remains, leaving time to checkpoint and continue. */
  readonly reserveMs?: number;
}

export interface RunResult {
  readonly date: string;
  readonly status: 'done' | 'continue';
  /** Segments this invocation paged and grants it sent (duplicates included: the engine grants once). */
  readonly pages: number;
  readonly sent: number;
}

interface Checkpoint {
  readonly seq: number;
  readonly cursor?: Record<string, unknown>;
  readonly done?: boolean;
  readonly granted?: number;
}

export const taskIdOf = (date: string) => `daily:${date}`;
const runKey = (date: string) => ({ pk: `REWARDRUN#${date}`, sk: 'RUN' });

/**
 * Grants `date`'s reward to every player, a Scan page at a time. The checkpoint item holds the cursor; a run
 * takes a segment with a conditional lease, sends its GrantRewards in batches, then advances the cursor, so two
 * runs at once split the table instead of both paging it. Whatever goes wrong (a run dies holding a lease, a
 * segment is sent twice), each grant's command id [schedule, task, player] and the engine's TASK claim grant once.
 * Returns `continue` when the time budget runs low: the caller re-invokes it and it resumes at the checkpoint.
 */
export async function runDailyRewards(desk: RewardDesk, date: string, remainingMs: () => number, options: RunOptions = {}): Promise<RunResult> {
  const { pageSize = 1000, leaseMs = 60_000, reserveMs = 20_000 } = options;
  const me = randomUUID();
  let pages = 0;
  let sent = 0;
  for (let idle = 0; ; ) {
    if (remainingMs() < reserveMs) return { date, status: 'continue', pages, sent };
    const checkpoint = await readCheckpoint(desk, date);
    if (checkpoint?.done) return { date, status: 'done', pages, sent };
    const seq = checkpoint?.seq ?? 0;
    if (!(await claimSegment(desk, date, checkpoint?.seq, me, leaseMs))) {
      // Another run holds this segment: wait for it to move on rather than page the same players.
      await sleep(Math.min(1000, 50 * 2 ** Math.min(idle++, 5)) * (0.5 + Math.random()));
      continue;
    }
    idle = 0;
    const page = await desk.db.send(
      new ScanCommand({
        TableName: desk.tableName,
        FilterExpression: 'sk = :state AND begins_with(pk, :player)',
        ExpressionAttributeValues: { ':state': STATE_SK, ':player': 'P#' },
        ProjectionExpression: 'entityId',
        Limit: pageSize,
        ConsistentRead: true,
        ...(checkpoint?.cursor ? { ExclusiveStartKey: checkpoint.cursor } : {}),
      }),
    );
    const grants = (page.Items ?? []).map((item) => grantFor(String(item.entityId), date, desk.now()));
    if (grants.length > 0) await desk.queue.send(grants);
    pages++;
    sent += grants.length;
    await advance(desk, date, seq, me, page.LastEvaluatedKey, grants.length);
  }
}

export function grantFor(playerId: string, date: string, now: Date): CommandEnvelope {
  const taskId = taskIdOf(date);
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: { type: 'GrantReward', taskId, ...DAILY_REWARD },
    source: { kind: 'schedule', actor: 'daily-reward' },
    identity: ['schedule', taskId, playerId],
    issuedAt: now,
  });
}

export async function readCheckpoint(desk: Pick<RewardDesk, 'db' | 'tableName'>, date: string): Promise<Checkpoint | undefined> {
  const out = await desk.db.send(new GetCommand({ TableName: desk.tableName, Key: runKey(date), ConsistentRead: true }));
  return out.Item as Checkpoint | undefined;
}

async function claimSegment(desk: RewardDesk, date: string, seq: number | undefined, me: string, leaseMs: number): Promise<boolean> {
  const first = seq === undefined;
  const now = Date.now();
  return conditional(() =>
    desk.db.send(
      new UpdateCommand({
        TableName: desk.tableName,
        Key: runKey(date),
        UpdateExpression: 'SET seq = if_not_exists(seq, :zero), leaseOwner = :me, leaseUntil = :until, startedAt = if_not_exists(startedAt, :iso), granted = if_not_exists(granted, :zero)',
        // The first segment is taken by creating the checkpoint; later ones by holding its sequence number.
        ConditionExpression: first
          ? 'attribute_not_exists(pk)'
          : 'seq = :seq AND attribute_not_exists(done) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeValues: {
          ':zero': 0,
          ':me': me,
          ':until': now + leaseMs,
          ':iso': new Date(now).toISOString(),
          ...(first ? {} : { ':seq': seq, ':now': now }),
        },
      }),
    ),
  );
}

async function advance(desk: RewardDesk, date: string, seq: number, me: string, next: Record<string, unknown> | undefined, count: number): Promise<void> {
  await conditional(() =>
    desk.db.send(
      new UpdateCommand({
        TableName: desk.tableName,
        Key: runKey(date),
        UpdateExpression: `SET seq = :next, granted = granted + :count${next ? ', #cursor = :cursor' : ', done = :true, finishedAt = :iso'} REMOVE leaseOwner, leaseUntil${next ? '' : ', #cursor'}`,
        ConditionExpression: 'seq = :seq AND leaseOwner = :me',
        ExpressionAttributeNames: { '#cursor': 'cursor' },
        ExpressionAttributeValues: {
          ':seq': seq,
          ':next': seq + 1,
          ':me': me,
          ':count': count,
          ...(next ? { ':cursor': next } : { ':true': true, ':iso': new Date().toISOString() }),
        },
      }),
    ),
  );
}

/** True if the conditional write happened; false if its condition did not hold (another run got there first). */
async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
