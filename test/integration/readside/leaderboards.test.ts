import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { Leaderboards, periodOf, redisClient, redisReady, type PlayerView } from '../../../shared/readside/index.js';
import { scoreChanges } from '../../../shared/readside/leaderboards.js';
import { playerStatistics } from '../../../shared/readside/statistics.js';

let server: LocalRedis;
let redis: Redis;
let boards: Leaderboards;

function view(
  playerId: string,
  version: number,
  values: Partial<Pick<PlayerView, 'level' | 'experience' | 'gold' | 'spiritStones'>> & { wins?: number } = {},
): PlayerView {
  return {
    playerId,
    version,
    updatedAt: '2026-11-24T10:00:00.000Z',
    name: playerId,
    level: values.level ?? 1,
    realm: 'qi-refining',
    experience: values.experience ?? 0,
    energy: 100,
    maxEnergy: 100,
    gold: values.gold ?? 0,
    spiritStones: values.spiritStones ?? 0,
    attributes: { strength: 10, agility: 10, intelligence: 10, constitution: 10 },
    inventory: {},
    cultivating: null,
    statistics: playerStatistics({ combat: { fought: values.wins ?? 0, wins: values.wins ?? 0 } }),
  };
}

beforeAll(async () => {
  server = await startRedis();
  redis = redisClient(server.url);
  await redisReady(redis);
  boards = new Leaderboards(redis, { retentionDays: 30 });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

describe('leaderboards', () => {
  it('rank by level then experience, ties broken by player id, the best reported as rank 1', async () => {
    await boards.applyState(view('zed', 3, { level: 5, experience: 1_700 }));
    await boards.applyState(view('amy', 2, { level: 5, experience: 1_700 }));
    await boards.applyState(view('kai', 9, { level: 5, experience: 1_650 }));
    await boards.applyState(view('bob', 4, { level: 7, experience: 3_600 }));
    const page = await boards.page('level');
    expect(page.entries.map((e) => [e.rank, e.playerId, e.level, e.experience])).toEqual([
      [1, 'bob', 7, 3_600],
      [2, 'amy', 5, 1_700],
      [3, 'zed', 5, 1_700],
      [4, 'kai', 5, 1_650],
    ]);
    expect(await boards.rank('level', 'zed')).toMatchObject({ rank: 3, playerId: 'zed' });
    expect(await boards.rank('level', 'nobody')).toBeNull();
    expect((await boards.page('level', { limit: 2 })).entries.map((e) => e.playerId)).toEqual(['bob', 'amy']);
  });

  it('an older or replayed state never changes a score; a newer one does', async () => {
    await boards.applyState(view('amy', 5, { gold: 900 }));
    await boards.applyState(view('amy', 4, { gold: 5_000 })); // late replay of an older version
    await boards.applyState(view('amy', 5, { gold: 7_000 })); // same version again
    expect(await boards.rank('wealth', 'amy')).toMatchObject({ rank: 1, score: 900 });
    await boards.applyState(view('amy', 6, { gold: 100, spiritStones: 50 }));
    expect(await boards.rank('wealth', 'amy')).toMatchObject({ score: 150 });
    // Combat wins rank only players who won something.
    await boards.applyState(view('bob', 2, { wins: 3 }));
    expect((await boards.page('combat-wins')).entries.map((e) => [e.playerId, e.score])).toEqual([['bob', 3]]);
  });

  it('counts every version once whatever order they arrive in: a version older than one applied still counts', async () => {
    const at = new Date('2026-11-24T10:00:00Z');
    await boards.applyExperience('amy', 3, at, 200); // E#3 first, E#2 never delivered before
    await boards.applyExperience('amy', 2, at, 300);
    await boards.applyExperience('amy', 3, at, 200); // and replays of both
    await boards.applyExperience('amy', 2, at, 300);
    expect((await boards.page('experience-daily', { now: at })).entries.map((e) => [e.playerId, e.score])).toEqual([
      ['amy', 500],
    ]);
    expect((await boards.page('experience-weekly', { now: at })).entries.map((e) => [e.playerId, e.score])).toEqual([
      ['amy', 500],
    ]);
  });

  it('puts a lost board entry back from the recorded gains, and a restore merges with what the projector recorded', async () => {
    const at = new Date('2026-11-24T10:00:00Z');
    await boards.applyExperience('amy', 2, at, 300);
    await redis.zrem('gk:lb:{experience-daily:2026-11-24}', 'amy'); // the entry lost, its gains kept
    await boards.applyExperience('amy', 4, at, 50);
    expect(await boards.rank('experience-daily', 'amy', { now: at })).toMatchObject({ score: 350 });
    // A rebuild read versions 2 and 3 from the table; the projector had 2 and 4: the union, counted once each.
    await boards.restoreGains('amy', {
      board: 'experience-daily',
      period: '2026-11-24',
      expireAt: Date.parse('2027-01-01T00:00:00Z'),
      versions: [
        [2, 300],
        [3, 7],
      ],
    });
    expect(await boards.rank('experience-daily', 'amy', { now: at })).toMatchObject({ score: 357 });
    await boards.applyExperience('amy', 3, at, 7);
    expect(await boards.rank('experience-daily', 'amy', { now: at })).toMatchObject({ score: 357 });
  });

  it('prunes only entries nothing justifies: not a newer version, not recorded gains', async () => {
    const at = new Date('2026-11-24T10:00:00Z');
    await boards.applyState(view('amy', 7, { gold: 10 }));
    expect(await boards.pruneEntry('gk:lb:{wealth}', 'amy', 6)).toBe(false); // written after the rebuild saw v6
    expect(await boards.pruneEntry('gk:lb:{wealth}', 'amy', 7)).toBe(true);
    await boards.applyExperience('bob', 2, at, 40);
    expect(await boards.pruneEntry('gk:lb:{experience-daily:2026-11-24}', 'bob', 9)).toBe(false);
    await redis.zadd('gk:lb:{experience-daily:2026-11-24}', -1, 'forged');
    expect(await boards.pruneEntry('gk:lb:{experience-daily:2026-11-24}', 'forged', 0)).toBe(true);
  });

  it('writes only the scores a state changed against the state it replaced', () => {
    const before = view('amy', 4, { level: 2, experience: 100, gold: 50, wins: 1 });
    expect(scoreChanges(view('amy', 5, { level: 2, experience: 180, gold: 50, wins: 1 }), before)).toEqual({
      level: 2e12 + 180,
    });
    expect(scoreChanges(view('amy', 5, { level: 2, experience: 100, gold: 20, wins: 1 }), before)).toEqual({
      wealth: 20,
    });
    expect(scoreChanges(view('amy', 5, { level: 2, experience: 100, gold: 50, wins: 1 }), before)).toEqual({});
    // A new player: everything it has; no win yet means nothing to write (and nothing to remove) on combat-wins.
    expect(scoreChanges(view('amy', 1), undefined)).toEqual({ level: 1e12, wealth: 0 });
  });

  it('counts experience once per version, in the day and the week it was issued in', async () => {
    const at = new Date('2026-11-24T10:00:00Z');
    await boards.applyExperience('amy', 2, at, 300);
    await boards.applyExperience('amy', 2, at, 300); // replayed
    await boards.applyExperience('amy', 3, at, 200);
    await boards.applyExperience('amy', 3, at, 200); // retried
    await boards.applyExperience('bob', 7, at, 500);
    const day = await boards.page('experience-daily', { now: at });
    expect(day.period).toBe('2026-11-24');
    expect(day.entries.map((e) => [e.rank, e.playerId, e.score])).toEqual([
      [1, 'amy', 500],
      [2, 'bob', 500],
    ]);
    expect((await boards.page('experience-weekly', { now: at })).entries.map((e) => [e.playerId, e.score])).toEqual([
      ['amy', 500],
      ['bob', 500],
    ]);
  });

  it('rolls over at midnight UTC and on ISO Mondays; past periods stay readable until retention ends', async () => {
    const sundayNight = new Date('2026-11-29T23:59:59.900Z');
    const mondayMorning = new Date('2026-11-30T00:00:00.100Z');
    await boards.applyExperience('amy', 2, sundayNight, 1_000);
    await boards.applyExperience('amy', 3, mondayMorning, 10);
    expect(periodOf('experience-weekly', sundayNight)).toBe('2026-W48');
    expect(periodOf('experience-weekly', mondayMorning)).toBe('2026-W49');
    expect((await boards.page('experience-daily', { now: mondayMorning })).entries.map((e) => e.score)).toEqual([10]);
    expect((await boards.page('experience-daily', { period: '2026-11-29' })).entries.map((e) => e.score)).toEqual([
      1_000,
    ]);
    expect((await boards.page('experience-weekly', { now: mondayMorning })).entries.map((e) => e.score)).toEqual([10]);
    expect((await boards.page('experience-weekly', { period: '2026-W48' })).entries.map((e) => e.score)).toEqual([
      1_000,
    ]);
    // The day's board expires 30 days (the configured retention) after the day ends.
    const expireAt = await redis.pexpiretime('gk:lb:{experience-daily:2026-11-29}');
    expect(expireAt).toBe(Date.parse('2026-11-30T00:00:00Z') + 30 * 86_400_000);
    await expect(boards.page('experience-daily', { period: '2026-W48' })).rejects.toThrow(RangeError);
  });

  it('ISO weeks at year boundaries', () => {
    expect(periodOf('experience-weekly', new Date('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(periodOf('experience-weekly', new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    expect(periodOf('experience-weekly', new Date('2024-12-30T12:00:00Z'))).toBe('2025-W01');
  });

  it('pages around a player, clamped at the top', async () => {
    for (let i = 0; i < 20; i++)
      await boards.applyState(view(`p${String(i).padStart(2, '0')}`, 1, { gold: 1_000 - i * 10 }));
    const around = await boards.page('wealth', { around: 'p10', limit: 5 });
    expect(around.player).toMatchObject({ rank: 11, playerId: 'p10' });
    expect(around.entries.map((e) => e.rank)).toEqual([9, 10, 11, 12, 13]);
    const top = await boards.page('wealth', { around: 'p01', limit: 5 });
    expect(top.entries.map((e) => e.rank)).toEqual([1, 2, 3, 4, 5]);
    const missing = await boards.page('wealth', { around: 'nobody', limit: 3 });
    expect(missing.player).toBeNull();
    expect(missing.entries.map((e) => e.rank)).toEqual([1, 2, 3]);
    expect(missing.total).toBe(20);
  });
});
