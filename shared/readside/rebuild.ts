import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventStore, keyString } from '../persistence/eventStore.js';
import { sleep } from '../backoff.js';
import { ENTITY_INDEX } from '../persistence/tableDefinition.js';
import {
  EVENT_SK_PREFIX,
  STATE_SK,
  entityPk,
  eventSk,
  type EventItem,
  type Key,
  type StateItem,
} from '../persistence/tableLayout.js';
import { listEntityIds } from '../engine/queries.js';
import { player, type PlayerState } from '../domain/player/index.js';
import { Leaderboards, boardKey, periodEnd, periodOf, type PeriodicBoard } from './leaderboards.js';
import { PlayerCache } from './playerCache.js';
import { DatasetMarker } from './heal.js';
import { playerViewOf } from './playerView.js';
import { restorePlayer } from './playerRestore.js';
import { RebuildRun, segmentUnit, sweepUnit, type RunCounters, type RunPhase, type RunState } from './rebuildRun.js';

/**
 * The read-side rebuild: every player's cached view and leaderboard entries restored from the table, in place and
 * while the projector keeps running, then every board swept of entries the table does not justify.
 *
 * Players are listed through the engine's entity index (no Scan: the cost grows with players, not with history),
 * in parallel segments; each segment's page token, each board's sweep cursor and the run's counters are a
 * checkpoint in Redis (shared/readside/rebuildRun.ts), so a run continues across invocations (the Lambda
 * re-invokes itself when its time runs low) and resumes after a crash, repeating at most one page per segment.
 * One player is restored by `restorePlayer` (shared/readside/playerRestore.ts): the driver only hands it the
 * player, already read for the page, and the events the boards can still hold.
 */
export interface RebuildDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly redis: Redis;
  readonly cache: PlayerCache;
  readonly leaderboards: Leaderboards;
  /** The read side's dataset marker: views read within its epoch may be cached where Redis lost their floor. */
  readonly marker?: DatasetMarker;
  readonly retentionDays?: number;
}

export interface RebuildOptions {
  /** Continue this run (a continuation names it). */
  readonly runId?: string;
  /** Resume the run under way (one that was interrupted) if there is one; by default a new run starts. */
  readonly resume?: boolean;
  /** Segments of the player listing in a new run (1 to 16, the entity index's shards). */
  readonly segments?: number;
  /** Segments (then boards) this invocation works on at once. */
  readonly concurrency?: number;
  /** Players per listing page, and so per checkpoint. */
  readonly pageSize?: number;
  /** How long a worker holds a segment or board without a checkpoint before another may take it over. */
  readonly leaseMs?: number;
  /** Stop taking pages when less time than this remains, leaving time to checkpoint and hand over. */
  readonly reserveMs?: number;
}

export interface RebuildReport extends RunCounters {
  readonly runId: string;
  /** `continue`: the run is not finished; invoke again with its `runId` (or with `resume`). */
  readonly status: 'done' | 'continue';
  readonly phase: RunPhase;
}

/** Players restored at once within one page (each is a few DynamoDB and Redis round trips). */
const PLAYERS_AT_ONCE = 16;
/** Members a sweep reads per ZSCAN call (a hint to Redis, per checkpoint). */
const SWEEP_PAGE = 500;
const DAY_MS = 86_400_000;

export async function rebuildReadSide(
  deps: RebuildDeps,
  remainingMs: () => number,
  options: RebuildOptions = {},
): Promise<RebuildReport> {
  const run = await RebuildRun.open(deps.redis, {
    segments: options.segments ?? ENTITY_INDEX.shards,
    ...(options.runId ? { runId: options.runId } : {}),
    ...(options.resume ? { resume: true } : {}),
  });
  const reserveMs = options.reserveMs ?? Math.min(30_000, remainingMs() / 4);
  const work: Work = {
    deps,
    run,
    retentionMs: (deps.retentionDays ?? 90) * DAY_MS,
    pageSize: options.pageSize ?? 100,
    leaseMs: options.leaseMs ?? 60_000,
    timeLeft: () => remainingMs() - reserveMs,
  };
  const owner = randomUUID();
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, (_, i) => worker(work, `${owner}:${i}`)));
  const state = await run.state();
  return {
    runId: run.runId,
    status: state.phase === 'done' ? 'done' : 'continue',
    phase: state.phase,
    ...countersOf(state),
  };
}

