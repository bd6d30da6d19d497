/**
 * `npm run bench:read` (a script, not a test): player reads under a Zipf(1.1) key distribution over 10,000 players
 * while writes keep flowing through the queue, the processor, the stream and the projector. Prints the cache hit
 * ratio (seed 000: ≥ 95 %), p50/p99 latency of cached and uncached reads, projection lag p50/p99 (seed 001:
 * p99 < 1 s), the projector's throughput draining a backlog through the concurrent-batch poller (stream records/s),
 * and the time the read side takes to heal by itself after Redis lost its data, as a table and one JSON line.
 */
import { startLocalStack } from '../local/stack.js';
import { startRedis } from '../local/redis.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { startProjectionPipeline } from '../local/projectionPipeline.js';
import { random } from '../local/workload.js';
import { commandQueue } from '../shared/gamekeep.js';
import type { CommandEnvelope } from '../shared/engine/envelope.js';
import { command } from './bench/processorFeed.js';
import { percentile, progressBar, table } from './console.js';
import { MARKER_KEY } from '../shared/readside/heal.js';
import { parseScriptArgs, wholeNumber } from './commandLine.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

/** `npm run bench:read -- --players 2000 --reads 20000` (or `--players=2000`) for a quicker run. */
const USAGE =
  'usage: npm run bench:read [-- --players N --reads N --backlog N]   (defaults: 10000 players, 100000 reads, a backlog of 5000)';
const { values: args } = parseScriptArgs(USAGE, {
  options: {
    players: { type: 'string', default: '10000' },
    reads: { type: 'string', default: '100000' },
    backlog: { type: 'string', default: '5000' },
  },
});
const PLAYERS = wholeNumber(USAGE, '--players', args.players);
const READS = wholeNumber(USAGE, '--reads', args.reads);
const READERS = 16;
const WRITES_PER_SECOND = 40;
/** Commands committed while the projector is off, drained afterwards to measure its throughput. */
const BACKLOG = wholeNumber(USAGE, '--backlog', args.backlog, 0);
const ZIPF_S = 1.1;

