/**
 * `npm run bench:recovery` (a script, not a test): what recovery costs on the local stand-ins, printed, never asserted.
 *   1. History: the state of one player with 10,000 versions at a random version, with snapshots (every 100, written
 *      in the commit) and without (a fold from the first event), p50/p99. The versions are built fast by feeding the
 *      command processor SQS-shaped batches of 10 directly, on a table without a stream.
 *   2. Rollback end to end through the local stack: the admin API's request (202), the command applied by the
 *      processor polling the FIFO queue, and the cached view projected at the new version by the stream projector.
 *   3. The consistency checker's players/s over CHECKED players, every one and a 10 % sample (the table's checks).
 * As a table and, last, one JSON line with every figure, so runs can be compared.
 */
import { randomBytes } from 'node:crypto';
import { startLocalStack } from '../local/stack.js';
import { startRedis } from '../local/redis.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { startProjectionPipeline } from '../local/projectionPipeline.js';
import { localHttpHandlers, startGateway } from '../local/gateway.js';
import { random } from '../local/workload.js';
import type { Config } from '../shared/config.js';
import { commandQueue, eventStore } from '../shared/gamekeep.js';
import { entityRegistry } from '../shared/entities.js';
import { CommandProcessor } from '../shared/engine/commandProcessor.js';
import { History } from '../shared/engine/history.js';
import { checkerDeps, runCheck } from '../shared/checker/index.js';
import { dynamoDbClient } from '../shared/clients.js';
import type { CommandEnvelope } from '../shared/engine/envelope.js';
import { player } from '../shared/domain/player/index.js';
import { BATCH, command, silent, sqsRecord } from './bench/processorFeed.js';
import { readSide } from '../shared/readside/index.js';
import { viewKey } from '../shared/readside/playerCache.js';
import { percentile, progressBar, table } from './console.js';
import { parseScriptArgs, wholeNumber } from './commandLine.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const USAGE =
  'usage: npm run bench:recovery [-- --versions N --reads N --reads-without N --rollbacks N --checked N]   (defaults: 10000 versions, 200 reads with snapshots, 100 without, 5 rollbacks, 10000 checked players)';
const { values: args } = parseScriptArgs(USAGE, {
  options: {
    versions: { type: 'string', default: '10000' },
    reads: { type: 'string', default: '200' },
    'reads-without': { type: 'string', default: '100' },
    rollbacks: { type: 'string', default: '5' },
    checked: { type: 'string', default: '10000' },
  },
});
const VERSIONS = wholeNumber(USAGE, '--versions', args.versions, 2);
const READS = wholeNumber(USAGE, '--reads', args.reads);
const READS_WITHOUT = wholeNumber(USAGE, '--reads-without', args['reads-without']);
const ROLLBACKS = wholeNumber(USAGE, '--rollbacks', args.rollbacks);
const CHECKED = wholeNumber(USAGE, '--checked', args.checked);
/** Versions each rolled-back player has; the rollback goes back to half of them. */
const ROLLBACK_HISTORY = 20;
const TARGETS = { historyP99WithSnapshotsMs: 50, checkerPlayersPerSecond: 500 };

/** Every command is accepted, so each is one version: experience (with level-ups on the way) and energy. */
function step(playerId: string, n: number, rnd: () => number): CommandEnvelope {
  switch (n % 3) {
    case 0:
      return command(playerId, { type: 'ConsumeEnergy', amount: 1, reason: 'bench' }, `s${n}`);
    case 1:
      return command(playerId, { type: 'RestoreEnergy', amount: 1, reason: 'bench' }, `s${n}`);
    default:
      return command(playerId, { type: 'AddExperience', amount: 1 + Math.floor(rnd() * 40), source: 'bench' }, `s${n}`);
  }
}

const until = async (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
  for (const started = Date.now(); !(await check()); await new Promise((r) => setTimeout(r, 5)))
    if (Date.now() - started > timeoutMs) throw new Error(`${what} after ${timeoutMs} ms`);
};
const q = (xs: number[], p: number) => Number(percentile(xs, p).toFixed(2));

