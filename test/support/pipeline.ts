import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import {
  commandEnvelope,
  deduplicationIdFor,
  messageGroupIdFor,
  type CommandEnvelope,
  type SourceKind,
} from '../../shared/engine/envelope.js';
import type { PlayerCommand } from '../../shared/domain/player/index.js';

let clock = Date.parse('2026-11-24T08:00:00Z');

/** A player command envelope whose id derives from `key`, as an API call with an Idempotency-Key would. */
export function playerCommand(
  playerId: string,
  command: PlayerCommand,
  key: string = randomUUID(),
  kind: SourceKind = 'service',
): CommandEnvelope {
  clock += 1000;
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: command as PlayerCommand & Record<string, unknown>,
    source: { kind, actor: 'test-suite' },
    identity: [kind, 'test-suite', playerId, key],
    issuedAt: new Date(clock),
  });
}

let sequence = 0;

/** An SQS record as Lambda delivers it from a FIFO queue, for synthetic batches (several messages per group). */
export function sqsRecord(
  envelope: CommandEnvelope | string,
  overrides: Partial<SQSRecord['attributes']> = {},
): SQSRecord {
  const body = typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
  const group =
    typeof envelope === 'string' ? 'player.unknown' : messageGroupIdFor(envelope.entityType, envelope.entityId);
  sequence++;
  return {
    messageId: randomUUID(),
    receiptHandle: `synthetic-${sequence}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      SequenceNumber: String(sequence).padStart(20, '0'),
      MessageGroupId: group,
      MessageDeduplicationId: typeof envelope === 'string' ? randomUUID() : deduplicationIdFor(envelope.commandId),
      ...overrides,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:commands.fifo',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
