import { createHash } from 'node:crypto';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type Shard,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Config } from '../shared/config.js';
import { PROJECTOR_STREAM } from '../lib/constructs/gameFunctions.js';
import { lambdaContext } from './lambdaContext.js';

export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

/** Why the event source gave records up (on AWS their metadata goes to the on-failure destination). */
export type DiscardReason = 'retries-exhausted' | 'record-expired';

export interface StreamPollerOptions {
  readonly config: Config;
  readonly handler: StreamHandler;
  /** Records per invocation at most (the CDK mapping's `batchSize`). */
  readonly batchSize?: number;
  /** Concurrent batches per shard (the CDK mapping's `parallelizationFactor`); order then holds only per item. */
  readonly parallelizationFactor?: number;
  /** Retries of a failed batch before its records are given up (`retryAttempts`); splitting a batch is not a retry. */
  readonly retryAttempts?: number;
  /** Records older than this are given up without being delivered (`maxRecordAge`). */
  readonly maxRecordAgeMs?: number;
  /** Split a failed batch in two and retry each half (`bisectBatchOnError`). */
  readonly bisectBatchOnError?: boolean;
  /** Pause before the n-th consecutive retry of one batch. */
  readonly retryDelayMs?: (attempt: number) => number;
  /** Pause after an empty read of an open shard; Lambda polls each shard about four times a second. */
  readonly pollIntervalMs?: number;
  /** Where a shard without checkpoint starts: everything kept (TRIM_HORIZON, the default) or only new records. */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  readonly functionName?: string;
  readonly onError?: (error: unknown) => void;
  /** The on-failure destination: records given up after the retries or past their maximum age. */
  readonly onDiscard?: (records: readonly DynamoDBRecord[], reason: DiscardReason) => void;
}

export interface PollerStats {
  batches: number;
  records: number;
  /** Failed invocations (thrown or reported) that were retried, split or given up. */
  retries: number;
  /** Batches split in two after a failure. */
  bisections: number;
  discarded: number;
  /** The most invocations running at once. */
  concurrentPeak: number;
}

