import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambdaContext.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface SqsPollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly handler: SqsHandler;
  /** Lambda's batch size for FIFO sources is at most 10. */
  readonly batchSize?: number;
  /** Concurrent pollers, like Lambda's concurrent invocations of one event source. */
  readonly concurrency?: number;
  readonly functionName?: string;
  /** Runs after the handler returned and before the successful messages are deleted: fault-injection point. */
  readonly beforeDelete?: (event: SQSEvent) => Promise<void> | void;
  readonly onError?: (error: unknown) => void;
}

export interface SqsPoller {
  /** Number of batches being handled right now. */
  readonly busy: () => number;
  /** Distinct messages received so far (by message id): a redelivery of the same message is not counted again. */
  readonly received: () => number;
  /** Resolves once the queue holds no message (visible, in flight or delayed) and no batch is being handled. */
  drained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A local stand-in for Lambda's SQS event source mapping: receives batches, builds the real `SQSEvent`, invokes
 * the handler, deletes what succeeded and leaves `batchItemFailures` (or the whole batch, if the handler threw)
 * to reappear after the visibility timeout, where the queue's redrive policy counts receives toward the DLQ.
 */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const { sqs, queueUrl, handler } = options;
  let running = true;
  let busy = 0;
  let received = 0;
  // Ids received and not yet deleted: only those can come back, so deleted ones are forgotten and memory stays bounded.
  const undeleted = new Set<string>();

  const worker = async (): Promise<void> => {
    while (running) {
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = out.Messages ?? [];
      } catch (error) {
        options.onError?.(error);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (messages.length === 0) continue;
      for (const m of messages) {
        if (m.MessageId === undefined || undeleted.has(m.MessageId)) continue;
        undeleted.add(m.MessageId);
        received++;
      }
      busy++;
      try {
        const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options)) };
        let failed: Set<string>;
        try {
          const response = await handler(event, lambdaContext(options.functionName ?? 'command-processor'));
          failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          options.onError?.(error);
          failed = new Set(event.Records.map((r) => r.messageId));
        }
        await options.beforeDelete?.(event);
        const done = event.Records.filter((r) => !failed.has(r.messageId));
        if (done.length > 0) {
          const out = await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
            }),
          );
          for (const s of out.Successful ?? []) undeleted.delete(done[Number(s.Id)]!.messageId);
        }
      } catch (error) {
        // A crash between the handler and the delete: the messages come back after the visibility timeout.
        options.onError?.(error);
      } finally {
        busy--;
      }
    }
  };

  const workers = Array.from({ length: options.concurrency ?? 4 }, () => worker());
  return {
    busy: () => busy,
    received: () => received,
    async drained(timeoutMs = 120_000) {
      // Twice quiet in a row: a message can be between a receive and its batch being counted as busy.
      for (let quiet = 0, started = Date.now(); quiet < 2; ) {
        if (Date.now() - started > timeoutMs) throw new Error(`queue not drained after ${timeoutMs} ms`);
        quiet = (await queueDepth(sqs, queueUrl)) === 0 && busy === 0 ? quiet + 1 : 0;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** Stops polling; a receive under way still completes and its batch is handled, so no message is stranded in flight. */
    async stop() {
      running = false;
      await Promise.allSettled(workers);
    },
  };
}

function toRecord(m: Message, options: SqsPollerOptions): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          dataType: v.DataType ?? 'String',
          stringListValues: [],
          binaryListValues: [],
          ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

/** Messages still in the queue: visible, in flight or delayed. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}
