import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationIdFor, messageGroupIdFor, payloadHashOf, type CommandEnvelope } from '../engine/envelope.js';
import { backoffMs, sleep } from '../backoff.js';

const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;
const MAX_ATTEMPTS = 8;

/**
 * Sends commands to the FIFO command queue: group = the entity, deduplication id = a hash of the command id and
 * its payload (a reused id with another payload must reach the engine to be recorded as reused).
 * Sends are batched, but a group's next command is only sent once its previous one was accepted, so a
 * partly failed batch can never reorder one player's commands.
 */
export class CommandQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    private readonly parallelBatches = 4,
  ) {}

  /**
   * `replay` marks a deliberate re-send after SQS's 5-minute deduplication window (a DLQ replay, a webhook
   * redelivered days later): it gets a fresh deduplication id and the engine's command record dedups it.
   */
  /** SQS's approximate counts: commands waiting, and those received by a processor and not yet deleted. */
  async depth(): Promise<{ depth: number; inFlight: number }> {
    const { Attributes: a = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      depth: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  }

  async send(envelopes: readonly CommandEnvelope[], options: { replay?: string } = {}): Promise<void> {
    const byGroup = new Map<string, CommandEnvelope[]>();
    for (const e of envelopes) {
      const group = messageGroupIdFor(e.entityType, e.entityId);
      const queue = byGroup.get(group) ?? [];
      queue.push(e);
      byGroup.set(group, queue);
    }
    while (byGroup.size > 0) {
      // A wave holds the oldest unsent command of each group.
      const wave: CommandEnvelope[] = [];
      for (const [group, queue] of byGroup) {
        wave.push(queue.shift()!);
        if (queue.length === 0) byGroup.delete(group);
      }
      const batches = packBatches(wave);
      for (let i = 0; i < batches.length; i += this.parallelBatches)
        await Promise.all(batches.slice(i, i + this.parallelBatches).map((b) => this.sendBatch(b, options.replay)));
    }
  }

  private async sendBatch(batch: readonly CommandEnvelope[], replay: string | undefined): Promise<void> {
    let pending = batch.map((e, i) => ({ Id: String(i), envelope: e }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: pending.map(({ Id, envelope }) => ({
            Id,
            MessageBody: JSON.stringify(envelope),
            MessageGroupId: messageGroupIdFor(envelope.entityType, envelope.entityId),
            MessageDeduplicationId: deduplicationIdFor(
              replay ? `${envelope.commandId}#replay:${replay}` : envelope.commandId,
              payloadHashOf(envelope),
            ),
          })),
        }),
      );
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      const senderFault = [...failed.values()].find((f) => f.SenderFault);
      if (senderFault) throw new Error(`SQS refused command: ${senderFault.Code} ${senderFault.Message ?? ''}`);
      pending = pending.filter((p) => failed.has(p.Id));
      if (pending.length > 0) {
        if (attempt >= MAX_ATTEMPTS) throw new Error(`SQS failed ${pending.length} sends after ${attempt} attempts`);
        await sleep(backoffMs(attempt, 25, 2000));
      }
    }
  }
}

function packBatches(envelopes: readonly CommandEnvelope[]): CommandEnvelope[][] {
  const batches: CommandEnvelope[][] = [];
  let current: CommandEnvelope[] = [];
  let bytes = 0;
  for (const e of envelopes) {
    const size = Buffer.byteLength(JSON.stringify(e)) + 200;
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
