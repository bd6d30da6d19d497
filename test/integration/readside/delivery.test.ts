import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DynamoDBRecord } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../../local/stack.js';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import { laneOf, startStreamPoller, type DiscardReason, type StreamPoller } from '../../../local/streamPoller.js';
import { commandQueue, eventStore } from '../../../shared/gamekeep.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import type { Config } from '../../../shared/config.js';
import { commandEnvelope } from '../../../shared/engine/envelope.js';
import type { PlayerCommand } from '../../../shared/domain/player/index.js';
import { readSide, redisReady, type ReadSide } from '../../../shared/readside/index.js';
import { viewKey } from '../../../shared/readside/playerCache.js';
import { PROJECTOR_STREAM } from '../../../lib/constructs/gameFunctions.js';
import { boardsIn, ranked, truthOf, until, type Truth } from './truth.js';

// Stream records of a real table, read by a poller that only records them, then delivered to the projector in
// orders, duplications and batchings that Lambda's event source may produce (it keeps order only per item).
let stack: LocalStack;
let redis: LocalRedis;
let config: Config;
let db: DynamoDBDocumentClient;
let commands: CommandPipeline;
let recorder: StreamPoller;
let side: ReadSide;
let truth: Truth;
const recorded: DynamoDBRecord[] = [];
const players = ['ann', 'bo', 'cy', 'di', 'ed'];

/** A command issued at a given instant: the time the player earned what it gives. */
function issued(playerId: string, command: PlayerCommand, at: string, key: string) {
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: command as PlayerCommand & Record<string, unknown>,
    source: { kind: 'service', actor: 'delivery-test' },
    identity: ['service', 'delivery-test', playerId, key],
    issuedAt: new Date(at),
  });
}

const xp = (playerId: string, amount: number, at: string, key: string) =>
  issued(playerId, { type: 'AddExperience', amount, source: 'quest' }, at, key);

const keyOf = (r: DynamoDBRecord): string => `${r.dynamodb!.Keys!.pk!.S}|${r.dynamodb!.Keys!.sk!.S}`;
const isEvent = (r: DynamoDBRecord, playerId: string): boolean => keyOf(r).startsWith(`P#${playerId}|E#`);
const isState = (r: DynamoDBRecord, playerId: string): boolean => keyOf(r) === `P#${playerId}|STATE`;

/** The read side after a delivery: every board Redis holds, ranked, and every player's cached version. */
async function projected(): Promise<{
  boards: Map<string, [string, number][]>;
  versions: Record<string, number | null>;
}> {
  const versions: Record<string, number | null> = {};
  for (const id of players) {
    const v = await side.redis.hget(viewKey(id), 'v');
    versions[id] = v === null ? null : Number(v);
  }
  return { boards: await boardsIn(side.redis), versions };
}

const expectedVersions = (): Record<string, number> =>
  Object.fromEntries(players.map((id) => [id, truth.players.get(id)!.version]));

async function deliver(batches: readonly (readonly DynamoDBRecord[])[], concurrently = 1): Promise<void> {
  for (let i = 0; i < batches.length; i += concurrently) {
    const reports = await Promise.all(batches.slice(i, i + concurrently).map((b) => side.projector.project(b)));
    for (const r of reports) expect(r.batchItemFailures).toEqual([]);
  }
}

async function fresh(): Promise<void> {
  await side.redis.flushall();
}

