import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBRecord } from 'aws-lambda';
import { startLocalStack, type LocalStack } from '../../../local/stack.js';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import { startProjectionPipeline, type ProjectionPipeline } from '../../../local/projectionPipeline.js';
import { commandQueue, eventStore } from '../../../shared/gamekeep.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import type { Config } from '../../../shared/config.js';
import type { CommandQueue } from '../../../shared/messaging/commandQueue.js';
import type { EventStore } from '../../../shared/persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../../../shared/persistence/tableLayout.js';
import type { PlayerCommand, PlayerState } from '../../../shared/domain/player/index.js';
import {
  PlayerCache,
  boardNames,
  isPeriodic,
  periodOf,
  playerViewOf,
  redisClient,
  redisReady,
} from '../../../shared/readside/index.js';
import { boardKey } from '../../../shared/readside/leaderboards.js';
import { createLeaderboardRebuildHandler } from '../../../functions/leaderboard-rebuild/handler.js';
import { lambdaContext } from '../../../local/lambdaContext.js';
import { viewKey } from '../../../shared/readside/playerCache.js';
import { playerCommand } from '../../support/pipeline.js';
import { truthOf, until } from './truth.js';

// The read side needs the table's stream: a DynamoDB Local of its own (one stream table per instance) and a redis-server.
let stack: LocalStack;
let redis: LocalRedis;
let config: Config;
let commands: CommandPipeline;
let projection: ProjectionPipeline;
let queue: CommandQueue;
let store: EventStore;
const delivered: DynamoDBRecord[] = [];
const players = ['ann', 'bo', 'cy', 'di'];

async function send(...envelopes: [string, PlayerCommand][]): Promise<void> {
  await queue.send(envelopes.map(([id, command]) => playerCommand(id, command)));
}

async function settled(): Promise<void> {
  await commands.drained();
  await projection.poller.caughtUp();
}

async function tableState(playerId: string): Promise<StateItem<PlayerState>> {
  return (await store.item<StateItem<PlayerState>>({ pk: entityPk('P', playerId), sk: STATE_SK }))!;
}

/** What every board must hold according to the table alone (folded in ./truth.ts, not with the projector's code). */
const expectedBoards = async (ids: readonly string[]) => {
  const db = dynamoDbClient(config);
  try {
    return (await truthOf(db, config.tableName, ids)).boards;
  } finally {
    db.destroy();
  }
};

/** Every board Redis holds for the keys the table justifies, as plain score maps. */
async function actualBoards(keys: Iterable<string>): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const key of keys) {
    const raw = await projection.readSide.redis.zrange(key, '0', '-1', 'WITHSCORES');
    const board = new Map<string, number>();
    for (let i = 0; i < raw.length; i += 2) board.set(raw[i]!, -Number(raw[i + 1]));
    out.set(key, board);
  }
  return out;
}

async function cachedVersions(): Promise<Record<string, string | null>> {
  return Object.fromEntries(
    await Promise.all(players.map(async (id) => [id, await projection.readSide.redis.hget(viewKey(id), 'v')] as const)),
  );
}

beforeAll(async () => {
  stack = await startLocalStack({ stream: true, tableName: 'readside', queueName: 'readside' });
  redis = await startRedis();
  config = { ...stack.config, redisUrl: redis.url };
  commands = startCommandPipeline(stack, { concurrency: 2 });
  projection = await startProjectionPipeline(config, {
    pollIntervalMs: 50,
    onBatch: (event) => delivered.push(...event.Records),
  });
  queue = commandQueue(config);
  store = eventStore(config);
  await send(...players.map((id, i): [string, PlayerCommand] => [id, { type: 'CreatePlayer', name: `Reader ${i}` }]));
  await send(
    ['ann', { type: 'AddExperience', amount: 2_500, source: 'quest' }],
    ['bo', { type: 'AddExperience', amount: 400, source: 'quest' }],
  );
  await send(
    ['ann', { type: 'SpendCurrency', currency: 'gold', amount: 100, reason: 'shop' }],
    ['cy', { type: 'AddExperience', amount: 2_500, source: 'quest' }],
  );
  await send(
    [
      'bo',
      {
        type: 'RecordCombatResult',
        combatId: 'arena-1',
        opponentId: 'di',
        kind: 'arena',
        outcome: 'win',
        rewards: { gold: 10 },
      },
    ],
    [
      'di',
      {
        type: 'RecordCombatResult',
        combatId: 'arena-1',
        opponentId: 'bo',
        kind: 'arena',
        outcome: 'loss',
        rewards: {},
      },
    ],
  );
  await settled();
});

