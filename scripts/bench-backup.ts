/**
 * `npm run bench:backup` (a script, not a test): what backups cost on the local stand-ins, printed, never asserted.
 *   1. The event archive's lag (commit to archived object, p50/p99) under the demo's load: its 200 players and
 *      26 commands each through the FIFO queue and the command processor, the table's stream read by the
 *      event-archiver function through the local stream poller (one batch at a time per shard, as on AWS).
 *   2. PLAYERS players with their histories (create, experience, a reward: three versions each, built by feeding the
 *      command processor directly), then a full backup (items/s), verify, and a restore into a new table (items/s,
 *      with its item-by-item comparison and the checker).
 *   3. A drill on that table: backup, increment, restore into a scratch table, the source's events held against it;
 *      its RTO and events lost.
 * As a table and, last, one JSON line with every figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startLocalStack } from '../local/stack.js';
import { startLocalS3 } from '../local/s3.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { startArchivePipeline } from '../local/archivePipeline.js';
import { gameWorkload, random } from '../local/workload.js';
import { commandQueue, eventStore } from '../shared/gamekeep.js';
import { entityRegistry } from '../shared/entities.js';
import { CommandProcessor } from '../shared/engine/commandProcessor.js';
import { dynamoDbClient } from '../shared/clients.js';
import {
  BackupBucket,
  rawAesBackupKey,
  restoreBackup,
  runDrill,
  takeBackup,
  verifyBackup,
} from '../shared/backup/index.js';
import { checkExitCode } from '../shared/checker/index.js';
import { percentile, progressBar, table } from './console.js';
import { parseScriptArgs, wholeNumber } from './commandLine.js';
import { BATCH, command, silent, sqsRecord } from './bench/processorFeed.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const USAGE =
  'usage: npm run bench:backup [-- --players N --concurrency N]   (defaults: 100000 players, 8 batches at once)';
const { values: args } = parseScriptArgs(USAGE, {
  options: { players: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '8' } },
});
const PLAYERS = wholeNumber(USAGE, '--players', args.players);
const CONCURRENCY = wholeNumber(USAGE, '--concurrency', args.concurrency);
/** The demo's load (scripts/demo.ts). */
const DEMO = { players: 200, commandsPerPlayer: 26, processorConcurrency: 4 };
/** Locally the archive trails by well under this; an increment waits it out after its predecessor. */
const LAG = { archiveLagMs: 3000, settleMs: 500 };

const q = (xs: number[], p: number) => Math.round(percentile(xs, p));
const rate = (n: number, seconds: number) => Math.round(n / Math.max(seconds, 0.001));

