/**
 * `npm run bench:write`: the write path under load on the local stand-ins, printed, never asserted.
 *   1. DynamoDB Local's raw ceiling: unconditional BatchWriteItem, items/s.
 *   2. For each poller concurrency, the same backlog drained by Gamekeep's pipeline and by the way most Lambda
 *      users build it today (Powertools idempotency + conditional update + Powertools' FIFO batch processor),
 *      on the same stand-ins: commands/s, DynamoDB write requests and capacity per command.
 *   3. Gamekeep under a steady offered load below saturation: enqueue-to-committed p50/p99.
 * No table has a stream: the baseline has none, and DynamoDB Local charges streams heavily (bench:read covers them).
 * The last line is one JSON object with every figure, so runs can be compared.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { startSqsPoller } from '../local/sqsPoller.js';
import { gameWorkload, type GameWorkload } from '../local/workload.js';
import { commandQueue } from '../shared/gamekeep.js';
import { sqsClient } from '../shared/clients.js';
import { createTableInput } from '../shared/persistence/tableDefinition.js';
import { sleep } from '../shared/backoff.js';
import type { CommandEnvelope } from '../shared/engine/envelope.js';
import type { CommandQueue } from '../shared/messaging/commandQueue.js';
import { createBaselineHandler } from './bench/baseline.js';
import { percentile, table } from './console.js';
import { parseScriptArgs, wholeNumber } from './commandLine.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const USAGE =
  'usage: npm run bench:write [-- --players N --per-player N --concurrency N,N,… --seconds N --raw-items N]   (defaults: 400, 12, 1,2,4,8, 20, 10000)';
const { values: args } = parseScriptArgs(USAGE, {
  options: {
    players: { type: 'string', default: '400' },
    'per-player': { type: 'string', default: '12' },
    concurrency: { type: 'string', default: '1,2,4,8' },
    seconds: { type: 'string', default: '20' },
    'raw-items': { type: 'string', default: '10000' },
  },
});
const PLAYERS = wholeNumber(USAGE, '--players', args.players);
const COMMANDS_PER_PLAYER = wholeNumber(USAGE, '--per-player', args['per-player']);
const CONCURRENCIES = args.concurrency.split(',').map((c) => wholeNumber(USAGE, '--concurrency', c));
const SUSTAINED_SECONDS = wholeNumber(USAGE, '--seconds', args.seconds);
const RAW_ITEMS = wholeNumber(USAGE, '--raw-items', args['raw-items'], 0);

type Figures = Record<string, number>;

interface DrainFigures {
  commandsPerSecond: number;
  /** Share of commands applied: a run whose players were never created would be cheap and meaningless. */
  appliedShare: number;
  writeRequestsPerCommand: number;
  billedWcuPerCommand: number;
  reportedWcuPerCommand?: number;
  commandsPerBatch?: number;
}

