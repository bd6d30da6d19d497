/**
 * Feeding the command processor SQS-shaped batches directly, without a queue: how the benchmarks build large
 * tables fast through the real engine (every item written by the processor's own commits).
 */
import type { SQSRecord } from 'aws-lambda';
import {
  commandEnvelope,
  deduplicationIdFor,
  messageGroupIdFor,
  type CommandEnvelope,
} from '../../shared/engine/envelope.js';
import type { PlayerCommand } from '../../shared/domain/player/index.js';

/** An SQS FIFO batch, as Lambda's event source mapping delivers it. */
export const BATCH = 10;

let tick = Date.parse('2026-11-24T00:00:00Z');
/** A game service's command for a player, its identity (and so its id) derived from `key`. */
export const command = (playerId: string, body: PlayerCommand, key: string): CommandEnvelope =>
  commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: body as PlayerCommand & Record<string, unknown>,
    source: { kind: 'service', actor: 'bench' },
    identity: ['service', 'bench', playerId, key],
    issuedAt: new Date(tick++),
  });

let sequence = 0;
/** A record as Lambda hands it over from the FIFO queue. */
export function sqsRecord(envelope: CommandEnvelope): SQSRecord {
  sequence++;
  const now = String(Date.now());
  return {
    messageId: `m-${sequence}`,
    receiptHandle: `bench-${sequence}`,
    body: JSON.stringify(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: now,
      SequenceNumber: String(sequence).padStart(20, '0'),
      MessageGroupId: messageGroupIdFor(envelope.entityType, envelope.entityId),
      MessageDeduplicationId: deduplicationIdFor(envelope.commandId),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:commands.fifo',
    awsRegion: 'us-east-1',
  };
}

export const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
