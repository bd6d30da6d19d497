/**
 * `npm run bench:write`: the write path under load on the local stand-ins, printed, never asserted.
 *   1. DynamoDB Local's raw ceiling: unconditional BatchWriteItem, items/s.
 *   2. Gamekeep, saturated: a backlog of commands drained by the local pipeline (commands/s, writes/command).
 *   3. Gamekeep, sustained: commands sent at a steady rate below saturation (enqueue-to-committed p50/p99).
 *   4. The usual Lambda build (Powertools idempotency + conditional update + FIFO batch processor) on the
 *      same stand-ins and the same backlog, for the ratio.
 * The last line is one JSON object with every figure.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalStack } from '../local/stack.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { startSqsPoller } from '../local/sqsPoller.js';
import { gameWorkload } from '../local/workload.js';
import { commandQueue } from '../shared/gamekeep.js';
import { sqsClient } from '../shared/clients.js';
import { createTableInput } from '../shared/persistence/tableDefinition.js';
import { sleep } from '../shared/persistence/eventStore.js';
import { queueDepth } from '../local/stack.js';
import { createBaselineHandler } from './bench/baseline.js';
import { percentile, table } from './console.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_IDEMPOTENCY_DISABLED = 'false';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const PLAYERS = arg('players', 400);
const COMMANDS_PER_PLAYER = arg('per-player', 12);
const CONCURRENCY = arg('concurrency', 4);
const SUSTAINED_SECONDS = arg('seconds', 20);
const RAW_ITEMS = arg('raw-items', 10_000);

async function main(): Promise<void> {
  // No stream on any table: the baseline has none, and DynamoDB Local charges streams heavily (bench:read covers them).
  const stack = await startLocalStack({ stream: false });
  const local = { region: stack.config.region, endpoint: stack.config.dynamoDbEndpoint!, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const ddb = new DynamoDBClient(local);
  const sqs = sqsClient(stack.config);
  const figures: Record<string, number> = { players: PLAYERS, commands: PLAYERS * COMMANDS_PER_PLAYER, concurrency: CONCURRENCY };
  try {
    // 1. Raw ceiling.
    log(`raw ceiling: ${RAW_ITEMS} unconditional items by BatchWriteItem…`);
    await ddb.send(new CreateTableCommand(createTableInput('raw', false)));
    const payload = 'x'.repeat(400);
    let next = 0;
    const rawStarted = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RAW_ITEMS) {
          const from = next;
          next += 25;
          let pending = Array.from({ length: Math.min(25, RAW_ITEMS - from) }, (_, i) => ({ PutRequest: { Item: { pk: { S: `R#${from + i}` }, sk: { S: 'STATE' }, v: { S: payload } } } }));
          while (pending.length > 0) {
            const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { raw: pending } }));
            pending = (out.UnprocessedItems?.raw ?? []) as typeof pending;
          }
        }
      }),
    );
    figures.rawItemsPerSecond = round(RAW_ITEMS / ((Date.now() - rawStarted) / 1000));

    // 2. Gamekeep saturated: enqueue the whole backlog, then drain it.
    const workload = gameWorkload({ players: PLAYERS, commandsPerPlayer: COMMANDS_PER_PLAYER, seed: 11 });
    const queue = commandQueue(stack.config, { sqs });
    log(`gamekeep: creating ${PLAYERS} players…`);
    let pipeline = startCommandPipeline(stack, { concurrency: CONCURRENCY });
    await queue.send(workload.creates);
    await pipeline.drained(600_000);
    await pipeline.stop();
    log(`gamekeep: enqueueing ${workload.commands.length} commands, then draining…`);
    await queue.send(workload.commands);
    pipeline = startCommandPipeline(stack, { concurrency: CONCURRENCY });
    const drainStarted = Date.now();
    await pipeline.drained(900_000);
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const decided = pipeline.totals.applied + pipeline.totals.rejected;
    figures.gamekeepCommandsPerSecond = round(decided / drainSeconds);
    figures.gamekeepWriteRequestsPerCommand = round(pipeline.writes.requests / decided, 3);
    figures.gamekeepBilledWcuPerCommand = round(pipeline.writes.billed / decided, 2);
    figures.gamekeepReportedWcuPerCommand = round(pipeline.writes.capacity / decided, 2);
    figures.gamekeepCommandsPerBatch = round(decided / pipeline.batches(), 2);
    figures.rawToGamekeepItemRatio = round(figures.rawItemsPerSecond / figures.gamekeepCommandsPerSecond, 2);
    await pipeline.stop();

    // 3. Gamekeep sustained: an open-loop sender at 60 % of the saturated rate.
    const rate = Math.max(10, Math.floor(figures.gamekeepCommandsPerSecond * 0.6));
    log(`gamekeep: sustained ${rate} commands/s for ${SUSTAINED_SECONDS} s…`);
    const sustained = gameWorkload({ players: PLAYERS, commandsPerPlayer: Math.ceil((rate * SUSTAINED_SECONDS) / PLAYERS) + 1, seed: 12 });
    const stream = sustained.commands.map((c) => ({ ...c, entityId: c.entityId })).filter((c) => c.command.type !== 'Trade' || true);
    // Reuse the created players: the sustained workload names the same ids.
    pipeline = startCommandPipeline(stack, { concurrency: CONCURRENCY });
    const sent = Math.min(stream.length, rate * SUSTAINED_SECONDS);
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const sustainedStarted = Date.now();
    for (let i = 0, tick = 0; i < sent; i += perTick, tick++) {
      await queue.send(stream.slice(i, Math.min(sent, i + perTick)));
      const wait = sustainedStarted + (tick + 1) * tickMs - Date.now();
      if (wait > 0) await sleep(wait);
    }
    await pipeline.drained(600_000);
    const sustainedDecided = pipeline.totals.applied + pipeline.totals.rejected;
    figures.sustainedOfferedPerSecond = rate;
    figures.sustainedCommandsPerSecond = round(sustainedDecided / ((Date.now() - sustainedStarted) / 1000));
    figures.sustainedP50Ms = percentile(pipeline.latenciesMs, 50);
    figures.sustainedP99Ms = percentile(pipeline.latenciesMs, 99);
    figures.sustainedWriteRequestsPerCommand = round(pipeline.writes.requests / sustainedDecided, 3);
    figures.sustainedCommandsPerBatch = round(sustainedDecided / pipeline.batches(), 2);
    await pipeline.stop();

    // 4. The usual build, same backlog, same stand-ins.
    log('baseline (Powertools idempotency + conditional update + FIFO batch processor): creating players…');
    const suffix = randomUUID().slice(0, 6);
    await ddb.send(new CreateTableCommand(createTableInput(`baseline-${suffix}`, false)));
    await ddb.send(
      new CreateTableCommand({
        TableName: `idempotency-${suffix}`,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const baselineResources = await stack.provision({ tableName: `baseline-gk-${suffix}`, queueName: `baseline-${suffix}`, stream: false });
    const baseline = createBaselineHandler({ endpoint: local.endpoint, region: local.region, tableName: `baseline-${suffix}`, idempotencyTableName: `idempotency-${suffix}` });
    const baselineQueue = commandQueue(baselineResources.config, { sqs });
    const runBaseline = async (): Promise<number> => {
      const poller = startSqsPoller({ sqs, queueUrl: baselineResources.commandQueue.url, queueArn: baselineResources.commandQueue.arn, region: local.region, handler: baseline.handler, concurrency: CONCURRENCY });
      const started = Date.now();
      for (let quiet = 0; quiet < 2; ) {
        await sleep(100);
        quiet = (await queueDepth(sqs, baselineResources.commandQueue.url)) === 0 && poller.busy() === 0 ? quiet + 1 : 0;
      }
      await poller.stop();
      return (Date.now() - started) / 1000;
    };
    await baselineQueue.send(workload.creates);
    await runBaseline();
    Object.assign(baseline.stats, { applied: 0, rejected: 0, writeRequests: 0, billedWriteCapacity: 0, latenciesMs: [] });
    log(`baseline: enqueueing ${workload.commands.length} commands, then draining…`);
    await baselineQueue.send(workload.commands);
    const baselineSeconds = await runBaseline();
    const baselineDecided = baseline.stats.applied + baseline.stats.rejected;
    figures.baselineCommandsPerSecond = round(baselineDecided / baselineSeconds);
    figures.baselineWriteRequestsPerCommand = round(baseline.stats.writeRequests / baselineDecided, 3);
    figures.baselineBilledWcuPerCommand = round(baseline.stats.billedWriteCapacity / baselineDecided, 2);
    figures.gamekeepToBaselineThroughputRatio = round(figures.gamekeepCommandsPerSecond / figures.baselineCommandsPerSecond, 2);

    console.log();
    console.log(
      table([
        ['DynamoDB Local raw ceiling (BatchWriteItem)', `${figures.rawItemsPerSecond} items/s`],
        ['Gamekeep, saturated', `${figures.gamekeepCommandsPerSecond} commands/s (${figures.gamekeepCommandsPerBatch} commands per batch)`],
        ['  DynamoDB write requests per command', `${figures.gamekeepWriteRequestsPerCommand} (target ≤ 0.3)`],
        ['  WCU per command', `${figures.gamekeepBilledWcuPerCommand} as AWS bills, ${figures.gamekeepReportedWcuPerCommand} as DynamoDB Local reports`],
        ['  raw ceiling / Gamekeep', `${figures.rawToGamekeepItemRatio} (items/s per command/s)`],
        ['Gamekeep, sustained', `${figures.sustainedCommandsPerSecond} of ${rate} commands/s offered`],
        ['  enqueue → committed', `p50 ${figures.sustainedP50Ms} ms, p99 ${figures.sustainedP99Ms} ms`],
        ['  DynamoDB write requests per command', `${figures.sustainedWriteRequestsPerCommand} (${figures.sustainedCommandsPerBatch} commands per batch)`],
        ['Powertools idempotency baseline', `${figures.baselineCommandsPerSecond} commands/s`],
        ['  DynamoDB write requests per command', String(figures.baselineWriteRequestsPerCommand)],
        ['  WCU per command (as AWS bills)', String(figures.baselineBilledWcuPerCommand)],
        ['Gamekeep / baseline throughput', `${figures.gamekeepToBaselineThroughputRatio} (target ≥ 2)`],
      ]),
    );
    console.log(JSON.stringify(figures));
  } finally {
    ddb.destroy();
    sqs.destroy();
    await stack.stop();
  }
}

function log(message: string): void {
  console.log(`[bench:write] ${message}`);
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
