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
import { lambdaContext } from './lambdaContext.js';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

export interface StreamPollerOptions {
  readonly config: Config;
  readonly handler: StreamHandler;
  /** Lambda's default batch size for DynamoDB streams is 100. */
  readonly batchSize?: number;
  /** Pause after an empty read of an open shard; Lambda polls each shard about four times a second. */
  readonly pollIntervalMs?: number;
  /** Where a shard without checkpoint starts: everything kept (TRIM_HORIZON, the default) or only new records. */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  readonly functionName?: string;
  readonly onError?: (error: unknown) => void;
}

export interface StreamPoller {
  readonly streamArn: string;
  /** Batches handed to the handler, and handler failures (thrown or reported) that caused a retry. */
  readonly stats: () => { batches: number; records: number; retries: number };
  /** Resolves once every shard was read to its end (as of the call) and the handler has nothing in hand. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A local stand-in for Lambda's DynamoDB Streams event source mapping: one reader per shard, parents before
 * children, real `DynamoDBStreamEvent` batches, and `batchItemFailures` honoured by re-reading the shard from
 * the failed sequence number (a thrown handler retries the whole batch), so nothing is skipped or reordered.
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

  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const finished = new Set<string>();
  const readers = new Map<string, Promise<void>>();
  /** Per shard: the round of reads completed, and whether the last read found the shard empty. */
  const progress = new Map<string, { rounds: number; empty: boolean }>();
  let running = true;
  let busy = 0;
  const stats = { batches: 0, records: 0, retries: 0 };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const iterator = async (shardId: string, after: string | undefined, at?: string): Promise<string | undefined> => {
    const out = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(at ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: at } : after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: options.startingPosition ?? 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  };

  const readShard = async (shardId: string): Promise<void> => {
    let checkpoint: string | undefined; // the last sequence number handled successfully
    let failures = 0; // consecutive failed attempts, for the retry backoff
    let next = await iterator(shardId, undefined);
    const p = { rounds: 0, empty: false };
    progress.set(shardId, p);
    while (running && next) {
      let records: _Record[];
      try {
        const out = await streams.send(new GetRecordsCommand({ ShardIterator: next, Limit: batchSize }));
        records = out.Records ?? [];
        next = out.NextShardIterator;
      } catch (error) {
        if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
          next = await iterator(shardId, checkpoint);
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
      busy++;
      try {
        const event: DynamoDBStreamEvent = { Records: records.map((r) => toRecord(r, streamArn, config.region)) };
        let failedAt: string | undefined;
        try {
          const response = await options.handler(event, lambdaContext(options.functionName ?? 'projector'));
          failedAt = response?.batchItemFailures?.[0]?.itemIdentifier;
          if (failedAt !== undefined && !event.Records.some((r) => r.dynamodb?.SequenceNumber === failedAt)) failedAt = event.Records[0]!.dynamodb!.SequenceNumber;
        } catch (error) {
          options.onError?.(error);
          failedAt = event.Records[0]!.dynamodb!.SequenceNumber;
        }
        stats.batches++;
        stats.records += records.length;
        if (failedAt === undefined) {
          failures = 0;
          checkpoint = records.at(-1)!.dynamodb!.SequenceNumber;
        } else {
          // Everything before the failed record is done; the shard is read again from the failed record on.
          stats.retries++;
          failures++;
          const index = event.Records.findIndex((r) => r.dynamodb?.SequenceNumber === failedAt);
          if (index > 0) checkpoint = event.Records[index - 1]!.dynamodb!.SequenceNumber;
          await pause(Math.min(1000, 100 * failures));
          next = await iterator(shardId, undefined, failedAt);
        }
      } finally {
        busy--;
      }
      p.rounds++;
    }
    finished.add(shardId);
  };

  const discover = async (): Promise<void> => {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
      shards.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    const known = new Set(shards.map((s) => s.ShardId!));
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (readers.has(id)) continue;
      // A child shard is read only after its parent is finished, so a key's records stay in order.
      const parent = shard.ParentShardId;
      if (parent && known.has(parent) && !finished.has(parent)) continue;
      readers.set(
        id,
        readShard(id).catch((error: unknown) => {
          options.onError?.(error);
          readers.delete(id); // read again from the start of the shard at the next discovery; projections are idempotent
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
        const done = open.every(([id, p]) => p.rounds >= (target.get(id) ?? 1) && p.empty);
        if (done && busy === 0) return;
        await pause(50);
      }
    },
    async stop() {
      running = false;
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
      ...(d.ApproximateCreationDateTime ? { ApproximateCreationDateTime: d.ApproximateCreationDateTime.getTime() / 1000 } : {}),
      Keys: asLambdaImage(d.Keys!),
      ...(d.NewImage ? { NewImage: asLambdaImage(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: asLambdaImage(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber!,
      SizeBytes: d.SizeBytes ?? 0,
      StreamViewType: (d.StreamViewType ?? 'NEW_AND_OLD_IMAGES') as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
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