afterAll(async () => {
  await projection?.stop();
  await commands?.stop();
  await stack?.stop();
  await redis?.stop();
});

describe('the projector on the table stream', () => {
  it('writes every player view through to the cache at the table version, and projects the boards (G4)', async () => {
    for (const id of players) {
      const read = await projection.readSide.readPlayerView(id);
      const state = await tableState(id);
      expect(read).toEqual({ status: 'found', source: 'cache', view: playerViewOf(state) });
    }
    const expected = await expectedBoards(players);
    expect(await actualBoards(expected.keys())).toEqual(expected);
    const level = await projection.readSide.leaderboardPage('level', { limit: 3 });
    // ann and cy have equal level and experience: the tie breaks by player id.
    expect(level.entries.map((e) => [e.rank, e.playerId, e.level])).toEqual([
      [1, 'ann', 6],
      [2, 'cy', 6],
      [3, 'bo', 3],
    ]);
    expect(level.total).toBe(4);
    const wins = await projection.readSide.leaderboardPage('combat-wins');
    expect(wins.entries.map((e) => [e.rank, e.playerId, e.score])).toEqual([[1, 'bo', 1]]);
    const di = await projection.readSide.readPlayerView('di');
    expect(di.status === 'found' && di.view.statistics.combat).toEqual({
      fought: 1,
      wins: 0,
      losses: 1,
      draws: 0,
      winRate: 0,
    });
  });

  it('never answers minVersion with an older version (read-your-writes)', async () => {
    const before = (await tableState('di')).version;
    expect(await projection.readSide.readPlayerView('di', { minVersion: before + 1 })).toEqual({
      status: 'version-not-reached',
      version: before,
    });
    await send(['di', { type: 'AddExperience', amount: 80, source: 'quest' }]);
    await commands.drained(); // committed, the projector may or may not have run yet
    const read = await projection.readSide.readPlayerView('di', { minVersion: before + 1 });
    expect(read.status).toBe('found');
    expect(read.status === 'found' && read.view.version).toBe(before + 1);
    await projection.poller.caughtUp();
  });

  it('replayed, reordered and re-chunked batches never move a view backwards nor count twice', async () => {
    await settled();
    const versions = await cachedVersions();
    const expected = await expectedBoards(players);
    const records = [...delivered];
    expect(records.length).toBeGreaterThan(10);
    const replays: DynamoDBRecord[][] = [
      records, // the whole stream again
      [...records].reverse(), // newest first
      records.filter((_, i) => i % 2 === 0),
      records.slice(records.length >> 1).concat(records.slice(0, records.length >> 1)), // a bisected batch retried out of order
    ];
    for (const batch of replays) {
      for (let i = 0; i < batch.length; i += 7) {
        const report = await projection.readSide.projector.project(batch.slice(i, i + 7));
        expect(report.batchItemFailures).toEqual([]);
      }
      expect(await cachedVersions()).toEqual(versions);
      expect(await actualBoards(expected.keys())).toEqual(expected);
    }
  });

  it('caches unknown players negatively, and the projector replaces the negative entry once the player exists', async () => {
    const cache = projection.readSide.cache;
    const before = cache.stats();
    expect(await projection.readSide.readPlayerView('ghost')).toEqual({ status: 'not-found' });
    expect(await projection.readSide.readPlayerView('ghost')).toEqual({ status: 'not-found' });
    const after = cache.stats();
    expect(after.tableReads - before.tableReads).toBe(1);
    expect(after.hits - before.hits).toBe(1);
    await send(['ghost', { type: 'CreatePlayer', name: 'Late Ghost' }]);
    await settled();
    const read = await projection.readSide.readPlayerView('ghost');
    expect(read).toMatchObject({ status: 'found', source: 'cache', view: { playerId: 'ghost', version: 1 } });
  });

  it('lets 500 concurrent reads of a cold key reach DynamoDB once (single flight)', async () => {
    let getItems = 0;
    const db = dynamoDbClient(config);
    db.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetCommand' || context.commandName === 'GetItemCommand') getItems++;
        return next(args);
      },
      { step: 'initialize', name: 'countGets' },
    );
    const client = redisClient(redis.url);
    try {
      const cache = new PlayerCache({ redis: client, store: eventStore(config, { db }) });
      await redisReady(client);
      await client.del(viewKey('bo'));
      const reads = await Promise.all(Array.from({ length: 500 }, () => cache.read('bo')));
      const version = (await tableState('bo')).version;
      expect(reads.every((r) => r.status === 'found' && r.view.version === version)).toBe(true);
      expect(getItems).toBe(1);
      expect(cache.stats().tableReads).toBe(1);
      expect(await cache.read('bo')).toMatchObject({ status: 'found', source: 'cache' });
    } finally {
      client.disconnect();
      db.destroy();
    }
  });

  it('keeps answering from DynamoDB while Redis is down, and heals when Redis returns', async () => {
    const side = projection.readSide;
    const before = side.cacheStats();
    await redis.stop({ crash: true });
    const down = await side.readPlayerView('ann');
    expect(down).toMatchObject({
      status: 'found',
      source: 'table',
      view: { version: (await tableState('ann')).version },
    });
    expect(side.cacheStats().fallbacks).toBeGreaterThan(before.fallbacks);
    // The handler reports the earliest record it could not project, from which the event source retries.
    const batch = delivered.slice(-8);
    const firstPlayerRecord = batch.find((r) => r.dynamodb?.Keys?.pk?.S?.startsWith('P#'))!;
    const report = await side.projector.project(batch);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: firstPlayerRecord.dynamodb!.SequenceNumber }]);
    // A write while Redis is down: committed, but the projector cannot apply it and retries.
    const retriesBefore = projection.poller.stats().retries;
    await send(['ann', { type: 'AddExperience', amount: 400, source: 'quest' }]);
    await commands.drained();
    for (let i = 0; i < 100 && projection.poller.stats().retries === retriesBefore; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(projection.poller.stats().retries).toBeGreaterThan(retriesBefore);
    const readDuringOutage = await side.readPlayerView('ann', { minVersion: (await tableState('ann')).version });
    expect(readDuringOutage).toMatchObject({ status: 'found', source: 'table' });

    await redis.restart(); // empty, as a replaced node
    await projection.poller.caughtUp();
    const version = (await tableState('ann')).version;
    // The retried batch wrote the new version through; reads are served from the cache again.
    expect(await side.readPlayerView('ann')).toMatchObject({ status: 'found', source: 'cache', view: { version } });
    const bo = await side.readPlayerView('bo'); // lost with the restart: one miss refills it
    expect(bo.status).toBe('found');
    expect(await side.readPlayerView('bo')).toMatchObject({ status: 'found', source: 'cache' });
  });

  it('rebuilds the leaderboards from the table while traffic flows, ending equal to the truth', async () => {
    const side = projection.readSide;
    // The restart above lost the data: let the self-heal it started finish first, so this rebuild is the operator's own.
    await until(
      async () => (await side.redis.hget('gk:readside:v2', 'state')) === 'complete',
      'the self-heal finished',
    );
    await projection.healed();
    // Lose every board (the node restart above already did, for most), then rebuild while commands keep coming.
    const keys = await side.redis.keys('gk:lb:*');
    if (keys.length > 0) await side.redis.del(...keys);
    const traffic = (async () => {
      for (let round = 0; round < 5; round++) {
        await send(
          ...players.map((id, i): [string, PlayerCommand] => [
            id,
            { type: 'AddExperience', amount: 100 * (i + round + 1), source: 'quest' },
          ]),
        );
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    // Through the leaderboard-rebuild Lambda's handler, as `npm run rebuild -- leaderboards` does.
    const report = await createLeaderboardRebuildHandler(config, { redis: side.redis })(
      undefined as never,
      lambdaContext('leaderboard-rebuild'),
    );
    await traffic;
    await settled();
    expect(report.players).toBe(players.length + 1);
    const expected = await expectedBoards([...players, 'ghost']);
    expect(await actualBoards(expected.keys())).toEqual(expected);
    for (const board of boardNames) {
      const page = await side.leaderboardPage(board);
      const key = isPeriodic(board) ? boardKey(board, periodOf(board, new Date())) : boardKey(board);
      expect(page.total).toBe(expected.get(key)?.size ?? 0);
    }
  });
});
