import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { cacheTotals, cacheTotalsFlusher } from '../../../shared/readside/index.js';
import { startLocalStack, type LocalStack } from '../../../local/stack.js';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { startProjectionPipeline, type ProjectionPipeline } from '../../../local/projectionPipeline.js';
import { periodOf } from '../../../shared/readside/index.js';
import { startApiHarness, type ApiHarness } from './harness.js';

// The read side needs the table's stream: a DynamoDB Local of its own (the shared one keeps stream-less tables) and a redis-server.
let stack: LocalStack;
let redis: LocalRedis;
let h: ApiHarness;
let projection: ProjectionPipeline;
let ann: string;
const today = periodOf('experience-daily', new Date());

/** A game service command, answered with its outcome (Prefer: wait). */
async function serve(
  playerId: string,
  command: Record<string, unknown>,
  key: string,
): Promise<{ status: string; version: number }> {
  const r = await h.call('POST', `/v1/players/${playerId}/commands`, {
    auth: h.service,
    body: command,
    headers: { 'idempotency-key': key, prefer: 'wait=10' },
  });
  expect(r.body.status).toBe('applied');
  return r.body;
}

/** The answering instance's own counters (`cache` is the system's, summed in Redis at most a second late). */
const stats = async () => (await h.call('GET', '/v1/admin/stats', { auth: h.admin })).body.instance;