interface Work {
  readonly deps: RebuildDeps;
  readonly run: RebuildRun;
  readonly retentionMs: number;
  readonly pageSize: number;
  readonly leaseMs: number;
  /** Time this invocation may still start work in; at zero or below it checkpoints and stops. */
  readonly timeLeft: () => number;
}

/** Takes one open unit after another (segments, then boards) until the run is done or the time is up. */
async function worker(work: Work, me: string): Promise<void> {
  for (let idle = 0; work.timeLeft() > 0; ) {
    const state = await work.run.state();
    if (state.phase === 'done') return;
    const units =
      state.phase === 'players'
        ? Array.from({ length: state.segments }, (_, s) => segmentUnit(s))
        : state.sweepKeys.map(sweepUnit);
    const open = units.filter((u) => !state.done.has(u));
    if (open.length === 0) {
      await nextPhase(work, state);
      continue;
    }
    let took = false;
    for (const unit of shuffled(open.filter((u) => !state.leased.has(u)))) {
      const cursor = await work.run.claim(unit, me, work.leaseMs);
      if (cursor === undefined) continue;
      took = true;
      if (state.phase === 'players') await restoreSegment(work, me, unit, Number(unit.slice('seg:'.length)), cursor);
      else await sweepBoard(work, me, unit, unit.slice('sweep:'.length), cursor);
      break;
    }
    // Every open unit is held by another worker (here or elsewhere, or a dead one whose lease has to run out).
    if (took) idle = 0;
    else await sleep(Math.max(0, Math.min(50 * 2 ** Math.min(idle++, 6), work.timeLeft())) * (0.5 + Math.random()));
  }
}

/** Players of one listing segment, a page per checkpoint, from where the segment stood. */
async function restoreSegment(work: Work, me: string, unit: string, segment: number, cursor: string): Promise<void> {
  const { deps, run } = work;
  for (let pageToken = cursor || undefined; ; ) {
    const page = await listEntityIds({ db: deps.db, tableName: deps.tableName }, player, {
      segment,
      segments: run.segments,
      limit: work.pageSize,
      ...(pageToken ? { pageToken } : {}),
    });
    const restored = await restorePage(work, page.entityIds);
    const more = page.nextPageToken !== undefined;
    const goOn = more && work.timeLeft() > 0;
    const moved = await run.advance(unit, me, {
      next: page.nextPageToken ?? 'done',
      holdMs: goOn ? work.leaseMs : 0,
      ...restored,
    });
    if (!moved || !goOn) return;
    pageToken = page.nextPageToken;
  }
}

/** Restores one page of players: their states in one batch read, then each player's view and board entries. */
async function restorePage(
  work: Work,
  playerIds: readonly string[],
): Promise<{ players: number; rereads: number; views: number; seen: Map<string, number> }> {
  const { deps } = work;
  const keys = playerIds.map((id): Key => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK }));
  const reader = new RebuildReader(deps.db, deps.tableName, work.retentionMs);
  // The epoch before the page's read: if it is still the epoch after, the read is current for it (see restoreView).
  const epoch = await deps.marker?.peek().catch(() => undefined);
  let sameEpoch: Promise<boolean> | undefined;
  const trusted = (): Promise<boolean> =>
    (sameEpoch ??=
      epoch && deps.marker
        ? deps.marker.peek().then(
            (now) => now?.id === epoch.id,
            () => false,
          )
        : Promise.resolve(false));
  const states = await reader.getMany(keys);
  reader.prefetched(states);
  const seen = new Map<string, number>();
  let rereads = 0;
  let views = 0;
  await eachAtMost(PLAYERS_AT_ONCE, playerIds, async (playerId, i) => {
    const state = states.get(keyString(keys[i]!)) as StateItem<PlayerState> | undefined;
    if (!state || state.state.exists === false) return;
    const [restored, viewWritten] = await Promise.all([
      restorePlayer({
        store: reader,
        leaderboards: deps.leaderboards,
        playerId,
        retentionMs: work.retentionMs,
        now: new Date(),
      }),
      restoreView(deps.cache, state, trusted),
    ]);
    if (viewWritten) views++;
    if (!restored) return;
    seen.set(playerId, restored.version);
    rereads += restored.rereads;
  });
  return { players: seen.size, rereads, views, seen };
}

