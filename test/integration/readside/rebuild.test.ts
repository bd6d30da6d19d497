import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Context } from 'aws-lambda';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProvisionedResources } from '../../../local/stack.js';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { lambdaContext } from '../../../local/lambdaContext.js';
import {
  createLeaderboardRebuildHandler,
  type LeaderboardRebuildClients,
  type LeaderboardRebuildInput,
} from '../../../functions/leaderboard-rebuild/handler.js';
import { CommandProcessor } from '../../../shared/engine/commandProcessor.js';
import { EntityRegistry } from '../../../shared/engine/registry.js';
import { commandEnvelope, type CommandEnvelope } from '../../../shared/engine/envelope.js';
import { player, type PlayerCommand, type PlayerState } from '../../../shared/domain/player/index.js';
import type { StateItem } from '../../../shared/persistence/tableLayout.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import { eventStore } from '../../../shared/gamekeep.js';
import type { RebuildReport } from '../../../shared/readside/rebuild.js';
import { PlayerCache, playerViewOf, redisClient, redisReady, type PlayerView } from '../../../shared/readside/index.js';
import { viewKey } from '../../../shared/readside/playerCache.js';
import { provisionTestStack } from '../../support/stack.js';
import { injectFaults } from '../../support/faults.js';
import { playerCommand, sqsRecord } from '../../support/pipeline.js';

/**
 * The read-side rebuild (issue 9, item 3): players listed through the entity index, in segments, checkpointed in
 * Redis; it continues across invocations, resumes after a crash, restores cached views as well as the boards and
 * removes what the table does not justify. The expected boards are computed below from raw table items.
 */
const PLAYERS = Array.from({ length: 60 }, (_, i) => `rb-${String(i).padStart(3, '0')}`);
/** A player with a long history, almost all of it older than the boards keep. */
const ELDER = 'rb-elder';
const ELDER_OLD_VERSIONS = 400;
const ALL = [...PLAYERS, ELDER];
const RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

let stack: ProvisionedResources;
let server: LocalRedis;
let redis: Redis;

// ---- the truth, from raw items (not with the read side's functions) ----

const utcDay = (at: Date): string => at.toISOString().slice(0, 10);
/** ISO week: Monday to Sunday (UTC), numbered in the year of its Thursday. */
function isoWeek(at: Date): { name: string; ends: number } {
  const day = Math.floor(at.getTime() / DAY_MS); // day 0 (1970-01-01) was a Thursday
  const monday = day - ((day + 3) % 7);
  const thursday = new Date((monday + 3) * DAY_MS);
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1) / DAY_MS;
  return {
    name: `${thursday.getUTCFullYear()}-W${String(Math.floor((monday + 3 - jan1) / 7) + 1).padStart(2, '0')}`,
    ends: (monday + 7) * DAY_MS,
  };
}

async function itemsOf(db: DynamoDBDocumentClient, playerId: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: stack.config.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `P#${playerId}` },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every board as the table says it must be: board key → player → score; periods past the retention left out. */
async function expectedBoards(): Promise<Map<string, Map<string, number>>> {
  const db = dynamoDbClient(stack.config);
  const boards = new Map<string, Map<string, number>>();
  const add = (key: string, id: string, value: number): void => {
    const board = boards.get(key) ?? new Map<string, number>();
    board.set(id, (board.get(id) ?? 0) + value);
    boards.set(key, board);
  };
  const keep = Date.now() - RETENTION_DAYS * DAY_MS; // a period is kept while it ended less than this long ago
  try {
    for (const id of ALL) {
      const items = await itemsOf(db, id);
      const s = items.find((i) => i.sk === 'STATE')!.state;
      add('gk:lb:{level}', id, s.level * 1e12 + s.experience);
      add('gk:lb:{wealth}', id, s.gold + s.spiritStones);
      let wins = 0;
      for (const item of items.filter((i) => String(i.sk).startsWith('E#'))) {
        const issued = new Date(item.issuedAt);
        for (const event of item.events as { type: string; amount?: number; outcome?: string }[]) {
          if (event.type === 'CombatRecorded' && event.outcome === 'win') wins++;
          if (event.type !== 'ExperienceGained' || !event.amount) continue;
          if (Date.parse(utcDay(issued)) + DAY_MS > keep)
            add(`gk:lb:{experience-daily:${utcDay(issued)}}`, id, event.amount);
          if (isoWeek(issued).ends > keep) add(`gk:lb:{experience-weekly:${isoWeek(issued).name}}`, id, event.amount);
        }
      }
      if (wins > 0) add('gk:lb:{combat-wins}', id, wins);
    }
  } finally {
    db.destroy();
  }
  return boards;
}