async function main(): Promise<void> {
  console.log('Starting DynamoDB Local (with its stream), the SQS emulator and redis-server…');
  const stack = await startLocalStack({ stream: true });
  const redis = await startRedis();
  const stops: (() => Promise<void>)[] = [];
  try {
    const rnd = random(4);

    // ---- 1. history of one player with VERSIONS versions ----
    const historyTable = await stack.provision({ tableName: 'history', queueName: 'history', stream: false });
    const store = eventStore(historyTable.config);
    const processor = new CommandProcessor({
      store,
      registry: entityRegistry(),
      log: silent,
      commandRecordDays: 14,
      maxCommitAttempts: 8,
    });
    const id = 'long-lived';
    console.log(`Building ${VERSIONS} versions of one player, ${BATCH} commands per batch fed to the processor…`);
    const buildStarted = Date.now();
    const bar = progressBar('versions', VERSIONS);
    let version = 0;
    let sent = 0;
    for (let batch = [command(id, { type: 'CreatePlayer', name: 'Long Lived' }, 'create')]; version < VERSIONS; ) {
      const report = await processor.processBatch(batch.map(sqsRecord));
      if (report.batchItemFailures.length > 0 || report.counts.applied !== batch.length)
        throw new Error(`a batch was not applied whole: ${JSON.stringify(report.counts)}`);
      version += batch.length;
      bar.update(version);
      batch = Array.from({ length: Math.min(BATCH, VERSIONS - version) }, () => step(id, sent++, rnd));
    }
    bar.done();
    const buildSeconds = (Date.now() - buildStarted) / 1000;
    const history = new History(store, player);
    if ((await history.currentVersion(id)) !== VERSIONS) throw new Error('the player did not reach its versions');

    const reads = async (count: number, snapshots: boolean) => {
      const ms: number[] = [];
      let folded = 0;
      for (let i = 0; i < count; i++) {
        const v = 1 + Math.floor(rnd() * VERSIONS);
        const t0 = process.hrtime.bigint();
        // As the history route reads: the current version, then the fold (from the newest sound snapshot).
        const past = await history.atVersion(id, v, undefined, { snapshots });
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (past.version !== v) throw new Error(`asked for version ${v}, got ${past.version}`);
        folded += past.eventsFolded;
      }
      return { reads: count, p50: q(ms, 50), p99: q(ms, 99), eventsFoldedMean: Math.round(folded / count) };
    };
    console.log(`Reading the state at ${READS} random versions with snapshots, ${READS_WITHOUT} without…`);
    await reads(5, true); // warm-up: connections, JIT
    const withSnapshots = await reads(READS, true);
    const withoutSnapshots = await reads(READS_WITHOUT, false);

    // ---- 3. the consistency checker over CHECKED players (the table's checks: no read side here) ----
    const checkedTable = await stack.provision({ tableName: 'checked', queueName: 'checked', stream: false });
    const checkedProcessor = new CommandProcessor({
      store: eventStore(checkedTable.config),
      registry: entityRegistry(),
      log: silent,
      commandRecordDays: 14,
      maxCommitAttempts: 8,
    });
    console.log(`Creating ${CHECKED} players with 3 versions each for the checker…`);
    const checkedIds = Array.from({ length: CHECKED }, (_, i) => `ck-${String(i).padStart(6, '0')}`);
    const checkedBar = progressBar('players', CHECKED);
    for (let i = 0; i < CHECKED; i += BATCH) {
      const ids = checkedIds.slice(i, i + BATCH);
      for (const make of [
        (p: string) => command(p, { type: 'CreatePlayer', name: `Checked ${p}` }, 'create'),
        (p: string) =>
          command(p, { type: 'AddExperience', amount: 10 + Math.floor(rnd() * 500), source: 'quest' }, 'xp'),
        (p: string) => command(p, { type: 'GrantReward', taskId: 'bench-check', gold: 25 }, 'reward'),
      ]) {
        const report = await checkedProcessor.processBatch(ids.map((p) => sqsRecord(make(p))));
        if (report.counts.applied !== ids.length) throw new Error(`checker set-up: ${JSON.stringify(report.counts)}`);
      }
      checkedBar.update(Math.min(i + BATCH, CHECKED));
    }
    checkedBar.done();
    const checkerDb = dynamoDbClient(checkedTable.config);
    stops.push(async () => checkerDb.destroy());
    const checkRun = async (sample: number) => {
      const t0 = performance.now();
      const report = await runCheck(checkerDeps(checkedTable.config, checkerDb), { sample, segments: 4 });
      const seconds = (performance.now() - t0) / 1000;
      const found = report.counts.safe + report.counts.operator + report.counts.isolate;
      if (found > 0)
        throw new Error(
          `the checker found ${found} findings on a sound table: ${JSON.stringify(report.findings.slice(0, 3))}`,
        );
      return {
        players: report.entitiesChecked,
        records: report.claimsChecked,
        seconds: Number(seconds.toFixed(1)),
        playersPerSecond: Math.round(report.entitiesChecked / seconds),
      };
    };
    console.log('Checking every player, then a 10 % sample…');
    const checkedFull = await checkRun(1);
    const checkedSample = await checkRun(0.1);

    // ---- 2. rollback end to end: request → applied → projected ----
    const secret = () => randomBytes(24).toString('hex');
    const config: Config = {
      ...stack.config,
      redisUrl: redis.url,
      jwtSecret: secret(),
      serviceToken: secret(),
      adminToken: secret(),
    };
    const pipeline = startCommandPipeline({ ...stack, config }, { concurrency: 2 });
    stops.push(() => pipeline.stop());
    const projection = await startProjectionPipeline(config, { pollIntervalMs: 50 });
    stops.push(() => projection.stop());
    const side = readSide(config, { store: eventStore(config) });
    stops.push(() => side.close());
    const gateway = await startGateway({
      handlers: localHttpHandlers(config, { readSide: side }),
      jwtSecret: config.jwtSecret!,
      serviceToken: config.serviceToken!,
      adminToken: config.adminToken!,
      port: 0,
    });
    stops.push(() => gateway.stop());
    const mainStore = eventStore(config);
    const queue = commandQueue(config);
    const players = Array.from({ length: ROLLBACKS }, (_, i) => `rb-${i}`);
    console.log(`Giving ${ROLLBACKS} players ${ROLLBACK_HISTORY} versions each through the queue and the projector…`);
    await queue.send(players.map((p) => command(p, { type: 'CreatePlayer', name: `Rolled ${p}` }, 'create')));
    await pipeline.drained();
    for (let n = 1; n < ROLLBACK_HISTORY; n++)
      await queue.send(
        players.map((p) =>
          n % 2
            ? command(p, { type: 'AddExperience', amount: 50 + Math.floor(rnd() * 500), source: 'quest' }, `x${n}`)
            : command(p, { type: 'GrantReward', taskId: `bench-${n}`, gold: 10 + Math.floor(rnd() * 90) }, `g${n}`),
        ),
      );
    await pipeline.drained(300_000);
    await until(
      async () =>
        (await Promise.all(players.map((p) => projection.readSide.redis.hget(viewKey(p), 'v')))).every(
          (v) => v === String(ROLLBACK_HISTORY),
        ),
      120_000,
      'the players were not all projected',
    );

    console.log(`Rolling each back to version ${ROLLBACK_HISTORY / 2} through POST /v1/admin/players/{id}/rollbacks…`);
    const accepted: number[] = [];
    const applied: number[] = [];
    const projected: number[] = [];
    for (const p of players) {
      const t0 = performance.now();
      const res = await fetch(`${gateway.url}/v1/admin/players/${p}/rollbacks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ toVersion: ROLLBACK_HISTORY / 2, reason: 'bench', ticket: `BENCH-${p}` }),
      });
      const body = (await res.json()) as { commandId?: string };
      if (res.status !== 202 || !body.commandId)
        throw new Error(`rollback of ${p}: ${res.status} ${JSON.stringify(body)}`);
      accepted.push(performance.now() - t0);
      const target = String(ROLLBACK_HISTORY + 1);
      await Promise.all([
        until(
          async () => {
            const record = await mainStore.commandRecord(body.commandId!);
            if (record?.status === 'rejected') throw new Error(`rollback of ${p} rejected: ${record.code}`);
            if (record?.status !== 'applied') return false;
            applied.push(performance.now() - t0);
            return true;
          },
          60_000,
          `rollback of ${p} not applied`,
        ),
        until(
          async () => (await projection.readSide.redis.hget(viewKey(p), 'v')) === target,
          60_000,
          `rollback of ${p} not projected`,
        ),
      ]);
      projected.push(performance.now() - t0);
    }

    const figures = {
      history: {
        versions: VERSIONS,
        snapshotEvery: player.snapshotEvery,
        buildSeconds: Number(buildSeconds.toFixed(1)),
        versionsPerSecond: Math.round(VERSIONS / buildSeconds),
        withSnapshotsMs: withSnapshots,
        withoutSnapshotsMs: withoutSnapshots,
      },
      rollback: {
        runs: ROLLBACKS,
        undoneVersions: ROLLBACK_HISTORY / 2,
        acceptedMs: { p50: q(accepted, 50), max: q(accepted, 100) },
        appliedMs: { p50: q(applied, 50), max: q(applied, 100) },
        projectedMs: { p50: q(projected, 50), max: q(projected, 100) },
      },
      checker: { full: checkedFull, sample: checkedSample },
      targets: TARGETS,
    };
    console.log();
    console.log(
      table([
        [
          `history of ${VERSIONS} versions: building`,
          `${figures.history.buildSeconds} s (${figures.history.versionsPerSecond} versions/s, batches of ${BATCH} fed to the processor)`,
        ],
        [
          `history with snapshots (every ${player.snapshotEvery})`,
          `p50 ${withSnapshots.p50} ms, p99 ${withSnapshots.p99} ms over ${withSnapshots.reads} reads (${withSnapshots.eventsFoldedMean} events folded on average) — target p99 < ${TARGETS.historyP99WithSnapshotsMs} ms`,
        ],
        [
          'history without snapshots',
          `p50 ${withoutSnapshots.p50} ms, p99 ${withoutSnapshots.p99} ms over ${withoutSnapshots.reads} reads (${withoutSnapshots.eventsFoldedMean} events folded on average)`,
        ],
        [
          'rollback: request → 202',
          `p50 ${figures.rollback.acceptedMs.p50} ms (max ${figures.rollback.acceptedMs.max}) over ${ROLLBACKS} rollbacks of ${ROLLBACK_HISTORY / 2} versions`,
        ],
        [
          'rollback: request → applied',
          `p50 ${figures.rollback.appliedMs.p50} ms (max ${figures.rollback.appliedMs.max})`,
        ],
        [
          'rollback: request → projected (cached view)',
          `p50 ${figures.rollback.projectedMs.p50} ms (max ${figures.rollback.projectedMs.max})`,
        ],
        [
          `checker, every player (${CHECKED})`,
          `${checkedFull.playersPerSecond} players/s (${checkedFull.players} players and ${checkedFull.records} claims and command records in ${checkedFull.seconds} s) — target ≥ ${TARGETS.checkerPlayersPerSecond} players/s`,
        ],
        [
          'checker, a 10 % sample',
          `${checkedSample.playersPerSecond} players/s (${checkedSample.players} players in ${checkedSample.seconds} s: random Scan segments, a tenth of the table)`,
        ],
      ]),
    );
    console.log(JSON.stringify(figures));
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
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
