import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import { commandEnvelope, type CommandEnvelope } from '../engine/envelope.js';
import { listEntityIds } from '../engine/queries.js';
import { player } from '../domain/player/index.js';
import { EventStore, keyString } from '../persistence/eventStore.js';
import { sleep } from '../backoff.js';
import { ENTITY_INDEX } from '../persistence/tableDefinition.js';
import { COMMAND_SK, commandPk } from '../persistence/tableLayout.js';
import {
  advanceSegment,
  claimSegment,
  phaseOf,
  recordPhase,
  releaseSegment,
  segmentedCheckpoint,
  type RunPhase,
  type SegmentCheckpoint,
} from './rewardRunCheckpoint.js';

export { readCheckpoint, type Checkpoint, type RunPhase } from './rewardRunCheckpoint.js';

/** What every player gets each day (the task id makes it once per player per day). */
export const DAILY_REWARD = Object.freeze({ gold: 100, spiritStones: 5 });

/** First wait before a page's outcomes are checked again; it doubles up to the cap while the page is pending. */
const FIRST_CONFIRM_WAIT_MS = 250;
const MAX_CONFIRM_WAIT_MS = 30_000;

export interface RewardDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export interface RunOptions {
  /** Players per listing page: each page is sent, then confirmed, as one step of its segment. */
  readonly pageSize?: number;
  /** Segments the players are listed in when a day's run starts (1-16): each is sent and confirmed on its own. */
  readonly segments?: number;
  /** Segments this invocation works on at once. */
  readonly concurrency?: number;
  /** How long a claimed page is reserved for its worker before another may take it over. */
  readonly leaseMs?: number;
  /** Stop taking pages when less than this remains, leaving time to checkpoint and continue. */
  readonly reserveMs?: number;
}

export interface RunResult {
  readonly date: string;
  /** `done` only once every grant of the day has an outcome (applied or rejected); `continue`: invoke again. */
  readonly status: 'done' | 'continue';
  /** The run's phase: the least advanced of its segments' (sending, confirming, done). */
  readonly phase: RunPhase;
  /** Pages this invocation listed (both phases) and grants it sent in the send phase (duplicates included: the engine grants once). */
  readonly pages: number;
  readonly sent: number;
  /** Grants it sent again because they still had no outcome (duplicates included). */
  readonly resent: number;
  /** Grants it found with an outcome, on the pages it confirmed. */
  readonly confirmed: number;
  /** Grants without an outcome on the pages it checked last, one per segment (later pages are not checked yet). */
  readonly pending: number;
}

export const taskIdOf = (date: string) => `daily:${date}`;

/** What one invocation remembers of a segment it confirms: how long to wait, and which grants were pending. */
interface Watch {
  wait: number;
  notBefore: number;
  seen?: { seq: number; pending: ReadonlySet<string> };
}

/**
 * Grants `date`'s reward to every player. Players are listed through the engine's entity index (no Scan: the
 * cost grows with players, not with the table) in segments worked in parallel. Each segment has two phases over
 * the same pages: the send phase sends each page's GrantRewards; the confirm phase reads each page's command
 * records and advances past a page only once every grant on it has an outcome, re-sending those that have none:
 * the queue may have lost them (a send that failed after the checkpoint moved, an emulator restart), and
 * re-sending is safe because each grant's command id [schedule, task, player] and the engine's TASK claim grant
 * once. The checkpoint item holds each segment's phase and page token (shared/rewards/rewardRunCheckpoint.ts);
 * a worker takes a page with a conditional lease, so runs started at once split the players between them.
 * Returns `continue` when the time budget runs low: the caller re-invokes it and it resumes at the checkpoint.
 */
export async function runDailyRewards(
  deps: RewardDeps,
  date: string,
  remainingMs: () => number,
  options: RunOptions = {},
): Promise<RunResult> {
  const run: Run = {
    deps,
    date,
    remainingMs,
    records: new EventStore(deps.db, deps.tableName),
    pageSize: options.pageSize ?? 1000,
    segments: options.segments ?? ENTITY_INDEX.shards,
    leaseMs: options.leaseMs ?? 60_000,
    reserveMs: options.reserveMs ?? 20_000,
    tally: { pages: 0, sent: 0, resent: 0, confirmed: 0 },
    pending: new Map(),
    watches: new Map(),
    phase: 'send',
  };
  const me = randomUUID();
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, (_, i) => worker(run, `${me}:${i}`)));
  const pending = [...run.pending.values()].reduce((n, p) => n + p, 0);
  return { date, status: run.phase === 'done' ? 'done' : 'continue', phase: run.phase, ...run.tally, pending };
}

interface Run {
  readonly deps: RewardDeps;
  readonly date: string;
  readonly remainingMs: () => number;
  readonly records: EventStore;
  readonly pageSize: number;
  readonly segments: number;
  readonly leaseMs: number;
  readonly reserveMs: number;
  readonly tally: { pages: number; sent: number; resent: number; confirmed: number };
  /** Per segment, the grants without an outcome on the page this invocation checked last. */
  readonly pending: Map<string, number>;
  readonly watches: Map<string, Watch>;
  phase: RunPhase;
}

