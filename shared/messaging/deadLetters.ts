import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** The message attribute naming why the processor forwarded a message (malformed envelopes). */
export const REASON_ATTRIBUTE = 'gamekeep-reason';
export const SOURCE_MESSAGE_ATTRIBUTE = 'gamekeep-source-message-id';

/**
 * How long a look at the queue hides what it received. Every pass makes its messages visible again as soon as
 * it is done; this only bounds how long they stay hidden when the process dies mid-pass (a Lambda timeout).
 */
export const PASS_VISIBILITY_SECONDS = 30;
/** A pass stops after this long (the admin API answers below API Gateway's 30 s). */
const PASS_BUDGET_MS = 10_000;
/** The most messages one search for a message receives before it gives up. */
const SEARCH_LIMIT = 500;
/** Long polling (1 s) asks every SQS server, so an empty answer means nothing else is visible. */
const WAIT_SECONDS = 1;

/** A message of the dead-letter queue, as one pass over the queue received it. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly messageGroupId: string | undefined;
  /** SQS's ApproximateReceiveCount: the receives on the command queue, and every look at the DLQ since. */
  readonly receiveCount: number;
  readonly sentAt: string | undefined;
  /** Why the processor forwarded it (malformed); absent for a message SQS moved here after maxReceiveCount. */
  readonly reason: string | undefined;
  /** The command-queue message a forwarded message was. */
  readonly sourceMessageId: string | undefined;
  /**
   * False when the same pass received an earlier message of its group: a FIFO group is delivered in order, so
   * that one must be replayed or discarded first. (SQS may deliver several messages of a group in one receive;
   * the emulator delivers only each group's first, so there every listed letter is first in its group.)
   */
  readonly firstInGroup: boolean;
}

export interface DeadLetterListing {
  readonly letters: DeadLetter[];
  /** True when the pass ended on an empty receive (nothing else visible), false when it stopped at its limit. */
  readonly complete: boolean;
  /** What SQS reported before the pass: visible plus in-flight messages (also those behind a group's first). */
  readonly approximateCount: number;
}

/** A dead letter held invisible by the request that found it, until it deletes or releases it. */
export interface HeldDeadLetter extends DeadLetter {
  delete(): Promise<void>;
  release(): Promise<void>;
}

interface Received {
  readonly letter: DeadLetter;
  readonly receiptHandle: string;
}

/**
 * The command dead-letter queue (FIFO). `forward` moves a message that can never be processed (not JSON, not an
 * envelope, unknown entity) straight here with the reason attached, instead of letting it block its message
 * group until `maxReceiveCount` redeliveries have passed. Operators look at it with `list` and act on one message
 * with `take`.
 *
 * SQS has no peek: a look is a receive. Each pass receives with a short visibility timeout until an empty receive
 * (or its limit), then makes every message it received visible again, so a look consumes nothing. Its limits are
 * SQS's: a FIFO group is locked while one of its messages is in flight, so a pass sees the first message of every
 * group and only those later ones that SQS hands out in the same receive; two passes at the same time each see
 * only what the other does not hold; and every pass counts as a receive in ApproximateReceiveCount.
 */
export class DeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async forward(record: SQSRecord, reason: string): Promise<void> {
    const fifo = this.queueUrl.endsWith('.fifo');
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: record.body.length > 0 ? record.body : '(empty)',
        MessageAttributes: {
          [REASON_ATTRIBUTE]: { DataType: 'String', StringValue: reason.slice(0, 1000) },
          [SOURCE_MESSAGE_ATTRIBUTE]: { DataType: 'String', StringValue: record.messageId },
        },
        ...(fifo
          ? {
              MessageGroupId: record.attributes.MessageGroupId ?? 'malformed',
              MessageDeduplicationId: `malformed-${record.messageId}`.slice(0, 128),
            }
          : {}),
      }),
    );
  }

  /** Up to `limit` dead letters, oldest group first as SQS hands them out; all of them stay in the queue. */
  async list(limit: number): Promise<DeadLetterListing> {
    const approximateCount = await this.approximateCount();
    const { received, complete } = await this.pass((count) => count >= limit, limit);
    await this.release(received);
    return { letters: received.map((r) => r.letter), complete, approximateCount };
  }

  /**
   * Finds one dead letter and keeps it hidden (for PASS_VISIBILITY_SECONDS at most) while the caller acts on it;
   * everything else the search received is visible again at once. Undefined when no pass reaches it: it is not
   * in the queue, another request holds it, or it is behind other messages of its FIFO group.
   */
  async take(messageId: string): Promise<HeldDeadLetter | undefined> {
    const { received } = await this.pass((_count, last) => last.some((r) => r.letter.messageId === messageId));
    const target = received.find((r) => r.letter.messageId === messageId);
    await this.release(received.filter((r) => r !== target));
    if (!target) return undefined;
    return {
      ...target.letter,
      delete: async () => {
        await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: target.receiptHandle }));
      },
      release: () => this.release([target]),
    };
  }

  private async approximateCount(): Promise<number> {
    const out = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /** Receives until `done` says so, an empty receive, SEARCH_LIMIT messages or the time budget; holds all it got. */
  private async pass(
    done: (count: number, last: readonly Received[]) => boolean,
    max = SEARCH_LIMIT,
  ): Promise<{ received: Received[]; complete: boolean }> {
    const received: Received[] = [];
    const groups = new Set<string>();
    const started = Date.now();
    try {
      while (received.length < Math.min(max, SEARCH_LIMIT) && Date.now() - started < PASS_BUDGET_MS) {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: Math.min(10, max - received.length),
            VisibilityTimeout: PASS_VISIBILITY_SECONDS,
            WaitTimeSeconds: WAIT_SECONDS,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const batch = (out.Messages ?? []).map((m) => this.received(m, groups));
        if (batch.length === 0) return { received, complete: true };
        received.push(...batch);
        if (done(received.length, batch)) break;
      }
      return { received, complete: false };
    } catch (error) {
      await this.release(received).catch(() => undefined);
      throw error;
    }
  }

  private received(m: Message, groups: Set<string>): Received {
    const group = m.Attributes?.MessageGroupId;
    const firstInGroup = group === undefined || !groups.has(group);
    if (group !== undefined) groups.add(group);
    const sent = Number(m.Attributes?.SentTimestamp);
    return {
      receiptHandle: m.ReceiptHandle!,
      letter: {
        messageId: m.MessageId!,
        body: m.Body ?? '',
        messageGroupId: group,
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
        sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined,
        reason: m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue,
        sourceMessageId: m.MessageAttributes?.[SOURCE_MESSAGE_ATTRIBUTE]?.StringValue,
        firstInGroup,
      },
    };
  }

  /** Makes messages visible again now (visibility 0), ten per call. */
  private async release(messages: readonly Received[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages.slice(i, i + 10).map((m, j) => ({
        Id: String(j),
        ReceiptHandle: m.receiptHandle,
        VisibilityTimeout: 0,
      }));
      await this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
    }
  }
}