/** Every board Redis holds (each `gk:lb:` sorted set), as plain scores. */
async function actualBoards(): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const key of await redis.keys('gk:lb:*')) {
    if ((await redis.type(key)) !== 'zset') continue;
    const raw = await redis.zrange(key, '0', '-1', 'WITHSCORES');
    const board = new Map<string, number>();
    for (let i = 0; i < raw.length; i += 2) board.set(raw[i]!, -Number(raw[i + 1]));
    out.set(key, board);
  }
  return out;
}

const sorted = (boards: Map<string, Map<string, number>>) =>
  Object.fromEntries(
    [...boards]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, Object.fromEntries([...v].sort(([a], [b]) => a.localeCompare(b)))]),
  );

async function tableVersions(): Promise<Map<string, number>> {
  const store = eventStore(stack.config);
  const states = await store.getMany(ALL.map((id) => ({ pk: `P#${id}`, sk: 'STATE' })));
  return new Map(ALL.map((id) => [id, Number(states.get(`P#${id}|STATE`)!.version)]));
}

// ---- what an outage and a sloppy past left in Redis ----

const TODAY = utcDay(new Date());

async function damageTheReadSide(): Promise<void> {
  await redis.flushall();
  // A player the table does not know (a table restored to an earlier point), with and without a version guard.
  await redis.zadd('gk:lb:{level}', -5e12, 'nobody');
  await redis.hset('gk:lb:{level}:applied', 'nobody', 3);
  await redis.zadd('gk:lb:{wealth}', -1, 'nobody-else');
  // An entry on today's board that no gain justifies (no test command was issued today).
  await redis.zadd(`gk:lb:{experience-daily:${TODAY}}`, -777, 'rb-001');
  // A wrong score at the right version, and a win the player never had.
  await redis.zadd('gk:lb:{wealth}', -123_456, 'rb-003');
  await redis.zadd('gk:lb:{combat-wins}', -7, 'rb-004');
}

// ---- runs ----

type Handler = (event: LeaderboardRebuildInput, context: Context) => Promise<RebuildReport>;

const rebuildHandler = (clients: LeaderboardRebuildClients = {}): Handler =>
  createLeaderboardRebuildHandler({ ...stack.config, redisUrl: server.url }, { pageSize: 4, ...clients });

/** Counts the requests a client sends (per command, `@index` for index queries) and the event items it reads of one player. */
function observed(
  db: DynamoDBDocumentClient,
  watch: string,
): { db: DynamoDBDocumentClient; requests: string[]; eventsRead: () => number } {
  const requests: string[] = [];
  let events = 0;
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { IndexName?: string; ExpressionAttributeValues?: Record<string, unknown> };
      requests.push(`${String(context.commandName)}${input.IndexName ? `@${input.IndexName}` : ''}`);
      const out = await next(args);
      if (
        context.commandName === 'QueryCommand' &&
        !input.IndexName &&
        input.ExpressionAttributeValues?.[':pk'] === `P#${watch}`
      )
        events += Number((out.output as { ScannedCount?: number }).ScannedCount ?? 0);
      return out;
    },
    { step: 'initialize', name: 'observeRebuild' },
  );
  return { db, requests, eventsRead: () => events };
}

/** No Scan may reach the table: the wrapper refuses it before it leaves. */
const noScan = (db: DynamoDBDocumentClient): DynamoDBDocumentClient =>
  injectFaults(db, ({ commandName }) =>
    commandName === 'ScanCommand' || commandName === 'ParallelScanCommand' ? new Error('a Scan was issued') : undefined,
  );

