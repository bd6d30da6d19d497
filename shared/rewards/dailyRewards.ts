import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import { commandEnvelope, type CommandEnvelope } from '../engine/envelope.js';
import { EventStore, keyString, sleep } from '../persistence/eventStore.js';
import { COMMAND_SK, STATE_SK, commandPk } from '../persistence/tableLayout.js';

/** What every player gets each day (the task id makes it once per player per day). */
export const DAILY_REWARD = Object.freeze({ gold: 100, spiritStones: 5 });

/** First wait before a page's outcomes are checked again; it doubles up to the cap while the page is pending. */
const FIRST_CONFIRM_WAIT_MS = 250;
const MAX_CONFIRM_WAIT_MS = 30_000;

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

/** Where a day's run stands: sending every grant, confirming that each has an outcome, or done. */
export type RunPhase = 'send' | 'confirm' | 'done';

export interface RunResult {
  readonly date: string;
  /** `done` only once every grant of the day has an outcome (applied or rejected); `continue`: invoke again. */
  readonly status: 'done' | 'continue';
  readonly phase: RunPhase;
  /** Pages this invocation scanned (both phases) and grants it sent in the send phase (duplicates included: the engine grants once). */
  readonly pages: number;
  readonly sent: number;
  /** Grants it sent again because they still had no outcome (duplicates included). */
  readonly resent: number;
  /** Grants it found with an outcome, on the pages it confirmed. */
  readonly confirmed: number;
  /** Grants without an outcome on the page it checked last (later pages are not checked yet). */
  readonly pending: number;
}

interface Checkpoint {
  readonly seq: number;
  /** Absent on checkpoints written before runs confirmed their grants. */
  readonly phase?: RunPhase;
  readonly cursor?: Record<string, unknown>;
  readonly done?: boolean;
  readonly granted?: number;
  readonly confirmed?: number;
  readonly resent?: number;
  readonly pending?: number;
}

export const taskIdOf = (date: string) => `daily:${date}`;
const runKey = (date: string) => ({ pk: `REWARDRUN#${date}`, sk: 'RUN' });

/**
 * Grants `date`'s reward to every player, in two phases over the same Scan pages. The send phase sends each
 * page's GrantRewards; the confirm phase reads each page's command records and advances past a page only once
 * every grant on it has an outcome, re-sending those that have none: the queue may have lost them (a send that
 * failed after the checkpoint moved, an emulator restart), and re-sending is safe because each grant's command id
 * [schedule, task, player] and the engine's TASK claim grant once. The checkpoint item holds the phase and cursor;
 * a run takes a page with a conditional lease, so two runs at once split the table instead of both paging it.
 * Returns `continue` when the time budget runs low: the caller re-invokes it and it resumes at the checkpoint.
 */