export interface StreamPoller {
  readonly streamArn: string;
  readonly stats: () => PollerStats;
  /** Resolves once every shard was read to its end (as of the call) and no batch is pending or in hand. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Which of a shard's concurrent batches an item's records go to: a hash of the whole key (partition and sort
 * key), as Lambda does with a parallelization factor, so two items of one player (E#n and E#n+1, or a state and
 * its event) may be projected in either order, while the records of one item keep theirs.
 */
export function laneOf(keys: Readonly<Record<string, unknown>> | undefined, lanes: number): number {
  if (lanes <= 1) return 0;
  const key = Object.entries(keys ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join('|');
  return createHash('md5').update(key).digest().readUInt32BE(0) % lanes;
}

/** One invocation's worth of records, and how often it was already retried. */
interface Batch {
  readonly records: DynamoDBRecord[];
  readonly attempts: number;
}

/**
 * A local stand-in for Lambda's DynamoDB Streams event source mapping, as unkind as the real one: one reader
 * per shard (parents finished before children start), `parallelizationFactor` concurrent batches per shard with
 * records spread by item key, `batchItemFailures` honoured (the batch is retried from the failed record, the
 * records before it are done), bisect on error, `retryAttempts` after which records are given up, and
 * `maxRecordAge`. Defaults are the CDK mapping's (PROJECTOR_STREAM).
 */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const { config } = options;
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const endpoint = config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint, credentials } : {};
  const ddb = new DynamoDBClient({ region: config.region, ...endpoint });
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: config.tableName }));
  ddb.destroy();
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${config.tableName} has no stream`);
  const streams = new DynamoDBStreamsClient({ region: config.region, ...endpoint });

  const batchSize = options.batchSize ?? PROJECTOR_STREAM.batchSize;
  const factor = options.parallelizationFactor ?? PROJECTOR_STREAM.parallelizationFactor;
  const retryAttempts = options.retryAttempts ?? PROJECTOR_STREAM.retryAttempts;
  const maxRecordAgeMs = options.maxRecordAgeMs ?? PROJECTOR_STREAM.maxRecordAge.toMilliseconds();
  const bisect = options.bisectBatchOnError ?? true;
  const retryDelay = options.retryDelayMs ?? ((attempt: number) => Math.min(1000, 50 * 2 ** attempt));
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  /** Records read ahead per shard before its reader waits for the batches to catch up. */
  const readAhead = batchSize * factor * 4;

  const finished = new Set<string>();
  const readers = new Map<string, Promise<void>>();
  /** Per shard: the rounds of reads completed, whether the last read found the shard empty, and records not yet done. */
  const progress = new Map<string, { rounds: number; empty: boolean; pending: number }>();
  let running = true;
  let inHand = 0;
  const stats: PollerStats = { batches: 0, records: 0, retries: 0, bisections: 0, discarded: 0, concurrentPeak: 0 };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Wakes every waiting lane and reader (new records, a batch done, or stop). */
  const sleepers = new Set<() => void>();
  const wakeAll = (): void => {
    for (const w of [...sleepers]) w();
  };
  const sleep = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const w = (): void => {
        sleepers.delete(w);
        resolve();
      };
      sleepers.add(w);
    });

  const discard = (records: DynamoDBRecord[], reason: DiscardReason): void => {
    if (records.length === 0) return;
    stats.discarded += records.length;
    options.onDiscard?.(records, reason);
  };

  /** Delivers one batch until every record is done or given up; a lane waits for it, so an item's order holds. */
  const deliver = async (first: Batch): Promise<void> => {
    const work: Batch[] = [first];
    while (work.length > 0 && running) {
      const batch = work.shift()!;
      const now = Date.now();
      const expired = batch.records.filter(
        (r) => now - (r.dynamodb?.ApproximateCreationDateTime ?? now / 1000) * 1000 > maxRecordAgeMs,
      );
      discard(expired, 'record-expired');
      const records = batch.records.filter((r) => !expired.includes(r));
      if (records.length === 0) continue;
      let failedAt: number | undefined;
      inHand++;
      stats.concurrentPeak = Math.max(stats.concurrentPeak, inHand);
      try {
        const response = await options.handler(
          { Records: records },
          lambdaContext(options.functionName ?? 'projector'),
        );
        const id = response?.batchItemFailures?.[0]?.itemIdentifier;
        if (response?.batchItemFailures?.length) {
          // The lowest failed sequence number counts; an identifier not in the batch fails the whole batch.
          const indexes = response.batchItemFailures.map((f) =>
            records.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier),
          );
          failedAt = indexes.some((i) => i < 0) || id === undefined ? 0 : Math.min(...indexes);
        }
      } catch (error) {
        options.onError?.(error);
        failedAt = 0;
      } finally {
        inHand--;
      }
      stats.batches++;
      stats.records += records.length;
      if (failedAt === undefined) continue;
      stats.retries++;
      const rest = records.slice(failedAt);
      if (bisect && rest.length > 1) {
        stats.bisections++;
        const half = Math.ceil(rest.length / 2);
        work.unshift(
          { records: rest.slice(0, half), attempts: batch.attempts },
          { records: rest.slice(half), attempts: batch.attempts },
        );
      } else if (batch.attempts >= retryAttempts) {
        discard(rest, 'retries-exhausted');
        continue;
      } else {
        work.unshift({ records: rest, attempts: batch.attempts + 1 });
      }
      await pause(retryDelay(batch.attempts + 1));
    }
  };

  const readShard = async (shardId: string): Promise<void> => {
    let lastRead: string | undefined;
    // Registered before the first await, so a caughtUp() right after the start waits for this shard's first read.
    const p = { rounds: 0, empty: false, pending: 0 };
    progress.set(shardId, p);
    let next = await iterator(shardId, undefined);
    const lanes: DynamoDBRecord[][] = Array.from({ length: factor }, () => []);
    let reading = true;
    const lane = async (queue: DynamoDBRecord[]): Promise<void> => {
      for (;;) {
        if (queue.length === 0) {
          if (!reading || !running) return;
          await sleep();
          continue;
        }
        const records = queue.splice(0, batchSize);
        await deliver({ records, attempts: 0 });
        p.pending -= records.length;
        wakeAll();
      }
    };
    const workers = lanes.map(lane);

    while (running && next) {
      if (p.pending >= readAhead) {
        await sleep();
        continue;
      }
      let records: _Record[];
      try {
        const out = await streams.send(new GetRecordsCommand({ ShardIterator: next, Limit: batchSize }));
        records = out.Records ?? [];
        next = out.NextShardIterator;
      } catch (error) {
        if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
          next = await iterator(shardId, lastRead);
          continue;
        }
        options.onError?.(error);
        await pause(200);
        continue;
      }
      if (records.length === 0) {
        p.empty = true;
        p.rounds++;
        if (next) await pause(pollIntervalMs);
        continue;
      }
      p.empty = false;
      for (const r of records) {
        const record = toRecord(r, streamArn, config.region);
        lanes[laneOf(record.dynamodb!.Keys, factor)]!.push(record);
      }
      p.pending += records.length;
      lastRead = records.at(-1)!.dynamodb!.SequenceNumber;
      wakeAll();
      p.rounds++;
    }
    reading = false;
    wakeAll();
    await Promise.all(workers);
    // A child shard starts only once every record of its parent is done, so an item's records stay in order.
    finished.add(shardId);
  };

  const iterator = async (shardId: string, after: string | undefined): Promise<string | undefined> => {
    const out = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: options.startingPosition ?? 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  };

  const discover = async (): Promise<void> => {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
      );
      shards.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    const known = new Set(shards.map((s) => s.ShardId!));
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (readers.has(id)) continue;
      const parent = shard.ParentShardId;
      if (parent && known.has(parent) && !finished.has(parent)) continue;
      readers.set(
        id,
        readShard(id).catch((error: unknown) => {
          options.onError?.(error);
          readers.delete(id); // read again from the start of the shard at the next discovery; projections converge
        }),
      );
    }
  };

  await discover();
  const discovery = (async () => {
    while (running) {
      await pause(1000);
      if (!running) break;
      try {
        await discover();
      } catch (error) {
        options.onError?.(error);
      }
    }
  })();

  return {
    streamArn,
    stats: () => ({ ...stats }),
    async caughtUp(timeoutMs = 60_000) {
      const started = Date.now();
      await discover();
      const target = new Map([...progress].map(([id, p]) => [id, p.rounds + 1]));
      for (;;) {
        if (Date.now() - started > timeoutMs) throw new Error(`stream not caught up after ${timeoutMs} ms`);
        const open = [...progress].filter(([id]) => !finished.has(id));
        const done = open.every(([id, p]) => p.rounds >= (target.get(id) ?? 1) && p.empty && p.pending === 0);
        if (done && inHand === 0) return;
        await pause(50);
      }
    },
    async stop() {
      running = false;
      wakeAll();
      await discovery;
      await Promise.allSettled([...readers.values()]);
      streams.destroy();
    },
  };
}

/** The record exactly as Lambda's event source mapping delivers it. */
function toRecord(r: _Record, streamArn: string, region: string): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID!,
    eventName: r.eventName as DynamoDBRecord['eventName'],
    eventVersion: r.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: r.awsRegion ?? region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d.ApproximateCreationDateTime
        ? { ApproximateCreationDateTime: d.ApproximateCreationDateTime.getTime() / 1000 }
        : {}),
      Keys: asLambdaImage(d.Keys!),
      ...(d.NewImage ? { NewImage: asLambdaImage(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: asLambdaImage(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber!,
      SizeBytes: d.SizeBytes ?? 0,
      StreamViewType: (d.StreamViewType ?? 'NEW_AND_OLD_IMAGES') as NonNullable<
        DynamoDBRecord['dynamodb']
      >['StreamViewType'],
    },
  };
}

type LambdaImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/**
 * An image as Lambda's JSON carries it. The SDK decodes an empty map (`{"M": {}}`) as an empty object; it is put
 * back, so the handler sees what it would see on AWS.
 */
function asLambdaImage(image: Record<string, unknown>): LambdaImage {
  const value = (v: unknown): unknown => {
    const av = v as Record<string, unknown>;
    if (Object.keys(av).length === 0) return { M: {} };
    if (av.M) return { M: asLambdaImage(av.M as Record<string, unknown>) };
    if (av.L) return { L: (av.L as unknown[]).map(value) };
    return av;
  };
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, value(v)])) as LambdaImage;
}
