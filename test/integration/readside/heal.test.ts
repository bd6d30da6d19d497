import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, DynamoDBRecord } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../../local/stack.js';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import { startProjectionPipeline, type ProjectionPipeline } from '../../../local/projectionPipeline.js';
import { commandQueue } from '../../../shared/gamekeep.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import type { Config } from '../../../shared/config.js';
import type { CommandQueue } from '../../../shared/messaging/commandQueue.js';
import type { PlayerCommand } from '../../../shared/domain/player/index.js';
import type { ReadSide } from '../../../shared/readside/index.js';
import { getLeaderboard } from '../../../shared/http/readApi.js';
import { commandEnvelope } from '../../../shared/engine/envelope.js';
import { boardsIn, ranked, truthOf, until } from './truth.js';

// Redis that loses its data (a node replaced, a failover to an empty replica) while traffic flows: the read side
// notices by itself and heals from the table; no test step runs a rebuild.
let stack: LocalStack;
let redis: LocalRedis;
let config: Config;
let db: DynamoDBDocumentClient;
let commands: CommandPipeline;
let projection: ProjectionPipeline;
let side: ReadSide;
let queue: CommandQueue;
const delivered: DynamoDBRecord[] = [];
const players = Array.from({ length: 40 }, (_, i) => `h${String(i).padStart(2, '0')}`);
/** Holds the next heal until released, so reads during it can be watched. */
let holdHeal: Promise<void> | undefined;

let sent = 0;
/** Commands issued now (the experience counts in today's periods), as the HTTP API issues them. */
const send = (...envelopes: [string, PlayerCommand][]): Promise<unknown> =>
  queue.send(
    envelopes.map(([id, command]) =>
      commandEnvelope({
        entityType: 'player',
        entityId: id,
        command: command as PlayerCommand & Record<string, unknown>,
        source: { kind: 'service', actor: 'heal-test' },
        identity: ['service', 'heal-test', id, String(sent++)],
        issuedAt: new Date(),
      }),
    ),
  );

/** The marker, read raw: `complete` once the data in Redis is whole again. */
const markerState = async (): Promise<string | null> => side.redis.hget('gk:readside:v2', 'state').catch(() => null);

async function settled(): Promise<void> {
  await commands.drained();
  await projection.poller.caughtUp();
  await until(async () => (await markerState()) === 'complete', 'the read side marked complete');
  await projection.healed();
}