export async function runDailyRewards(desk: RewardDesk, date: string, remainingMs: () => number, options: RunOptions = {}): Promise<RunResult> {
  const { pageSize = 1000, leaseMs = 60_000, reserveMs = 20_000 } = options;
  const me = randomUUID();
  const records = new EventStore(desk.db, desk.tableName);
  const tally = { pages: 0, sent: 0, resent: 0, confirmed: 0, pending: 0 };
  let phase: RunPhase = 'send';
  let wait = FIRST_CONFIRM_WAIT_MS;
  // The grants this run last found pending, to tell a page still being worked on from one whose messages are gone.
  let watched: { seq: number; pending: ReadonlySet<string> } | undefined;
  const result = (status: RunResult['status']): RunResult => ({ date, status, phase, ...tally });

  for (let idle = 0; ; ) {
    const checkpoint = await readCheckpoint(desk, date);
    phase = phaseOf(checkpoint);
    if (phase === 'done') return result('done');
    if (remainingMs() < reserveMs) return result('continue');
    const seq = checkpoint?.seq ?? 0;
    if (!(await claimPage(desk, date, checkpoint?.seq, phase, me, leaseMs))) {
      // Another run holds this page: wait for it to move on rather than page the same players.
      await sleep(Math.min(1000, 50 * 2 ** Math.min(idle++, 5)) * (0.5 + Math.random()));
      continue;
    }
    idle = 0;
    const page = await scanPlayers(desk, checkpoint?.cursor, pageSize);
    const grants = page.playerIds.map((playerId) => grantFor(playerId, date, desk.now()));
    tally.pages++;

    if (phase === 'send') {
      if (grants.length > 0) await desk.queue.send(grants);
      tally.sent += grants.length;
      await advance(desk, date, seq, me, phase, page.next, grants.length);
      continue;
    }

    const missing = await withoutOutcome(records, grants);
    tally.pending = missing.length;
    if (missing.length === 0) {
      await advance(desk, date, seq, me, phase, page.next, grants.length);
      tally.confirmed += grants.length;
      wait = FIRST_CONFIRM_WAIT_MS;
      watched = undefined;
      continue;
    }
    // Re-sending is always safe but not free (past SQS's 5-minute deduplication window each one is a real
    // message), so a page is re-sent when a wait brought none of its pending grants an outcome.
    const stalled = watched?.seq === seq && !anyConfirmed(watched.pending, grants, missing);
    if (stalled) {
      await desk.queue.send(missing);
      tally.resent += missing.length;
    }
    watched = { seq, pending: new Set(missing.map((g) => g.commandId)) };
    await release(desk, date, seq, me, missing.length, stalled ? missing.length : 0);
    const pause = Math.min(wait, remainingMs() - reserveMs);
    if (pause > 0) await sleep(pause);
    wait = Math.min(MAX_CONFIRM_WAIT_MS, wait * 2);
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

function phaseOf(checkpoint: Checkpoint | undefined): RunPhase {
  if (checkpoint?.phase) return checkpoint.phase;
  // A checkpoint from before the confirm phase: its `done` only meant "everything was sent once".
  return checkpoint?.done ? 'confirm' : 'send';
}

async function scanPlayers(desk: RewardDesk, cursor: Record<string, unknown> | undefined, pageSize: number): Promise<{ playerIds: string[]; next?: Record<string, unknown> }> {
  const page = await desk.db.send(
    new ScanCommand({
      TableName: desk.tableName,
      FilterExpression: 'sk = :state AND begins_with(pk, :player)',
      ExpressionAttributeValues: { ':state': STATE_SK, ':player': 'P#' },
      ProjectionExpression: 'entityId',
      Limit: pageSize,
      ConsistentRead: true,
      ...(cursor ? { ExclusiveStartKey: cursor } : {}),
    }),
  );
  return { playerIds: (page.Items ?? []).map((item) => String(item.entityId)), ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
}

/** The grants whose command has no record yet: neither applied nor rejected. */
async function withoutOutcome(records: EventStore, grants: readonly CommandEnvelope[]): Promise<CommandEnvelope[]> {
  const keys = grants.map((g) => ({ pk: commandPk(g.commandId), sk: COMMAND_SK }));
  const found = await records.getMany(keys);
  return grants.filter((_, i) => !found.has(keyString(keys[i]!)));
}

/** True if a grant that was pending before is still on the page and now has an outcome. */
function anyConfirmed(before: ReadonlySet<string>, grants: readonly CommandEnvelope[], missing: readonly CommandEnvelope[]): boolean {
  const stillMissing = new Set(missing.map((g) => g.commandId));
  return grants.some((g) => before.has(g.commandId) && !stillMissing.has(g.commandId));
}

async function claimPage(desk: RewardDesk, date: string, seq: number | undefined, phase: RunPhase, me: string, leaseMs: number): Promise<boolean> {
  const first = seq === undefined;
  const now = Date.now();
  return conditional(() =>
    desk.db.send(
      new UpdateCommand({
        TableName: desk.tableName,
        Key: runKey(date),
        // Writing the phase (and dropping `done`) moves a checkpoint from before the confirm phase into it.
        UpdateExpression:
          'SET seq = if_not_exists(seq, :zero), #phase = :phase, leaseOwner = :me, leaseUntil = :until, startedAt = if_not_exists(startedAt, :iso), ' +
          'granted = if_not_exists(granted, :zero), confirmed = if_not_exists(confirmed, :zero), resent = if_not_exists(resent, :zero) REMOVE done',
        // The first page is taken by creating the checkpoint; later ones by holding its sequence number, which
        // every advance (and so every change of phase) moves on.
        ConditionExpression: first ? 'attribute_not_exists(pk)' : 'seq = :seq AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeNames: { '#phase': 'phase' },
        ExpressionAttributeValues: {
          ':zero': 0,
          ':phase': phase,
          ':me': me,
          ':until': now + leaseMs,
          ':iso': new Date(now).toISOString(),
          ...(first ? {} : { ':seq': seq, ':now': now }),
        },
      }),
    ),
  );
}

/** Moves past a page: to the next cursor, or at the end of the table to the next phase (confirm, then done). */
async function advance(desk: RewardDesk, date: string, seq: number, me: string, phase: 'send' | 'confirm', next: Record<string, unknown> | undefined, count: number): Promise<void> {
  const counter = phase === 'send' ? 'granted' : 'confirmed';
  const set = ['seq = :next', `${counter} = ${counter} + :count`];
  const names: Record<string, string> = { '#cursor': 'cursor' };
  const values: Record<string, unknown> = { ':seq': seq, ':next': seq + 1, ':me': me, ':count': count };
  if (phase === 'confirm') {
    set.push('#pending = :zero');
    names['#pending'] = 'pending';
    values[':zero'] = 0;
  }
  if (next) {
    set.push('#cursor = :cursor');
    values[':cursor'] = next;
  } else {
    set.push('#phase = :after');
    names['#phase'] = 'phase';
    values[':after'] = phase === 'send' ? 'confirm' : 'done';
    if (phase === 'confirm') {
      set.push('done = :true', 'finishedAt = :iso');
      values[':true'] = true;
      values[':iso'] = new Date().toISOString();
    }
  }
  await conditional(() =>
    desk.db.send(
      new UpdateCommand({
        TableName: desk.tableName,
        Key: runKey(date),
        UpdateExpression: `SET ${set.join(', ')} REMOVE leaseOwner, leaseUntil${next ? '' : ', #cursor'}`,
        ConditionExpression: 'seq = :seq AND leaseOwner = :me',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

/** Gives a page back without moving past it (some grants have no outcome yet), recording what is pending. */
async function release(desk: RewardDesk, date: string, seq: number, me: string, pending: number, resent: number): Promise<void> {
  await conditional(() =>
    desk.db.send(
      new UpdateCommand({
        TableName: desk.tableName,
        Key: runKey(date),
        UpdateExpression: 'SET #pending = :pending, resent = resent + :resent REMOVE leaseOwner, leaseUntil',
        ConditionExpression: 'seq = :seq AND leaseOwner = :me',
        ExpressionAttributeNames: { '#pending': 'pending' },
        ExpressionAttributeValues: { ':seq': seq, ':me': me, ':pending': pending, ':resent': resent },
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
