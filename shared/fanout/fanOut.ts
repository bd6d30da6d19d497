import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import type { CommandEnvelope } from '../engine/envelope.js';
import { EventStore, keyString } from '../persistence/eventStore.js';
import { COMMAND_SK, commandPk, type CommandRecord } from '../persistence/tableLayout.js';
import { sleep } from '../backoff.js';
import {
  advanceSegment,
  claimSegment,
  phaseOf,
  recordPhase,
  releaseSegment,
  segmentedCheckpoint,
  type RunKey,
  type RunPhase,
  type SegmentCheckpoint,
} from './checkpoint.js';

/**
 * A resumable fan-out: one command per listed entity, each with a deterministic id, sent page by page and then
 * confirmed page by page until every command has an outcome (the daily rewards, a bulk grant). Players are listed
 * in segments worked in parallel. Each segment has two phases over the same pages: the send phase sends each
 * page's commands; the confirm phase reads each page's command records and advances past a page only once every
 * command on it has an outcome, re-sending those that have none: the queue may have lost them (a send that failed
 * after the checkpoint moved, an emulator restart), and re-sending is safe because each command's id (and the
 * engine's claims) apply it once. The checkpoint item holds each segment's phase and page token
 * (shared/fanout/checkpoint.ts); a worker takes a page with a conditional lease, so runs started at once split
 * the entities between them. Returns `continue` when the time budget runs low: the caller invokes it again and
 * it resumes at the checkpoint.
 */
export interface FanOutDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export interface EntityPage {
  readonly ids: readonly string[];
  /** Absent on the segment's last page. */
  readonly next?: string;
}

/** What one run fans out, and what it keeps of the outcomes. */
export interface FanOutPlan {
  /** Where its checkpoint lives. */
  readonly key: RunKey;
  /** Segments the entities are listed in when the run starts. */
  readonly segments: number;
  /** Attributes a new checkpoint starts with (its counters at zero). */
  readonly initial?: Readonly<Record<string, unknown>>;
  /** The counter a sent page adds its commands to. */
  readonly sentCounter: string;
  /** One page of one segment of the entities; the same arguments list the same page in both phases. */
  list(segment: number, segments: number, cursor: string | undefined, limit: number): Promise<EntityPage>;
  command(entityId: string, now: Date): CommandEnvelope;
  /**
   * Called with a page's outcomes once every command on it has one, before the page is passed: what it writes must
   * be idempotent (the page may be confirmed again by another worker); the counters it returns are added once.
   */
  confirmed?(outcomes: readonly Outcome[]): Promise<Readonly<Record<string, number>>>;
}

export interface Outcome {
  readonly envelope: CommandEnvelope;
  readonly record: CommandRecord;
}

export interface FanOutOptions {
  /** Entities per listing page: each page is sent, then confirmed, as one step of its segment. */
  readonly pageSize?: number;
  /** Segments this invocation works on at once. */
  readonly concurrency?: number;
  /** How long a claimed page is reserved for its worker before another may take it over. */
  readonly leaseMs?: number;
  /** Stop taking pages when less than this remains, leaving time to checkpoint and continue. */
  readonly reserveMs?: number;
}

export interface FanOutResult {
  /** `done` only once every command has an outcome (applied or rejected); `continue`: invoke again. */
  readonly status: 'done' | 'continue';
  /** The run's phase: the least advanced of its segments' (sending, confirming, done). */
  readonly phase: RunPhase;
  /** Pages this invocation listed (both phases) and commands it sent in the send phase (duplicates included: the engine applies once). */
  readonly pages: number;
  readonly sent: number;
  /** Commands it sent again because they still had no outcome (duplicates included). */
  readonly resent: number;
  /** Commands it found with an outcome, on the pages it confirmed. */
  readonly confirmed: number;
  /** Commands without an outcome on the pages it checked last, one per segment (later pages are not checked yet). */
  readonly pending: number;
}

/** First wait before a page's outcomes are checked again; it doubles up to the cap while the page is pending. */
const FIRST_CONFIRM_WAIT_MS = 250;
const MAX_CONFIRM_WAIT_MS = 30_000;

/** What one invocation remembers of a segment it confirms: how long to wait, and which commands were pending. */
interface Watch {
  wait: number;
  notBefore: number;
  seen?: { seq: number; pending: ReadonlySet<string> };
}

interface Run {
  readonly deps: FanOutDeps;
  readonly plan: FanOutPlan;
  readonly remainingMs: () => number;
  readonly records: EventStore;
  readonly pageSize: number;
  readonly leaseMs: number;
  readonly reserveMs: number;
  readonly tally: { pages: number; sent: number; resent: number; confirmed: number };
  /** Per segment, the commands without an outcome on the page this invocation checked last. */
  readonly pending: Map<string, number>;
  readonly watches: Map<string, Watch>;
  phase: RunPhase;
}