interface SustainedFigures {
  offeredPerSecond: number;
  commandsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  writeRequestsPerCommand: number;
  commandsPerBatch: number;
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ stream: false });
  const endpoint = stack.config.dynamoDbEndpoint!;
  const ddb = new DynamoDBClient({
    region: stack.config.region,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const sqs = sqsClient(stack.config);
  const figures: Figures = { players: PLAYERS, commandsPerRun: PLAYERS * COMMANDS_PER_PLAYER };
  const rows: [string, string][] = [];
  try {
    log(`raw ceiling: ${RAW_ITEMS} unconditional items by BatchWriteItem…`);
    figures.rawItemsPerSecond = await rawCeiling(ddb);
    rows.push(['DynamoDB Local raw ceiling (BatchWriteItem, 4 writers)', `${figures.rawItemsPerSecond} items/s`]);

    let best = { gamekeep: 0, baseline: 0, gamekeepAt: 0, baselineAt: 0 };
    for (const concurrency of CONCURRENCIES) {
      const workload = gameWorkload({
        players: PLAYERS,
        commandsPerPlayer: COMMANDS_PER_PLAYER,
        seed: concurrency,
        prefix: `c${concurrency}-`,
      });
      log(`concurrency ${concurrency}: Gamekeep drains ${workload.commands.length} commands…`);
      const g = await gamekeepSaturated(stack, sqs, workload, concurrency);
      log(`concurrency ${concurrency}: baseline drains the same commands…`);
      const b = await baselineSaturated(stack, ddb, sqs, workload, concurrency);
      for (const [k, v] of Object.entries(g)) figures[`gamekeep_c${concurrency}_${k}`] = v as number;
      for (const [k, v] of Object.entries(b)) figures[`baseline_c${concurrency}_${k}`] = v as number;
      if (g.commandsPerSecond > best.gamekeep)
        best = { ...best, gamekeep: g.commandsPerSecond, gamekeepAt: concurrency };
      if (b.commandsPerSecond > best.baseline)
        best = { ...best, baseline: b.commandsPerSecond, baselineAt: concurrency };
      rows.push(
        [
          `${concurrency} poller(s): Gamekeep`,
          `${g.commandsPerSecond} commands/s (${Math.round(g.appliedShare * 100)} % applied); ${g.writeRequestsPerCommand} write requests/command; WCU/command ${g.billedWcuPerCommand} billed on AWS (${g.reportedWcuPerCommand} reported locally); ${g.commandsPerBatch}/batch`,
        ],
        [
          `${concurrency} poller(s): baseline`,
          `${b.commandsPerSecond} commands/s (${Math.round(b.appliedShare * 100)} % applied); ${b.writeRequestsPerCommand} write requests/command; WCU/command ${b.billedWcuPerCommand} billed on AWS`,
        ],
        [`${concurrency} poller(s): ratio`, `${round(g.commandsPerSecond / b.commandsPerSecond, 2)}`],
      );
    }
    figures.gamekeepPeakCommandsPerSecond = best.gamekeep;
    figures.gamekeepPeakConcurrency = best.gamekeepAt;
    figures.baselinePeakCommandsPerSecond = best.baseline;
    figures.baselinePeakConcurrency = best.baselineAt;
    figures.peakThroughputRatio = round(best.gamekeep / best.baseline, 2);
    figures.gamekeepWriteRequestsPerCommand = figures[`gamekeep_c${best.gamekeepAt}_writeRequestsPerCommand`]!;
    figures.rawItemsPerGamekeepCommand = round(figures.rawItemsPerSecond / best.gamekeep, 2);
    rows.push(
      [
        'peak vs peak',
        `Gamekeep ${best.gamekeep}/s (${best.gamekeepAt} pollers) / baseline ${best.baseline}/s (${best.baselineAt} pollers) = ${figures.peakThroughputRatio} (target ≥ 2)`,
      ],
      ['raw ceiling / Gamekeep peak', `${figures.rawItemsPerGamekeepCommand} raw items/s per command/s`],
    );

    const rate = Math.max(10, Math.floor(best.gamekeep * 0.6));
    log(`sustained: ${rate} commands/s offered for ${SUSTAINED_SECONDS} s with ${best.gamekeepAt} poller(s)…`);
    const s = await gamekeepSustained(stack, sqs, rate, best.gamekeepAt);
    for (const [k, v] of Object.entries(s)) figures[`sustained_${k}`] = v;
    rows.push(
      ['sustained load', `${s.commandsPerSecond} of ${rate} commands/s offered`],
      ['  enqueue → committed', `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms`],
      [
        '  DynamoDB write requests per command',
        `${s.writeRequestsPerCommand} (${s.commandsPerBatch} commands/batch; target ≤ 0.3)`,
      ],
    );

    console.log();
    console.log(table(rows));
    console.log(JSON.stringify(figures));
  } finally {
    ddb.destroy();
    sqs.destroy();
    await stack.stop();
  }
}

async function rawCeiling(ddb: DynamoDBClient): Promise<number> {
  await ddb.send(new CreateTableCommand(createTableInput('raw-ceiling', false)));
  const payload = 'x'.repeat(400);
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < RAW_ITEMS) {
        const from = next;
        next += 25;
        let pending = Array.from({ length: Math.min(25, RAW_ITEMS - from) }, (_, i) => ({
          PutRequest: { Item: { pk: { S: `R#${from + i}` }, sk: { S: 'STATE' }, v: { S: payload } } },
        }));
        while (pending.length > 0) {
          const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { 'raw-ceiling': pending } }));
          pending = (out.UnprocessedItems?.['raw-ceiling'] ?? []) as typeof pending;
        }
      }
    }),
  );
  return round(RAW_ITEMS / ((Date.now() - started) / 1000));
}

async function gamekeepSaturated(
  stack: LocalStack,
  sqs: SQSClient,
  workload: GameWorkload,
  concurrency: number,
): Promise<DrainFigures> {
  const queue = commandQueue(stack.config, { sqs });
  await createPlayers(stack, queue, workload, concurrency);
  await queue.send(workload.commands);
  const pipeline = startCommandPipeline(stack, { concurrency });
  const started = Date.now();
  await pipeline.drained(900_000);
  const seconds = (Date.now() - started) / 1000;
  await pipeline.stop();
  const decided = pipeline.totals.applied + pipeline.totals.rejected;
  return {
    commandsPerSecond: round(decided / seconds),
    appliedShare: round(pipeline.totals.applied / decided, 2),
    writeRequestsPerCommand: round(pipeline.writes.requests / decided, 3),
    billedWcuPerCommand: round(pipeline.writes.billed / decided, 2),
    reportedWcuPerCommand: round(pipeline.writes.capacity / decided, 2),
    commandsPerBatch: round(decided / pipeline.batches(), 2),
  };
}