beforeAll(async () => {
  [stack, redis] = await Promise.all([
    startLocalStack({ stream: true, tableName: 'api-readside', queueName: 'api-readside' }),
    startRedis(),
  ]);
  h = await startApiHarness({ stack, redisUrl: redis.url });
  projection = await startProjectionPipeline(h.config, { pollIntervalMs: 50 });
  ann = await h.player('ann');
  const created = await Promise.all(
    ['ann', 'bo', 'cy', 'di', 'ed'].map((id) =>
      h.call('POST', '/v1/players', {
        auth: h.service,
        body: { playerId: id, name: `Reader ${id}` },
        headers: { prefer: 'wait=10' },
      }),
    ),
  );
  expect(created.map((r) => r.body.status)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
  // Experience: ann and cy tie (broken by id), bo below, di above; ed gains none.
  await Promise.all([
    serve('ann', { type: 'AddExperience', amount: 2_500, source: 'quest' }, 'xp-1'),
    serve('bo', { type: 'AddExperience', amount: 400, source: 'quest' }, 'xp-1'),
    serve('cy', { type: 'AddExperience', amount: 2_500, source: 'quest' }, 'xp-1'),
    serve('di', { type: 'AddExperience', amount: 9_000, source: 'quest' }, 'xp-1'),
  ]);
  await projection.poller.caughtUp();
});

afterAll(async () => {
  await h?.stop();
  await projection?.stop();
  await stack?.stop();
  await redis?.stop();
});

describe('player reads through the read side', () => {
  it('reads your writes: minVersion after a command reported its version, never an older view', async () => {
    for (let i = 1; i <= 5; i++) {
      const { version } = await serve('ann', { type: 'GrantReward', taskId: `ryw-${i}`, gold: 10 }, `ryw-${i}`);
      // No wait for the projector: the cache may still hold the previous version, so the read goes to the table.
      const r = await h.call('GET', `/v1/players/ann?minVersion=${version}`, { auth: ann });
      expect(r.status).toBe(200);
      expect(r.body.version).toBeGreaterThanOrEqual(version);
      expect(['cache', 'table']).toContain(r.headers.get('x-cache'));
    }
    await projection.poller.caughtUp();
    const cached = await h.call('GET', '/v1/players/ann', { auth: ann });
    expect(cached).toMatchObject({
      status: 200,
      body: { playerId: 'ann', name: 'Reader ann', statistics: { combat: { wins: 0 } } },
    });
    expect(cached.headers.get('x-cache')).toBe('cache');
    const ahead = await h.call('GET', `/v1/players/ann?minVersion=${cached.body.version + 1}`, { auth: ann });
    expect(ahead).toMatchObject({
      status: 409,
      body: {
        error: {
          code: 'VERSION_NOT_REACHED',
          message: `player ann is at version ${cached.body.version}, below ${cached.body.version + 1}`,
        },
      },
    });
    expect(ahead.headers.get('x-player-version')).toBe(String(cached.body.version));
  });

  it('answers 404 for an unknown player, the second time from the negative cache', async () => {
    const before = await stats();
    expect(await h.call('GET', '/v1/players/ghost', { auth: h.service })).toMatchObject({
      status: 404,
      body: { error: { code: 'PLAYER_NOT_FOUND' } },
    });
    expect(await h.call('GET', '/v1/players/ghost', { auth: h.service })).toMatchObject({
      status: 404,
      body: { error: { code: 'PLAYER_NOT_FOUND' } },
    });
    const after = await stats();
    expect({
      hits: after.hits - before.hits,
      misses: after.misses - before.misses,
      tableReads: after.tableReads - before.tableReads,
    }).toEqual({ hits: 1, misses: 1, tableReads: 1 });
  });

  it('reports the pipeline in GET /v1/admin/stats: the queue, commands applied and rejected (from the stream), the projection lag', async () => {
    const figures = async () => (await h.call('GET', '/v1/admin/stats', { auth: h.admin })).body;
    await projection.poller.caughtUp();
    const before = await figures();
    expect(before.queue).toEqual({ depth: expect.any(Number), inFlight: expect.any(Number) });
    const started = Date.now();
    // Energy is on no board: the boards' tests below see nothing of these.
    await serve('ed', { type: 'ConsumeEnergy', amount: 10, reason: 'duel' }, 's-1');
    await serve('ed', { type: 'ConsumeEnergy', amount: 10, reason: 'duel' }, 's-2');
    await serve('ed', { type: 'RestoreEnergy', amount: 10, reason: 'rest' }, 's-3');
    for (const key of ['s-4', 's-5']) {
      const r = await h.call('POST', '/v1/players/ed/commands', {
        auth: h.service,
        body: { type: 'ConsumeEnergy', amount: 500, reason: 'duel' },
        headers: { 'idempotency-key': key, prefer: 'wait=10' },
      });
      expect(r.body.status).toBe('rejected');
    }
    await projection.poller.caughtUp();
    const after = await figures();
    expect(after.commands.applied - before.commands.applied).toBe(3);
    expect(after.commands.rejected - before.commands.rejected).toBe(2);
    expect(after.projection.lagMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(after.projection.measuredAt)).toBeGreaterThanOrEqual(started);
    // Every command was answered: the queue empties once the processor has deleted what it received.
    let queue = after.queue;
    for (let i = 0; i < 100 && queue.depth + queue.inFlight > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      queue = (await figures()).queue;
    }
    expect(queue).toEqual({ depth: 0, inFlight: 0 });
  });

  it('counts hits and misses per process in GET /v1/admin/stats', async () => {
    const before = await stats();
    for (const id of ['bo', 'cy', 'di'])
      expect((await h.call('GET', `/v1/players/${id}`, { auth: h.service })).headers.get('x-cache')).toBe('cache');
    const after = await stats();
    expect(after.hits - before.hits).toBe(3);
    expect(after.misses - before.misses).toBe(0);
    expect(after).toMatchObject({ hitRatio: after.hits / (after.hits + after.misses), fallbacks: 0, redisErrors: 0 });
  });
});

describe('system-wide cache figures', () => {
  it('sums what every API instance counted in Redis: GET /v1/admin/stats reports the system, not one instance', async () => {
    // Two more "instances": flushers over counters of their own, against the same real Redis.
    const counters = (hits: number, misses: number) => ({
      hits,
      misses,
      hitRatio: 0,
      tableReads: misses,
      fallbacks: 0,
      redisErrors: 0,
      writes: 0,
      staleWritesRefused: 0,
    });
    let a = counters(0, 0);
    let b = counters(0, 0);
    const client = new Redis(redis.url);
    try {
      const flushA = cacheTotalsFlusher(() => a, client, 0);
      const flushB = cacheTotalsFlusher(() => b, client, 0);
      const before = await cacheTotals(client);
      a = counters(5, 1);
      b = counters(2, 3);
      await Promise.all([flushA(), flushB()]);
      await flushA(); // nothing new: nothing added twice
      const after = await cacheTotals(client);
      expect({
        hits: after!.hits - before!.hits,
        misses: after!.misses - before!.misses,
        tableReads: after!.tableReads - before!.tableReads,
      }).toEqual({ hits: 7, misses: 4, tableReads: 4 });
      const answer = (await h.call('GET', '/v1/admin/stats', { auth: h.admin })).body;
      expect(answer.scope).toBe('system');
      expect(answer.cache.hits).toBeGreaterThanOrEqual(after!.hits);
    } finally {
      client.disconnect();
    }
  });
});

describe('leaderboards', () => {
  it('lists the top N, ties broken by player id, and the page around a player', async () => {
    const top = await h.call('GET', '/v1/leaderboards/level?limit=3', { auth: ann });
    expect(top.status).toBe(200);
    expect(top.body).toMatchObject({ board: 'level', total: 5 });
    expect(top.body.entries.map((e: any) => [e.rank, e.playerId])).toEqual([
      [1, 'di'],
      [2, 'ann'],
      [3, 'cy'],
    ]);
    const around = await h.call('GET', '/v1/leaderboards/level?around=bo&limit=3', { auth: h.service });
    expect(around.body.player).toMatchObject({ rank: 4, playerId: 'bo' });
    expect(around.body.entries.map((e: any) => e.playerId)).toEqual(['cy', 'bo', 'ed']);
    const daily = await h.call('GET', `/v1/leaderboards/experience-daily?period=${today}`, { auth: h.admin });
    expect(daily.body).toMatchObject({ board: 'experience-daily', period: today, total: 4 });
    expect(daily.body.entries.map((e: any) => [e.playerId, e.score])).toEqual([
      ['di', 9_000],
      ['ann', 2_500],
      ['cy', 2_500],
      ['bo', 400],
    ]);
    expect((await h.call('GET', '/v1/leaderboards/experience-weekly', { auth: ann })).body.entries[0]).toMatchObject({
      rank: 1,
      playerId: 'di',
      score: 9_000,
    });
    expect((await h.call('GET', '/v1/leaderboards/combat-wins?around=ann', { auth: ann })).body).toMatchObject({
      total: 0,
      entries: [],
      player: null,
    });
  });

  it('refuses unknown boards with 404 and bad period, limit or around with 400', async () => {
    expect(await h.call('GET', '/v1/leaderboards/richest', { auth: ann })).toMatchObject({
      status: 404,
      body: { error: { code: 'UNKNOWN_BOARD' } },
    });
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=x',
      'around=a%23STATE',
      'period=2026-13-01',
      'period=2026-W48',
      'sort=desc',
    ]) {
      const r = await h.call('GET', `/v1/leaderboards/experience-daily?${query}`, { auth: ann });
      expect({ query, status: r.status, code: r.body.error?.code }).toEqual({
        query,
        status: 400,
        code: 'INVALID_REQUEST',
      });
    }
    expect((await h.call('GET', `/v1/leaderboards/level?period=${today}`, { auth: ann })).status).toBe(400);
  });

  it('lets players, game services and operators read boards; only operators read the stats', async () => {
    const other = await h.player('someone-else');
    for (const auth of [ann, other, h.service, h.admin])
      expect((await h.call('GET', '/v1/leaderboards/wealth', { auth })).status).toBe(200);
    expect((await h.call('GET', '/v1/leaderboards/wealth')).status).toBe(401);
    expect((await h.call('GET', '/v1/leaderboards/wealth', { auth: 'garbage' })).status).toBe(401);
    for (const auth of [ann, h.service])
      expect(await h.call('GET', '/v1/admin/stats', { auth })).toMatchObject({
        status: 403,
        body: { error: { code: 'FORBIDDEN' } },
      });
    expect((await h.call('GET', '/v1/admin/stats')).status).toBe(401);
    // A player still reads only their own view.
    expect((await h.call('GET', '/v1/players/bo', { auth: ann })).status).toBe(403);
  });
});