/** A client's view of the read side: every version it is served, per player, in the order it read. */
function reader(): { versions: Map<string, number[]>; stop: () => Promise<void> } {
  const versions = new Map<string, number[]>();
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const id = players[(i * 7) % players.length]!;
      const last = versions.get(id)?.at(-1);
      // Every third read asks for the version it saw last (read-your-writes).
      const read = await side.readPlayerView(id, i % 3 === 0 && last ? { minVersion: last } : {});
      if (read.status === 'found') versions.set(id, [...(versions.get(id) ?? []), read.view.version]);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    versions,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

function traffic(): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    for (let round = 0; running; round++) {
      const a = players[round % players.length]!;
      const b = players[(round * 3 + 1) % players.length]!;
      await send(
        [a, { type: 'AddExperience', amount: 10 + round, source: 'quest' }],
        [b, { type: 'GrantReward', taskId: `t-${round}`, gold: 5 }],
      );
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const leaderboardEvent = (board: string): APIGatewayProxyEventV2 =>
  ({ pathParameters: { board }, queryStringParameters: {} }) as unknown as APIGatewayProxyEventV2;
const quiet = { warn: () => undefined };

beforeAll(async () => {
  [stack, redis] = await Promise.all([
    startLocalStack({ stream: true, tableName: 'heal', queueName: 'heal' }),
    startRedis(),
  ]);
  config = { ...stack.config, redisUrl: redis.url };
  db = dynamoDbClient(config);
  commands = startCommandPipeline(stack, { concurrency: 2 });
  projection = await startProjectionPipeline(config, {
    pollIntervalMs: 50,
    beforeHeal: () => holdHeal ?? Promise.resolve(),
    onBatch: (e) => delivered.push(...e.Records),
  });
  side = projection.readSide;
  queue = commandQueue(config);
  await send(...players.map((id, i): [string, PlayerCommand] => [id, { type: 'CreatePlayer', name: `Healer ${i}` }]));
  await send(
    ...players.map((id, i): [string, PlayerCommand] => [
      id,
      { type: 'AddExperience', amount: 100 * (i + 1), source: 'quest' },
    ]),
  );
  await send(
    ...players.slice(0, 10).map((id, i): [string, PlayerCommand] => [
      id,
      {
        type: 'RecordCombatResult',
        combatId: `duel-${i}`,
        kind: 'monster',
        outcome: 'win',
        rewards: { gold: 10 * i },
      },
    ]),
  );
  await commands.drained();
  await projection.poller.caughtUp();
  const truth = ranked(await truthOf(db, config.tableName, players));
  await until(
    async () => JSON.stringify([...(await boardsIn(side.redis))]) === JSON.stringify([...truth]),
    'the boards projected',
  );
  for (const id of players) await side.readPlayerView(id);
});

afterAll(async () => {
  await projection?.stop();
  await commands?.stop();
  db?.destroy();
  await stack?.stop();
  await redis?.stop();
});

describe('a Redis that lost its data heals by itself', () => {
  it('rebuilds the boards while traffic flows, says so on reads meanwhile, and ends equal to the table', async () => {
    const before = ranked(await truthOf(db, config.tableName, players));
    expect(await boardsIn(side.redis)).toEqual(before);
    let release!: () => void;
    holdHeal = new Promise<void>((r) => (release = r));
    const readers = [reader(), reader()];
    const writes = traffic();
    const healsBefore = projection.heals.started;
    try {
      await redis.stop({ crash: true });
      await redis.restart(); // empty, as a replaced node
      // A board read now is partial: it says so, in the answer and in a header.
      await until(async () => side.redis.status === 'ready', 'the client reconnected');
      const during = await side.leaderboardPage('level');
      expect(during.rebuilding).toBe(true);
      const answer = await getLeaderboard(side, leaderboardEvent('wealth'), { kind: 'service', id: 'svc' }, quiet);
      expect(answer.statusCode).toBe(200);
      expect(answer.headers?.['x-leaderboard-status']).toBe('rebuilding');
      expect(JSON.parse(String(answer.body))).toMatchObject({ board: 'wealth', rebuilding: true });
      // The projector noticed the loss and started the heal (held here); nothing was rebuilt by hand.
      await until(async () => projection.heals.started > healsBefore, 'a heal started');
      expect(await markerState()).toBe('rebuilding');
      release();
      await until(async () => (await markerState()) === 'complete', 'the heal completed');
      expect(projection.heals.completed).toBeGreaterThan(0); // completed by a heal step, not by a test step
    } finally {
      release();
      holdHeal = undefined;
      await writes.stop();
    }
    await settled();
    await Promise.all(readers.map((r) => r.stop()));

    const truth = await truthOf(db, config.tableName, players);
    expect(await boardsIn(side.redis)).toEqual(ranked(truth));
    expect((await side.leaderboardPage('level')).rebuilding).toBe(false);
    for (const id of players) {
      const read = await side.readPlayerView(id);
      expect(read.status === 'found' && read.view.version).toBe(truth.players.get(id)!.version);
    }
    // G5 as clients see it: no reader ever saw a player's version go down, across the loss and the heal.
    for (const r of readers)
      for (const [id, versions] of r.versions)
        expect({ id, versions }).toEqual({ id, versions: [...versions].sort((a, b) => a - b) });
  });

  it('never caches a view older than one served before the loss, even when an old stream record arrives first', async () => {
    const id = players[0]!;
    const served = await side.readPlayerView(id);
    expect(served.status === 'found' && served.view.version).toBeGreaterThan(2);
    const oldest = delivered.find((r) => r.dynamodb?.Keys?.pk?.S === `P#${id}` && r.dynamodb?.Keys?.sk?.S === 'STATE')!;
    await redis.stop({ crash: true });
    await redis.restart();
    await until(async () => side.redis.status === 'ready', 'the client reconnected');
    // A retried batch from before the loss: version 1 of the player, into an empty Redis without floors.
    const report = await side.projector.project([oldest]);
    expect(report.batchItemFailures).toEqual([]);
    const after = await side.readPlayerView(id);
    expect(after.status === 'found' && after.view.version).toBe(served.status === 'found' && served.view.version);
    // The next batch of traffic starts the heal of this loss too.
    await send([players[1]!, { type: 'AddExperience', amount: 1, source: 'quest' }]);
    await settled();
    expect(await boardsIn(side.redis)).toEqual(ranked(await truthOf(db, config.tableName, players)));
  });
});