beforeAll(async () => {
  [stack, redis] = await Promise.all([
    startLocalStack({ stream: true, tableName: 'delivery', queueName: 'delivery' }),
    startRedis(),
  ]);
  config = { ...stack.config, redisUrl: redis.url };
  db = dynamoDbClient(config);
  commands = startCommandPipeline(stack, { concurrency: 2 });
  recorder = await startStreamPoller({
    config,
    pollIntervalMs: 50,
    handler: async (event) => void recorded.push(...event.Records),
  });
  const queue = commandQueue(config);
  await queue.send(
    players.map((id, i) =>
      issued(id, { type: 'CreatePlayer', name: `Courier ${i}` }, '2026-11-29T20:00:00.000Z', 'create'),
    ),
  );
  await commands.drained();
  // Experience on both sides of a midnight that is also an ISO week boundary (Sunday 2026-11-29 → Monday).
  await queue.send([
    xp('ann', 300, '2026-11-29T23:59:59.900Z', 'x1'),
    xp('bo', 120, '2026-11-29T23:59:58.000Z', 'x1'),
    xp('cy', 50, '2026-11-30T00:00:00.100Z', 'x1'),
  ]);
  await queue.send([
    xp('ann', 700, '2026-11-30T00:00:00.200Z', 'x2'),
    xp('bo', 900, '2026-11-30T09:00:00.000Z', 'x2'),
    xp('di', 2_600, '2026-11-30T10:00:00.000Z', 'x2'),
  ]);
  await queue.send([
    xp('ann', 40, '2026-11-30T11:00:00.000Z', 'x3'),
    issued(
      'bo',
      { type: 'SpendCurrency', currency: 'gold', amount: 250, reason: 'shop' },
      '2026-11-30T11:00:00.000Z',
      's1',
    ),
    issued(
      'cy',
      {
        type: 'RecordCombatResult',
        combatId: 'c1',
        opponentId: 'di',
        kind: 'duel',
        outcome: 'win',
        rewards: { gold: 30, experience: 80 },
      },
      '2026-11-30T12:00:00.000Z',
      'c1',
    ),
    issued(
      'di',
      { type: 'RecordCombatResult', combatId: 'c1', opponentId: 'cy', kind: 'duel', outcome: 'loss', rewards: {} },
      '2026-11-30T12:00:00.000Z',
      'c1',
    ),
    issued('ed', { type: 'GrantReward', taskId: 'daily-1', gold: 500 }, '2026-11-30T12:00:00.000Z', 'r1'),
  ]);
  await queue.send([
    xp('ann', 5, '2026-12-01T08:00:00.000Z', 'x4'),
    issued('ed', { type: 'GrantReward', taskId: 'daily-2', gold: 1, experience: 10 }, '2026-12-01T08:00:00.000Z', 'r2'),
  ]);
  await commands.drained();
  await recorder.caughtUp();
  truth = await truthOf(db, config.tableName, players);
  side = readSide(config, { store: eventStore(config) });
  await redisReady(side.redis);
});

afterAll(async () => {
  await side?.close();
  await recorder?.stop();
  await commands?.stop();
  db?.destroy();
  await stack?.stop();
  await redis?.stop();
});

describe('projections converge whatever the order, duplication and batching of stream records', () => {
  it('counts E#n+1 delivered before E#n, both for the first time, in the periods the experience was earned in', async () => {
    await fresh();
    const annEvents = recorded.filter((r) => isEvent(r, 'ann'));
    expect(annEvents.length).toBeGreaterThanOrEqual(5); // created, then four gains
    const [, first, second, third, fourth] = annEvents;
    // Newest first, each version's first delivery, and the states in reverse too.
    await deliver([[fourth!], [third!], [second!], [first!]]);
    await deliver([[...recorded.filter((r) => isState(r, 'ann'))].reverse()]);
    await deliver([recorded.filter((r) => !isEvent(r, 'ann') && !isState(r, 'ann'))]);
    const { boards, versions } = await projected();
    expect(boards).toEqual(ranked(truth));
    expect(versions).toEqual(expectedVersions());
    // Earned on Sunday just before midnight, committed (and projected) days later: Sunday's day and week.
    expect(boards.get('gk:lb:{experience-daily:2026-11-29}')).toEqual([
      ['ann', 300],
      ['bo', 120],
    ]);
    expect(boards.get('gk:lb:{experience-weekly:2026-W48}')).toEqual([
      ['ann', 300],
      ['bo', 120],
    ]);
    expect(boards.get('gk:lb:{experience-weekly:2026-W49}')?.find(([id]) => id === 'ann')).toEqual(['ann', 745]);
  });

  it('converges for random permutations, duplicates and re-chunkings, some batches run concurrently', async () => {
    const playerRecords = recorded.filter((r) => r.dynamodb!.Keys!.pk!.S!.startsWith('P#'));
    const expected = ranked(truth);
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(playerRecords, { minLength: playerRecords.length, maxLength: playerRecords.length }),
        fc.array(fc.tuple(fc.nat(playerRecords.length - 1), fc.nat(playerRecords.length)), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 3 }),
        async (order, duplicates, sizes, concurrently) => {
          await fresh();
          const stream = [...order];
          for (const [which, at] of duplicates) stream.splice(at, 0, playerRecords[which]!);
          const batches: DynamoDBRecord[][] = [];
          for (let i = 0, k = 0; i < stream.length; k++) {
            const size = sizes[k % sizes.length]!;
            batches.push(stream.slice(i, i + size));
            i += size;
          }
          await deliver(batches, concurrently);
          const { boards, versions } = await projected();
          expect(boards).toEqual(expected);
          expect(versions).toEqual(expectedVersions());
        },
      ),
      { numRuns: 60 },
    );
  });

  it('skips board scripts for states whose scores did not change, and runs scripts by SHA', async () => {
    await fresh();
    await side.redis.config('RESETSTAT');
    const stateRecords = recorded.filter((r) => keyOf(r).endsWith('|STATE'));
    const report = await side.projector.project(stateRecords);
    expect(report.batchItemFailures).toEqual([]);
    // ann's four gains move only the level board: wealth and wins are unchanged in each of those states.
    const modifies = stateRecords.filter((r) => r.eventName === 'MODIFY').length;
    expect(report.scoreWritesSkipped).toBeGreaterThanOrEqual(modifies);
    const stats = await side.redis.info('commandstats');
    const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    expect(calls('evalsha')).toBeGreaterThan(calls('eval'));
    expect(await boardsIn(side.redis)).toEqual(
      new Map([...ranked(truth)].filter(([key]) => !key.includes('experience-'))),
    );
  });
});