async function main(): Promise<void> {
  console.log('Starting DynamoDB Local (with its stream), the SQS emulator and s3rver…');
  const s3Dir = mkdtempSync(join(tmpdir(), 'gamekeep-bench-s3-'));
  const stack = await startLocalStack({ stream: true, tableName: 'bench-archive', queueName: 'bench-archive' });
  const s3 = await startLocalS3({ directory: s3Dir });
  const bucket = new BackupBucket(s3.client(), s3.bucket);
  const key = rawAesBackupKey(randomBytes(32));
  const store = { bucket, key, close: () => undefined };
  try {
    // ---- 1. the archive's lag under the demo's load ----
    const archive = await startArchivePipeline(stack.config, { store });
    const pipeline = startCommandPipeline(stack, { concurrency: DEMO.processorConcurrency });
    const workload = gameWorkload({ players: DEMO.players, commandsPerPlayer: DEMO.commandsPerPlayer, seed: 7 });
    const queue = commandQueue(stack.config);
    console.log(
      `The demo's load: ${DEMO.players} players, ${workload.commands.length} commands, archived from the stream…`,
    );
    const loadStarted = Date.now();
    await queue.send(workload.creates);
    await pipeline.drained(300_000);
    await queue.send(workload.commands);
    await pipeline.drained(600_000);
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    await archive.poller.caughtUp(120_000);
    await pipeline.stop();
    await archive.stop();
    const lag = archive.lagMs;

    // ---- 2. PLAYERS players with their histories: backup, verify, restore ----
    const big = await stack.provision({ tableName: 'bench-backup', queueName: 'bench-backup', stream: false });
    const config = big.config;
    const processor = new CommandProcessor({
      store: eventStore(config),
      registry: entityRegistry(),
      log: silent,
      commandRecordDays: 14,
      maxCommitAttempts: 8,
    });
    const rnd = random(12);
    const ids = Array.from({ length: PLAYERS }, (_, i) => `bk${String(i).padStart(6, '0')}`);
    console.log(`Creating ${PLAYERS} players with three versions each through the command processor…`);
    const buildStarted = Date.now();
    const bar = progressBar('players', PLAYERS);
    let done = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length) {
          const group = ids.slice(next, next + BATCH);
          next += BATCH;
          for (const make of [
            (p: string) => command(p, { type: 'CreatePlayer', name: `Kept ${p}` }, 'create'),
            (p: string) =>
              command(p, { type: 'AddExperience', amount: 10 + Math.floor(rnd() * 500), source: 'quest' }, 'xp'),
            (p: string) => command(p, { type: 'GrantReward', taskId: 'bench-backup', gold: 25 }, 'reward'),
          ]) {
            const report = await processor.processBatch(group.map((p) => sqsRecord(make(p))));
            if (report.counts.applied !== group.length) throw new Error(`set-up: ${JSON.stringify(report.counts)}`);
          }
          done += group.length;
          bar.update(done);
        }
      }),
    );
    bar.done();
    const buildSeconds = (Date.now() - buildStarted) / 1000;

    const db = dynamoDbClient(config);
    const deps = { db, tableName: config.tableName, registry: entityRegistry(), bucket, key };
    console.log('Full backup…');
    const backupStarted = Date.now();
    const manifest = await takeBackup(deps);
    const backupSeconds = (Date.now() - backupStarted) / 1000;
    const bytes = manifest.chunks.reduce((n, c) => n + c.bytes, 0);
    console.log('Verify…');
    const verified = await verifyBackup({ bucket, key }, manifest.backupId);
    console.log('Restore into a new table (load, item-by-item comparison, checker)…');
    const restored = await restoreBackup(
      { config, db, registry: entityRegistry(), bucket, key },
      manifest.backupId,
      'bench-restored',
    );
    if (checkExitCode(restored.check) !== 0) throw new Error('the restored table has findings');

    // ---- 3. the drill ----
    console.log('Drill: backup, increment, restore into a scratch table, source compared…');
    const drill = await runDrill({ config, db, registry: entityRegistry(), bucket, key }, LAG);
    if (drill.status !== 'passed') throw new Error(`the drill failed: ${drill.failure}`);
    db.destroy();

    const figures = {
      players: PLAYERS,
      items: manifest.items,
      build: { seconds: buildSeconds, commandsPerSecond: rate(PLAYERS * 3, buildSeconds) },
      backup: {
        seconds: backupSeconds,
        itemsPerSecond: rate(manifest.items, backupSeconds),
        chunks: manifest.chunks.length,
        bytes,
      },
      verify: { seconds: verified.seconds, itemsPerSecond: rate(verified.items, verified.seconds) },
      restore: {
        seconds: restored.seconds,
        loadItemsPerSecond: restored.itemsPerSecond,
        itemsPerSecondOverall: rate(restored.restored, restored.seconds.total),
      },
      drill: {
        rtoSeconds: drill.restore!.seconds.total,
        restored: drill.restore!.restored,
        eventsLost: drill.rpo!.eventsLost,
        sourceEvents: drill.rpo!.sourceEvents,
        durationSeconds: (Date.parse(drill.finishedAt!) - Date.parse(drill.startedAt)) / 1000,
      },
      archiveLag: {
        records: lag.length,
        commandsPerSecond: rate(workload.commands.length + workload.creates.length, loadSeconds),
        p50Ms: q(lag, 50),
        p99Ms: q(lag, 99),
        maxMs: q(lag, 100),
      },
    };
    console.log(
      table([
        ['players / items', `${PLAYERS} / ${manifest.items}`],
        [
          'backup',
          `${backupSeconds.toFixed(1)} s, ${figures.backup.itemsPerSecond} items/s, ${manifest.chunks.length} chunks, ${(bytes / 1e6).toFixed(1)} MB`,
        ],
        ['verify', `${verified.seconds.toFixed(1)} s, ${figures.verify.itemsPerSecond} items/s`],
        [
          'restore',
          `${restored.seconds.total} s (verify ${restored.seconds.verify}, load ${restored.seconds.load} at ${restored.itemsPerSecond} items/s, compare ${restored.seconds.compare}, check ${restored.seconds.check})`,
        ],
        [
          'drill RTO',
          `${figures.drill.rtoSeconds} s for ${figures.drill.restored} items; ${figures.drill.eventsLost} of ${figures.drill.sourceEvents} events lost`,
        ],
        [
          'archive lag',
          `p50 ${figures.archiveLag.p50Ms} ms, p99 ${figures.archiveLag.p99Ms} ms, max ${figures.archiveLag.maxMs} ms over ${lag.length} records at ${figures.archiveLag.commandsPerSecond} commands/s`,
        ],
      ]),
    );
    console.log(JSON.stringify({ bench: 'backup', ...figures }));
  } finally {
    bucket.s3.destroy();
    await s3.stop();
    await stack.stop();
    rmSync(s3Dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