/** Takes one segment's page after another until the run is done or the time budget runs low. */
async function worker(run: Run, me: string): Promise<void> {
  for (let idle = 0; ; ) {
    const checkpoint = await segmentedCheckpoint(run.deps, run.date, run.segments);
    run.phase = phaseOf(checkpoint);
    // Readers of the checkpoint (operators, tests) see the run's phase move on with its segments.
    if (run.phase === 'done' && !checkpoint.done) await recordPhase(run.deps, run.date, 'done');
    else if (run.phase === 'confirm' && checkpoint.phase === 'send') await recordPhase(run.deps, run.date, 'confirm');
    if (run.phase === 'done' || run.remainingMs() < run.reserveMs) return;
    const now = Date.now();
    const open = Object.entries(checkpoint.segments!).filter(([, s]) => s.phase !== 'done');
    const ready = open.filter(
      ([id, s]) => !((s.leaseUntil ?? 0) > now) && (run.watches.get(id)?.notBefore ?? 0) <= now,
    );
    const [segment, at] = ready[Math.floor(Math.random() * ready.length)] ?? [];
    if (!segment || !at || !(await claimSegment(run.deps, run.date, segment, at, me, run.leaseMs))) {
      // Every open segment is being worked on, or waits for its grants' outcomes: wait for one to move on.
      const soonest = Math.min(...open.map(([id]) => run.watches.get(id)?.notBefore ?? now + 1000));
      const pause = Math.min(
        Math.max(20, soonest - now),
        50 * 2 ** Math.min(idle++, 5),
        run.remainingMs() - run.reserveMs,
      );
      if (pause > 0) await sleep(pause * (0.5 + Math.random() / 2));
      continue;
    }
    idle = 0;
    await workPage(run, me, segment, at, Object.keys(checkpoint.segments!).length);
  }
}

/** One page of a segment: sent, or confirmed (and what has no outcome re-sent once a wait brought none of it one). */
async function workPage(run: Run, me: string, segment: string, at: SegmentCheckpoint, segments: number): Promise<void> {
  const { deps, date } = run;
  const page = await listEntityIds(deps, player, {
    segment: Number(segment),
    segments,
    limit: run.pageSize,
    ...(at.cursor ? { pageToken: at.cursor } : {}),
  });
  const grants = page.entityIds.map((playerId) => grantFor(playerId, date, deps.now()));
  run.tally.pages++;

  if (at.phase === 'send') {
    if (grants.length > 0) await deps.queue.send(grants);
    run.tally.sent += grants.length;
    await advanceSegment(deps, date, segment, at, me, page.nextPageToken, grants.length);
    return;
  }

  const missing = await withoutOutcome(run.records, grants);
  run.pending.set(segment, missing.length);
  const watch = run.watches.get(segment) ?? { wait: FIRST_CONFIRM_WAIT_MS, notBefore: 0 };
  run.watches.set(segment, watch);
  if (missing.length === 0) {
    if (await advanceSegment(deps, date, segment, at, me, page.nextPageToken, grants.length))
      run.tally.confirmed += grants.length;
    run.watches.delete(segment);
    return;
  }
  // Re-sending is always safe but not free (past SQS's 5-minute deduplication window each one is a real
  // message), so a page is re-sent when a wait brought none of its pending grants an outcome.
  const stalled = watch.seen?.seq === at.seq && !anyConfirmed(watch.seen.pending, grants, missing);
  if (stalled) {
    await deps.queue.send(missing);
    run.tally.resent += missing.length;
  }
  watch.seen = { seq: at.seq, pending: new Set(missing.map((g) => g.commandId)) };
  await releaseSegment(deps, date, segment, at, me, missing.length, stalled ? missing.length : 0);
  watch.notBefore = Date.now() + watch.wait;
  watch.wait = Math.min(MAX_CONFIRM_WAIT_MS, watch.wait * 2);
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

/** The grants whose command has no record yet: neither applied nor rejected. */
async function withoutOutcome(records: EventStore, grants: readonly CommandEnvelope[]): Promise<CommandEnvelope[]> {
  const keys = grants.map((g) => ({ pk: commandPk(g.commandId), sk: COMMAND_SK }));
  const found = await records.getMany(keys);
  return grants.filter((_, i) => !found.has(keyString(keys[i]!)));
}

/** True if a grant that was pending before is still on the page and now has an outcome. */
function anyConfirmed(
  before: ReadonlySet<string>,
  grants: readonly CommandEnvelope[],
  missing: readonly CommandEnvelope[],
): boolean {
  const stillMissing = new Set(missing.map((g) => g.commandId));
  return grants.some((g) => before.has(g.commandId) && !stillMissing.has(g.commandId));
}