export async function runFanOut(
  deps: FanOutDeps,
  plan: FanOutPlan,
  remainingMs: () => number,
  options: FanOutOptions = {},
): Promise<FanOutResult> {
  const run: Run = {
    deps,
    plan,
    remainingMs,
    records: new EventStore(deps.db, deps.tableName),
    pageSize: options.pageSize ?? 1000,
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
  return { status: run.phase === 'done' ? 'done' : 'continue', phase: run.phase, ...run.tally, pending };
}

/** Takes one segment's page after another until the run is done or the time budget runs low. */
async function worker(run: Run, me: string): Promise<void> {
  const { deps, plan } = run;
  for (let idle = 0; ; ) {
    const checkpoint = await segmentedCheckpoint(deps, plan.key, plan.segments, plan.initial);
    run.phase = phaseOf(checkpoint);
    // Readers of the checkpoint (operators, tests) see the run's phase move on with its segments.
    if (run.phase === 'done' && !checkpoint.done) await recordPhase(deps, plan.key, 'done');
    else if (run.phase === 'confirm' && checkpoint.phase === 'send') await recordPhase(deps, plan.key, 'confirm');
    if (run.phase === 'done' || run.remainingMs() < run.reserveMs) return;
    const now = Date.now();
    const open = Object.entries(checkpoint.segments!).filter(([, s]) => s.phase !== 'done');
    const ready = open.filter(
      ([id, s]) => !((s.leaseUntil ?? 0) > now) && (run.watches.get(id)?.notBefore ?? 0) <= now,
    );
    const [segment, at] = ready[Math.floor(Math.random() * ready.length)] ?? [];
    if (!segment || !at || !(await claimSegment(deps, plan.key, segment, at, me, run.leaseMs))) {
      // Every open segment is being worked on, or waits for its commands' outcomes: wait for one to move on.
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
  const { deps, plan } = run;
  const page = await plan.list(Number(segment), segments, at.cursor, run.pageSize);
  const commands = page.ids.map((id) => plan.command(id, deps.now()));
  run.tally.pages++;

  if (at.phase === 'send') {
    if (commands.length > 0) await deps.queue.send(commands);
    run.tally.sent += commands.length;
    await advanceSegment(deps, plan.key, segment, at, me, page.next, { [plan.sentCounter]: commands.length });
    return;
  }

  const { missing, outcomes } = await outcomesOf(run.records, commands);
  run.pending.set(segment, missing.length);
  const watch = run.watches.get(segment) ?? { wait: FIRST_CONFIRM_WAIT_MS, notBefore: 0 };
  run.watches.set(segment, watch);
  if (missing.length === 0) {
    const counts = (await plan.confirmed?.(outcomes)) ?? {};
    if (await advanceSegment(deps, plan.key, segment, at, me, page.next, { ...counts, confirmed: commands.length }))
      run.tally.confirmed += commands.length;
    run.watches.delete(segment);
    return;
  }
  // Re-sending is always safe but not free (past SQS's 5-minute deduplication window each one is a real
  // message), so a page is re-sent when a wait brought none of its pending commands an outcome.
  const stalled = watch.seen?.seq === at.seq && !anyConfirmed(watch.seen.pending, commands, missing);
  if (stalled) {
    await deps.queue.send(missing);
    run.tally.resent += missing.length;
  }
  watch.seen = { seq: at.seq, pending: new Set(missing.map((g) => g.commandId)) };
  await releaseSegment(deps, plan.key, segment, at, me, missing.length, stalled ? missing.length : 0);
  watch.notBefore = Date.now() + watch.wait;
  watch.wait = Math.min(MAX_CONFIRM_WAIT_MS, watch.wait * 2);
}

/** The commands whose record does not exist yet (neither applied nor rejected), and the outcomes of the others. */
async function outcomesOf(
  records: EventStore,
  commands: readonly CommandEnvelope[],
): Promise<{ missing: CommandEnvelope[]; outcomes: Outcome[] }> {
  const keys = commands.map((g) => ({ pk: commandPk(g.commandId), sk: COMMAND_SK }));
  const found = await records.getMany(keys);
  const missing: CommandEnvelope[] = [];
  const outcomes: Outcome[] = [];
  commands.forEach((envelope, i) => {
    const record = found.get(keyString(keys[i]!)) as CommandRecord | undefined;
    if (record) outcomes.push({ envelope, record });
    else missing.push(envelope);
  });
  return { missing, outcomes };
}

/** True if a command that was pending before is still on the page and now has an outcome. */
function anyConfirmed(
  before: ReadonlySet<string>,
  commands: readonly CommandEnvelope[],
  missing: readonly CommandEnvelope[],
): boolean {
  const stillMissing = new Set(missing.map((g) => g.commandId));
  return commands.some((g) => before.has(g.commandId) && !stillMissing.has(g.commandId));
}