describe('with Redis down', () => {
  it('still answers player reads from DynamoDB, answers leaderboards 503, and heals when Redis returns', async () => {
    await redis.stop();
    const before = await stats();
    for (const id of ['ann', 'bo']) {
      const r = await h.call('GET', `/v1/players/${id}`, { auth: h.service });
      expect({ id, status: r.status, cache: r.headers.get('x-cache') }).toEqual({ id, status: 200, cache: 'table' });
    }
    expect((await h.call('GET', '/v1/players/ghost-2', { auth: h.service })).status).toBe(404);
    const board = await h.call('GET', '/v1/leaderboards/level', { auth: ann });
    expect(board).toMatchObject({ status: 503, body: { error: { code: 'LEADERBOARDS_UNAVAILABLE' } } });
    expect(board.headers.get('retry-after')).toBe('5');
    // Bad input is still refused as such.
    expect((await h.call('GET', '/v1/leaderboards/level?limit=0', { auth: ann })).status).toBe(400);
    const after = await stats();
    expect(after.fallbacks - before.fallbacks).toBe(3);

    await redis.restart();
    for (let i = 0; ; i++) {
      const r = await h.call('GET', '/v1/players/ann', { auth: ann });
      if (r.headers.get('x-cache') === 'cache') break;
      expect(r.status).toBe(200);
      if (i > 100) throw new Error('the cache did not heal');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await h.call('GET', '/v1/leaderboards/level', { auth: ann })).status).toBe(200);
  });
});