beforeAll(async () => {
  stack = await provisionTestStack();
  server = await startRedis();
  redis = redisClient(server.url);
  await redisReady(redis);
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const processor = (clock?: () => Date) =>
    new CommandProcessor({
      store: eventStore(stack.config),
      registry: new EntityRegistry([player]),
      log: silent,
      commandRecordDays: 14,
      maxCommitAttempts: 8,
      ...(clock ? { clock } : {}),
    });
  const apply = async (p: CommandProcessor, commands: CommandEnvelope[]): Promise<void> => {
    for (let i = 0; i < commands.length; i += 10)
      expect((await p.processBatch(commands.slice(i, i + 10).map((c) => sqsRecord(c)))).batchItemFailures).toEqual([]);
  };
  const now = processor();
  await apply(
    now,
    PLAYERS.flatMap((id, i): CommandEnvelope[] => {
      const commands: PlayerCommand[] = [
        { type: 'CreatePlayer', name: `Rebuilt ${id}` },
        { type: 'AddExperience', amount: 10 + ((i * 37) % 900), source: 'quest' },
      ];
      if (i % 3 === 0)
        commands.push({
          type: 'RecordCombatResult',
          combatId: `arena-${i}`,
          kind: 'arena',
          outcome: 'win',
          rewards: { gold: 5 },
        });
      if (i % 5 === 0) commands.push({ type: 'SpendCurrency', currency: 'gold', amount: 30, reason: 'shop' });
      if (i % 7 === 0) commands.push({ type: 'AddExperience', amount: 3_000, source: 'quest' });
      return commands.map((c) => playerCommand(id, c));
    }),
  );
  // The elder's history: 400 versions committed two hundred days ago, then one today.
  const longAgo = Date.now() - 200 * DAY_MS;
  const old = (n: number, command: PlayerCommand): CommandEnvelope =>
    commandEnvelope({
      entityType: 'player',
      entityId: ELDER,
      command: command as never,
      source: { kind: 'service', actor: 'test' },
      identity: ['test', ELDER, String(n)],
      issuedAt: new Date(longAgo + n * 1000),
    });
  let tick = 0;
  await apply(
    processor(() => new Date(longAgo + ++tick * 1000)),
    [
      old(0, { type: 'CreatePlayer', name: 'The Elder' }),
      ...Array.from({ length: ELDER_OLD_VERSIONS - 1 }, (_, n) =>
        old(n + 1, { type: 'AddExperience', amount: 1, source: 'quest' }),
      ),
    ],
  );
  await apply(now, [playerCommand(ELDER, { type: 'AddExperience', amount: 40, source: 'quest' })]);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

beforeEach(damageTheReadSide);

describe('the read-side rebuild', () => {
  it('restores every board and cached view from the table, without a Scan, reading only the events the boards keep', async () => {
    const versions = await tableVersions();
    const store = eventStore(stack.config);
    const cache = new PlayerCache({ redis, store });
    const viewOf = async (id: string): Promise<PlayerView> =>
      playerViewOf((await store.item<StateItem<PlayerState>>({ pk: `P#${id}`, sk: 'STATE' }))!);
    await cache.put({ ...(await viewOf('rb-010')), version: 1, gold: 0 }, { trusted: true }); // an old view the projector never replaced
    await cache.put({ ...(await viewOf('rb-011')), version: 999 }, { trusted: true }); // newer than the table: a rebuild must never go back
    const { db, requests, eventsRead } = observed(noScan(dynamoDbClient(stack.config)), ELDER);
    try {
      const report = await rebuildHandler({ db, segments: 5, concurrency: 3 })(
        {},
        lambdaContext('leaderboard-rebuild'),
      );
      expect(report).toMatchObject({ status: 'done', phase: 'done', players: ALL.length });
      expect(report.removed).toBe(3); // nobody, nobody-else, rb-001's entry of today
      expect(requests.filter((r) => r.startsWith('Scan'))).toEqual([]);
      expect(requests).toContain('QueryCommand@entities');
      // The elder has 401 versions; the boards need its last one: one page of its events is read, not its history.
      expect(eventsRead()).toBeGreaterThan(0);
      expect(eventsRead()).toBeLessThan(ELDER_OLD_VERSIONS / 2);
    } finally {
      db.destroy();
    }
    expect(sorted(await actualBoards())).toEqual(sorted(await expectedBoards()));
    for (const id of ALL) {
      const [v, d] = await redis.hmget(viewKey(id), 'v', 'd');
      if (id === 'rb-011') {
        expect(Number(v)).toBe(999);
        continue;
      }
      expect(Number(v), id).toBe(versions.get(id));
      expect((JSON.parse(d!) as PlayerView).version).toBe(versions.get(id));
    }
  });

  it('continues across invocations when the time budget runs out, and ends equal to the truth', async () => {
    // Each invocation's clock advances 100 ms per DynamoDB request, so a budget lasts a few pages.
    let spent = 0;
    const db = dynamoDbClient(stack.config);
    db.middlewareStack.add(
      (next) => (args) => {
        spent += 100;
        return next(args);
      },
      { step: 'initialize', name: 'spendBudget' },
    );
    const continued: string[] = [];
    const handler = rebuildHandler({
      db,
      segments: 4,
      concurrency: 2,
      reserveMs: 58_000,
      continueRun: async ({ runId }) => void continued.push(runId),
    });
    const reports: RebuildReport[] = [];
    try {
      let input: LeaderboardRebuildInput = {};
      while (reports.at(-1)?.status !== 'done' && reports.length < 200) {
        spent = 0;
        const context = { ...lambdaContext('leaderboard-rebuild'), getRemainingTimeInMillis: () => 60_000 - spent };
        const report = await handler(input, context);
        reports.push(report);
        input = { runId: report.runId };
      }
    } finally {
      db.destroy();
    }
    expect(reports.at(-1)).toMatchObject({ status: 'done', players: ALL.length, removed: 3 });
    expect(reports.length).toBeGreaterThan(3);
    // Every invocation but the last asked to be continued, always the same run.
    expect(continued).toHaveLength(reports.length - 1);
    expect(new Set([...continued, ...reports.map((r) => r.runId)]).size).toBe(1);
    // The counters move with the checkpoints: no page was counted twice.
    expect(reports.map((r) => r.players)).toEqual([...reports.map((r) => r.players)].sort((a, b) => a - b));
    expect(sorted(await actualBoards())).toEqual(sorted(await expectedBoards()));
  });

  it('resumes from its checkpoint after the process died mid-run, without starting over', async () => {
    const listingPages = (requests: readonly string[]) => requests.filter((r) => r === 'QueryCommand@entities').length;
    const whole = observed(dynamoDbClient(stack.config), ELDER);
    try {
      await rebuildHandler({ db: whole.db, segments: 4, concurrency: 2 })({}, lambdaContext('leaderboard-rebuild'));
    } finally {
      whole.db.destroy();
    }
    await damageTheReadSide();

    // The crash: after a few listing pages every request fails, as for a process that was killed.
    let pages = 0;
    const dying = injectFaults(dynamoDbClient(stack.config), ({ commandName, input }) => {
      if (pages >= 6) return new Error('the process was killed');
      if (commandName === 'QueryCommand' && (input as { IndexName?: string }).IndexName) pages++;
      return undefined;
    });
    const crash = await rebuildHandler({ db: dying, segments: 4, concurrency: 2, leaseMs: 300 })(
      {},
      lambdaContext('leaderboard-rebuild'),
    ).then(
      () => 'finished',
      (error: unknown) => String(error),
    );
    dying.destroy();
    expect(crash).toContain('killed');
    const runId = await redis.get('gk:rebuild:current');
    expect(runId).toBeTruthy();
    const [restoredBefore, phase] = await redis.hmget(`gk:rebuild:{${runId}}`, 'players', 'phase');
    expect(phase).toBe('players');
    expect(Number(restoredBefore)).toBeGreaterThan(0);
    expect(Number(restoredBefore)).toBeLessThan(ALL.length);

    const resumed = observed(dynamoDbClient(stack.config), ELDER);
    try {
      const report = await rebuildHandler({ db: resumed.db, segments: 4, concurrency: 2, leaseMs: 300 })(
        { resume: true },
        lambdaContext('leaderboard-rebuild'),
      );
      expect(report).toMatchObject({ runId, status: 'done', players: ALL.length, removed: 3 });
    } finally {
      resumed.db.destroy();
    }
    // It went on from the checkpoint: the pages done before the crash were not listed again.
    expect(listingPages(resumed.requests)).toBeLessThan(listingPages(whole.requests));
    expect(sorted(await actualBoards())).toEqual(sorted(await expectedBoards()));
    // A finished run is not resumed: the next call starts a new one.
    const next = await rebuildHandler()({ resume: true }, lambdaContext('leaderboard-rebuild'));
    expect(next.runId).not.toBe(runId);
  });
});
