import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/**
 * Moves a message that can never be processed (not JSON, not an envelope, unknown entity) straight to the
 * dead-letter queue with the reason attached, instead of letting it block its message group until
 * `maxReceiveCount` redeliveries have passed.
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
          'gamekeep-reason': { DataType: 'String', StringValue: reason.slice(0, 1000) },
          'gamekeep-source-message-id': { DataType: 'String', StringValue: record.messageId },
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
}