async function baselineSaturated(
  stack: LocalStack,
  ddb: DynamoDBClient,
  sqs: SQSClient,
  workload: GameWorkload,
  concurrency: number,
): Promise<DrainFigures> {
  const suffix = randomUUID().slice(0, 6);
  const tableName = `baseline-${suffix}`;
  const idempotencyTableName = `idempotency-${suffix}`;
  await ddb.send(new CreateTableCommand(createTableInput(tableName, false)));
  await ddb.send(
    new CreateTableCommand({
      TableName: idempotencyTableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  const resources = await stack.provision({
    tableName: `unused-${suffix}`,
    queueName: `baseline-${suffix}`,
    stream: false,
  });
  const baseline = createBaselineHandler({
    endpoint: stack.config.dynamoDbEndpoint!,
    region: stack.config.region,
    tableName,
    idempotencyTableName,
  });
  const queue = commandQueue(resources.config, { sqs });
  const drain = async (): Promise<number> => {
    const poller = startSqsPoller({
      sqs,
      queueUrl: resources.commandQueue.url,
      queueArn: resources.commandQueue.arn,
      region: stack.config.region,
      handler: baseline.handler,
      concurrency,
    });
    const started = Date.now();
    await poller.drained(900_000);
    await poller.stop();
    return (Date.now() - started) / 1000;
  };
  await queue.send(workload.creates);
  await drain();
  Object.assign(baseline.stats, { applied: 0, rejected: 0, writeRequests: 0, billedWriteCapacity: 0, latenciesMs: [] });
  await queue.send(workload.commands);
  const seconds = await drain();
  const decided = baseline.stats.applied + baseline.stats.rejected;
  return {
    commandsPerSecond: round(decided / seconds),
    appliedShare: round(baseline.stats.applied / decided, 2),
    writeRequestsPerCommand: round(baseline.stats.writeRequests / decided, 3),
    billedWcuPerCommand: round(baseline.stats.billedWriteCapacity / decided, 2),
  };
}

async function gamekeepSustained(
  stack: LocalStack,
  sqs: SQSClient,
  rate: number,
  concurrency: number,
): Promise<SustainedFigures> {
  const perPlayer = Math.ceil((rate * SUSTAINED_SECONDS) / PLAYERS) + 1;
  const workload = gameWorkload({ players: PLAYERS, commandsPerPlayer: perPlayer, seed: 1000, prefix: 's-' });
  const queue = commandQueue(stack.config, { sqs });
  await createPlayers(stack, queue, workload, concurrency);
  // Round-robin over players, as independent players' commands arrive in a live game.
  const stream: CommandEnvelope[] = [];
  for (let n = 0; n < perPlayer; n++)
    for (let p = 0; p < PLAYERS; p++) stream.push(workload.commands[p * perPlayer + n]!);
  const total = Math.min(stream.length, rate * SUSTAINED_SECONDS);
  const pipeline = startCommandPipeline(stack, { concurrency });
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const started = Date.now();
  for (let i = 0, tick = 0; i < total; i += perTick, tick++) {
    await queue.send(stream.slice(i, Math.min(total, i + perTick)));
    const wait = started + (tick + 1) * tickMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  await pipeline.drained(600_000);
  await pipeline.stop();
  const decided = pipeline.totals.applied + pipeline.totals.rejected;
  return {
    offeredPerSecond: rate,
    commandsPerSecond: round(decided / ((Date.now() - started) / 1000)),
    p50Ms: percentile(pipeline.latenciesMs, 50),
    p99Ms: percentile(pipeline.latenciesMs, 99),
    writeRequestsPerCommand: round(pipeline.writes.requests / decided, 3),
    commandsPerBatch: round(decided / pipeline.batches(), 2),
  };
}

/** Creates the workload's players through the pipeline and waits until they exist; not part of any measurement. */
async function createPlayers(
  stack: LocalStack,
  queue: CommandQueue,
  workload: GameWorkload,
  concurrency: number,
): Promise<void> {
  const pipeline = startCommandPipeline(stack, { concurrency });
  await queue.send(workload.creates);
  await pipeline.drained(600_000);
  await pipeline.stop();
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
