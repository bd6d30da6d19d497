import { type CfnResource, Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

/** AWS recommends a visibility timeout of at least 6x the timeout of a Lambda consuming the queue. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** Receives before a message moves to the DLQ; the processor retries contention itself (engine.md). */
export const MAX_RECEIVE_COUNT = 5;

/**
 * The FIFO command queue of DESIGN.md section 2 and its FIFO dead-letter queue. Logical ids are pinned to
 * the first deployed stack's, so the queues (and the messages in them) survive the move into a construct.
 */
export class CommandQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: { readonly consumerTimeout: Duration }) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'CommandDeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14), // the SQS maximum: time to investigate and replay
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    (this.deadLetterQueue.node.defaultChild as CfnResource).overrideLogicalId('CommandDeadLetterQueue4E581A99');
    acknowledge(this.deadLetterQueue, {
      'AwsSolutions-SQS3':
        'This is the dead-letter queue of the command queue; its depth is alarmed and it is replayed by hand.',
    });

    this.queue = new sqs.Queue(this, 'CommandQueue', {
      fifo: true,
      // Producers always set MessageDeduplicationId = hash(command id) (shared/engine/envelope.ts): the content
      // of two sends of one command may differ (timestamps), the business identity does not.
      contentBasedDeduplication: false,
      // High-throughput FIFO: ordering and deduplication per player (MessageGroupId), not per queue.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    (this.queue.node.defaultChild as CfnResource).overrideLogicalId('CommandQueue811FAE69');
  }
}