/**
 * The view at the version read, through the cache's compare-and-set: never over a newer one (G5). Where Redis has
 * no floor for the player (it lost its data) the view may land only if it was read within the current epoch,
 * as the cache's own fills (shared/readside/playerCache.ts); otherwise the cache refreshes it from a read of its own.
 */
async function restoreView(
  cache: PlayerCache,
  state: StateItem<PlayerState>,
  readWithinEpoch: () => Promise<boolean>,
): Promise<boolean> {
  const view = playerViewOf(state);
  const result = await cache.put(view);
  if (result !== 'unverified') return result === 'written';
  if (await readWithinEpoch()) return (await cache.put(view, { trusted: true })) === 'written';
  await cache.refresh(state.entityId);
  return true;
}

/**
 * How `restorePlayer` reads a player during a rebuild: the state the page's batch read already fetched (a second
 * attempt, after the projector moved the player on, reads it again), and of its events only those the periodic
 * boards can still hold (newest first, down to the retention window), not its whole history.
 */
class RebuildReader extends EventStore {
  private readonly states = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tableName: string,
    private readonly retentionMs: number,
  ) {
    super(client, tableName);
  }

  prefetched(states: ReadonlyMap<string, Record<string, unknown>>): void {
    for (const [key, item] of states) this.states.set(key, item);
  }

  override async item<T>(key: Key): Promise<T | undefined> {
    const first = this.states.get(keyString(key));
    if (!first) return super.item<T>(key);
    this.states.delete(keyString(key));
    return first as T;
  }

  /** The events that can still count on a board, oldest first: a week and a day beyond the retention (weekly periods, issue-time skew). */
  override async allEvents<E>(pk: string): Promise<EventItem<E>[]> {
    const since = new Date(Date.now() - this.retentionMs - 8 * DAY_MS).toISOString();
    const recent: EventItem<E>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
          ExpressionAttributeValues: { ':pk': pk, ':first': eventSk(1), ':last': `${EVENT_SK_PREFIX}9999999999` },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: 100,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of (out.Items ?? []) as EventItem<E>[]) {
        // Versions commit in order, so once one is older than the window every earlier one is too.
        if (item.committedAt < since) return recent.reverse();
        recent.push(item);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return recent.reverse();
  }
}

/**
 * Sweeps one board of entries the table does not justify, a ZSCAN page per checkpoint. Absolute boards: the
 * entries of players this run restored are the truth (or newer, from the projector); others are dropped if the
 * table has no such player and the projector did not write them since they were read. Periodic boards: an entry
 * stays only if gains justify it (Leaderboards.pruneEntry decides, under the projector's guards).
 */
async function sweepBoard(work: Work, me: string, unit: string, key: string, cursor: string): Promise<void> {
  const { deps, run } = work;
  const periodic = isPeriodicKey(key);
  for (let at = cursor || '0'; ; ) {
    const [next, flat] = await deps.redis.zscan(key, at, 'COUNT', SWEEP_PAGE);
    const members = [...new Set(flat.filter((_, i) => i % 2 === 0))];
    const removed = periodic ? await prunePeriodic(work, key, members) : await pruneAbsolute(work, key, members);
    const more = next !== '0';
    const goOn = more && work.timeLeft() > 0;
    const moved = await run.advance(unit, me, { next: more ? next : 'done', holdMs: goOn ? work.leaseMs : 0, removed });
    if (!moved || !goOn) return;
    at = next;
  }
}