/** Ranks 0..n-1 drawn with P(k) ∝ 1/(k+1)^s, by binary search in the cumulative distribution. */
function zipf(n: number, s: number, rnd: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** s;
  return () => {
    const u = rnd() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

async function main(): Promise<void> {
  console.log('Starting DynamoDB Local (with its stream), the SQS emulator and redis-server…');
  const stack = await startLocalStack({ stream: true });
  const redis = await startRedis();
  const config = { ...stack.config, redisUrl: redis.url };
  const pipeline = startCommandPipeline(stack, { concurrency: 8 });
  const queue = commandQueue(config);
  const rnd = random(11);
  const players = Array.from({ length: PLAYERS }, (_, i) => `b${String(i).padStart(5, '0')}`);
  const order = [...players].sort(() => rnd() - 0.5);
  const draw = zipf(PLAYERS, ZIPF_S, rnd);
  let writes = 0;
  const write = (): CommandEnvelope => {
    const id = order[draw()]!;
    const n = writes++;
    // Experience moves the level board only; a reward moves wealth only: each state leaves two boards as they were.
    return n % 4 === 3
      ? command(id, { type: 'GrantReward', taskId: `r${n}`, gold: 1 + Math.floor(rnd() * 50) }, `w${n}`)
      : command(id, { type: 'AddExperience', amount: 10 + Math.floor(rnd() * 300), source: 'bench' }, `w${n}`);
  };
  const markerState = async (r: { hget(key: string, field: string): Promise<string | null> }): Promise<string | null> =>
    r.hget(MARKER_KEY, 'state').catch(() => null);
  const until = async (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
    for (const started = Date.now(); !(await check()); await new Promise((r) => setTimeout(r, 50)))
      if (Date.now() - started > timeoutMs) throw new Error(`${what} after ${timeoutMs} ms`);
  };

  // The read side's first epoch opens (and heals) on an empty table, so the backlog below is pure projection.
  let projection = await startProjectionPipeline(config);
  await queue.send([command('b-warmup', { type: 'CreatePlayer', name: 'Warm up' }, 'create')]);
  await pipeline.drained();
  await projection.poller.caughtUp();
  await until(
    async () => (await markerState(projection.readSide.redis)) === 'complete',
    60_000,
    'first epoch not complete',
  );
  await projection.healed();
  await projection.stop();
  try {
    console.log(`Creating ${PLAYERS} players, then ${BACKLOG} commands, with the projector stopped…`);
    const bar = progressBar('commands', PLAYERS + BACKLOG);
    const ticker = setInterval(() => bar.update(pipeline.totals.applied), 500);
    await queue.send(players.map((id) => command(id, { type: 'CreatePlayer', name: `Bench ${id}` }, 'create')));
    await pipeline.drained(900_000);
    await queue.send(Array.from({ length: BACKLOG }, write));
    await pipeline.drained(900_000);
    clearInterval(ticker);
    bar.update(pipeline.totals.applied);
    bar.done();

    // Throughput: the whole stream (every item the commands wrote) drained by the concurrent-batch poller.
    let skipped = 0;
    let scoreWrites = 0;
    const drainStarted = Date.now();
    projection = await startProjectionPipeline(config, {
      onReport: (report) => {
        skipped += report.scoreWritesSkipped;
        scoreWrites += report.scoreWrites;
      },
    });
    await projection.poller.caughtUp(900_000);
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const drained = projection.poller.stats();
    const throughput = {
      records: drained.records,
      seconds: Number(drainSeconds.toFixed(1)),
      recordsPerSecond: Math.round(drained.records / drainSeconds),
      concurrentPeak: drained.concurrentPeak,
      scoreWrites,
      scoreWritesSkipped: skipped,
    };
    const drainSkipped = skipped;
    const drainScoreWrites = scoreWrites;
    console.log(
      `Projected ${drained.records} stream records in ${drainSeconds.toFixed(1)} s (${throughput.recordsPerSecond}/s), ${drainSkipped} of ${drainSkipped + drainScoreWrites} score writes skipped`,
    );

    // Start cold: drop the views the projector wrote through, keep the version floors and the boards.
    const side = projection.readSide;
    let cursor = '0';
    do {
      const [next, keys] = await side.redis.scan(cursor, 'MATCH', 'gk:player:{*}', 'COUNT', 1000);
      if (keys.length > 0) await side.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    side.cache.resetStats();
    projection.lagMs.length = 0;

    let writing = true;
    const writer = (async () => {
      while (writing) {
        await queue.send(Array.from({ length: WRITES_PER_SECOND / 10 }, write));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const writesBefore = writes;

    console.log(
      `Reading ${READS} times from ${READERS} concurrent readers, Zipf(${ZIPF_S}) over ${PLAYERS} players, ${WRITES_PER_SECOND} writes/s…`,
    );
    const cached: number[] = [];
    const uncached: number[] = [];
    let next = 0;
    let half: { hits: number; misses: number } | undefined;
    const started = Date.now();
    const readBar = progressBar('reads', READS);
    await Promise.all(
      Array.from({ length: READERS }, async () => {
        while (next < READS) {
          next++;
          if (next % 5000 === 0) readBar.update(next);
          // The first half pays the compulsory misses of a cold cache; the second half is the steady state.
          if (next === READS / 2) half = { hits: side.cacheStats().hits, misses: side.cacheStats().misses };
          const id = order[draw()]!;
          const t0 = process.hrtime.bigint();
          const read = await side.readPlayerView(id);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (read.status === 'found' && read.source === 'cache') cached.push(ms);
          else uncached.push(ms);
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    readBar.done();
    const stats = side.cacheStats();
    const lag = [...projection.lagMs];
    const writesDuringReads = writes - writesBefore;

    // Heal: Redis loses everything while writes keep flowing; nobody runs a rebuild.
    console.log(`Crashing redis-server and restarting it empty, ${WRITES_PER_SECOND} writes/s going on…`);
    await redis.stop({ crash: true });
    await redis.restart();
    const healStarted = Date.now();
    await until(async () => side.redis.status === 'ready', 30_000, 'Redis client not reconnected');
    const flagged = (await side.leaderboardPage('level').catch(() => undefined))?.rebuilding ?? false;
    await until(async () => (await markerState(side.redis)) === 'complete', 900_000, 'read side not healed');
    const healSeconds = (Date.now() - healStarted) / 1000;
    const [levelAfterHeal, wealthAfterHeal] = await Promise.all([
      side.redis.zcard('gk:lb:{level}'),
      side.redis.zcard('gk:lb:{wealth}'),
    ]);
    writing = false;
    await writer;
    await pipeline.drained();
    await projection.poller.caughtUp();

    const q = (xs: number[], p: number) => Number(percentile(xs, p).toFixed(2));
    const figures = {
      players: PLAYERS,
      reads: READS,
      readsPerSecond: Math.round(READS / seconds),
      hitRatio: Number((stats.hitRatio * 100).toFixed(2)),
      steadyHitRatio: half
        ? Number((((stats.hits - half.hits) / (stats.hits - half.hits + stats.misses - half.misses)) * 100).toFixed(2))
        : 0,
      hits: stats.hits,
      misses: stats.misses,
      dynamoDbReads: stats.tableReads,
      cachedMs: { p50: q(cached, 50), p99: q(cached, 99) },
      uncachedMs: { p50: q(uncached, 50), p99: q(uncached, 99) },
      writes: writesDuringReads,
      projectionLagMs: { p50: percentile(lag, 50), p99: percentile(lag, 99), records: lag.length },
      projectorRecordsPerSecond: throughput.recordsPerSecond,
      projectorDrain: throughput,
      heal: {
        players: PLAYERS + 1,
        seconds: Number(healSeconds.toFixed(1)),
        playersPerSecond: Math.round((PLAYERS + 1) / healSeconds),
        flaggedRebuilding: flagged,
        levelEntries: levelAfterHeal,
        wealthEntries: wealthAfterHeal,
      },
    };
    console.log();
    console.log(
      table([
        ['players, reads', `${PLAYERS}, ${READS} (${figures.readsPerSecond} reads/s from ${READERS} readers)`],
        ['cache hit ratio, steady state (2nd half)', `${figures.steadyHitRatio} % — target ≥ 95 %`],
        [
          'cache hit ratio, from a cold cache',
          `${figures.hitRatio} % (${stats.hits} hits, ${stats.misses} misses, ${stats.tableReads} DynamoDB reads)`,
        ],
        ['cached reads', `p50 ${figures.cachedMs.p50} ms, p99 ${figures.cachedMs.p99} ms`],
        ['uncached reads (DynamoDB)', `p50 ${figures.uncachedMs.p50} ms, p99 ${figures.uncachedMs.p99} ms`],
        ['writes during the reads', `${figures.writes} commands (${WRITES_PER_SECOND}/s)`],
        [
          'projection lag (commit → projected)',
          `p50 ${figures.projectionLagMs.p50} ms, p99 ${figures.projectionLagMs.p99} ms over ${figures.projectionLagMs.records} records — target p99 < 1 s`,
        ],
        [
          'projector throughput (backlog drain)',
          `${throughput.recordsPerSecond} stream records/s (${throughput.records} in ${throughput.seconds} s, ${throughput.concurrentPeak} batches at once, ${drainSkipped} of ${drainSkipped + drainScoreWrites} score writes skipped)`,
        ],
        [
          'self-heal after Redis lost its data',
          `${figures.heal.seconds} s for ${PLAYERS + 1} players (${figures.heal.playersPerSecond} players/s) while writing; boards read rebuilding: ${flagged}; level ${levelAfterHeal}, wealth ${wealthAfterHeal} entries after`,
        ],
      ]),
    );
    console.log(JSON.stringify(figures));
  } finally {
    await pipeline.stop();
    await projection.stop();
    await stack.stop();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