describe('the local event source mapping (local/streamPoller.ts) is as unordered as Lambda with a parallelization factor', () => {
  it('spreads the items of one player over concurrent batches by item key, keeping each item on one', () => {
    const lanes = new Map<string, Set<number>>();
    for (const r of recorded) {
      const set = lanes.get(keyOf(r)) ?? new Set<number>();
      set.add(laneOf(r.dynamodb!.Keys, PROJECTOR_STREAM.parallelizationFactor));
      lanes.set(keyOf(r), set);
    }
    expect([...lanes.values()].every((s) => s.size === 1)).toBe(true);
    const annLanes = new Set(
      recorded.filter((r) => isEvent(r, 'ann') || isState(r, 'ann')).map((r) => laneOf(r.dynamodb!.Keys, 2)),
    );
    expect(annLanes.size).toBe(2);
  });

  it('retries from a reported failure, bisects, gives a record up after the retries and ends every other one', async () => {
    const poison = recorded.find((r) => isEvent(r, 'di'))!;
    const seen = new Map<string, number>();
    const discarded: { ids: string[]; reason: DiscardReason }[] = [];
    const batches: number[] = [];
    let failedOnce = false;
    const poller = await startStreamPoller({
      config,
      pollIntervalMs: 50,
      batchSize: 10,
      retryDelayMs: () => 1,
      onDiscard: (records, reason) => discarded.push({ ids: records.map((r) => r.eventID!), reason }),
      // A fault injected around delivery: the poison record always fails, another record fails once.
      handler: async (event) => {
        batches.push(event.Records.length);
        for (const r of event.Records) seen.set(r.eventID!, (seen.get(r.eventID!) ?? 0) + 1);
        const index = event.Records.findIndex((r) => r.eventID === poison.eventID);
        if (index >= 0)
          return { batchItemFailures: [{ itemIdentifier: event.Records[index]!.dynamodb!.SequenceNumber! }] };
        if (!failedOnce && event.Records.length > 2) {
          failedOnce = true;
          return { batchItemFailures: [{ itemIdentifier: event.Records[2]!.dynamodb!.SequenceNumber! }] };
        }
        return { batchItemFailures: [] };
      },
    });
    try {
      await poller.caughtUp();
      await until(
        async () => discarded.length > 0 && poller.stats().retries > PROJECTOR_STREAM.retryAttempts,
        'the poison record given up',
      );
      await poller.caughtUp();
    } finally {
      await poller.stop();
    }
    // Given up alone (bisected down to it, the others done), after the CDK mapping's retries of it alone.
    expect(discarded).toEqual([{ ids: [poison.eventID!], reason: 'retries-exhausted' }]);
    expect(seen.get(poison.eventID!)).toBeGreaterThan(PROJECTOR_STREAM.retryAttempts);
    expect(poller.stats().bisections).toBeGreaterThan(0);
    // Every other record was delivered, the one that failed once at least twice.
    expect(recorded.every((r) => (seen.get(r.eventID!) ?? 0) >= 1)).toBe(true);
    expect([...seen.values()].filter((n) => n >= 2).length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...batches)).toBeLessThanOrEqual(10);
  });

  it('gives up records older than maxRecordAge without delivering them', async () => {
    const discarded: DynamoDBRecord[] = [];
    let delivered = 0;
    const poller = await startStreamPoller({
      config,
      pollIntervalMs: 50,
      maxRecordAgeMs: 0,
      onDiscard: (records, reason) => {
        expect(reason).toBe('record-expired');
        discarded.push(...records);
      },
      handler: async (event) => {
        delivered += event.Records.length;
        return undefined;
      },
    });
    try {
      await poller.caughtUp();
    } finally {
      await poller.stop();
    }
    expect({ delivered, discarded: discarded.length }).toEqual({ delivered: 0, discarded: recorded.length });
  });
});