async function prunePeriodic(work: Work, key: string, members: readonly string[]): Promise<number> {
  const seen = await work.run.seenVersions(members);
  const pruned = await Promise.all(members.map((m, i) => work.deps.leaderboards.pruneEntry(key, m, seen[i] ?? 0)));
  return pruned.filter(Boolean).length;
}

async function pruneAbsolute(work: Work, key: string, members: readonly string[]): Promise<number> {
  const { deps, run } = work;
  const seen = await run.seenVersions(members);
  const unseen = members.filter((_, i) => seen[i] === undefined);
  if (unseen.length === 0) return 0;
  // The version each entry was written at, read before the table: a player created after the read below has a newer one.
  const applied = await deps.redis.hmget(`${key}:applied`, ...unseen);
  const keys = unseen.map((id): Key => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK }));
  const states = await new EventStore(deps.db, deps.tableName).getMany(keys);
  const ghosts = unseen.filter((_, i) => {
    const state = states.get(keyString(keys[i]!)) as StateItem<PlayerState> | undefined;
    return !state || state.state.exists === false;
  });
  const pruned = await Promise.all(
    ghosts.map((m) => deps.leaderboards.pruneEntry(key, m, Number(applied[unseen.indexOf(m)] ?? 0))),
  );
  return pruned.filter(Boolean).length;
}

/** Players → sweep (with the board keys that exist now), then sweep → done. */
async function nextPhase(work: Work, state: RunState): Promise<void> {
  if (state.phase === 'players') {
    await work.run.enterSweep(await boardsToSweep(work));
    return;
  }
  const periodicKeys = state.sweepKeys.filter(isPeriodicKey);
  const sizes = await Promise.all(periodicKeys.map((k) => work.deps.redis.zcard(k)));
  await work.run.finish(sizes.filter((n) => n > 0).length);
}

/** The absolute boards and every day's and week's board still within the retention that exists. */
async function boardsToSweep(work: Work): Promise<string[]> {
  const now = Date.now();
  const keys = new Set<string>();
  // From the oldest day whose week can still be kept, to tomorrow (clocks of the issuers run a little ahead).
  for (let at = now - work.retentionMs - 8 * DAY_MS; at <= now + DAY_MS; at += DAY_MS) {
    for (const board of ['experience-daily', 'experience-weekly'] as PeriodicBoard[]) {
      const day = new Date(at);
      if (periodEnd(board, day) + work.retentionMs > now) keys.add(boardKey(board, periodOf(board, day)));
    }
  }
  const periodic = [...keys];
  const exists = await Promise.all(periodic.map((k) => work.deps.redis.exists(k)));
  return [
    boardKey('level'),
    boardKey('wealth'),
    boardKey('combat-wins'),
    ...periodic.filter((_, i) => exists[i] === 1),
  ];
}

const isPeriodicKey = (key: string): boolean => /^gk:lb:\{experience-(daily|weekly):/.test(key);

function countersOf(state: RunState): RunCounters {
  return {
    players: state.players,
    rereads: state.rereads,
    views: state.views,
    removed: state.removed,
    periods: state.periods,
  };
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs `task` over `items` with at most `limit` at once. */
async function eachAtMost<T>(
  limit: number,
  items: readonly T[],
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i]!, i);
      }
    }),
  );
}

/**
 * The whole rebuild in one call, as a new run, for callers that hold their own lease and have no time limit
 * of their own (the projector's self-heal). A rebuild that must survive a Lambda's timeout uses
 * `rebuildReadSide`, which checkpoints and continues.
 */
export async function rebuildLeaderboards(options: {
  db: DynamoDBDocumentClient;
  store: EventStore;
  redis: Redis;
  retentionDays?: number;
}): Promise<RebuildReport> {
  const leaderboards = new Leaderboards(
    options.redis,
    options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {},
  );
  const marker = new DatasetMarker(options.redis);
  const cache = new PlayerCache({ redis: options.redis, store: options.store, marker });
  const deps = {
    db: options.db,
    tableName: options.store.tableName,
    redis: options.redis,
    cache,
    leaderboards,
    marker,
    ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
  };
  return rebuildReadSide(deps, () => Number.POSITIVE_INFINITY);
}
