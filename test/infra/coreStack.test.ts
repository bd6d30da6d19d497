import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CoreStack } from '../../lib/stacks/coreStack.js';

/** The feature flags of cdk.json, so the tested template is the one `cdk synth` produces. */
const cdkContext = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};

/**
 * Synthesizes one stage. NodejsFunction bundles with the local esbuild during synthesis (well under a second
 * here), so bundling stays on; each stage is synthesized once per file and its Template shared by the tests.
 */
function synth(stage: string): Template {
  const app = new App({ context: { ...cdkContext } });
  return Template.fromStack(new CoreStack(app, `Gamekeep-${stage}`, { stage }));
}

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

/** The one resource of `type` whose properties include `props`, as [logicalId, resource]. */
function only(template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

const ref = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** The command queue (the one with a redrive policy) and its dead-letter queue, as logical ids. */
function queues(template: Template): { queueId: string; queue: Resource; dlqId: string } {
  const [queueId, queue] = only(template, 'AWS::SQS::Queue', { RedrivePolicy: Match.anyValue() });
  const dlqId = (queue.Properties.RedrivePolicy.deadLetterTargetArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return { queueId, queue, dlqId };
}

describe('CoreStack', () => {
  let dev: Template;
  let prod: Template;

  beforeAll(() => {
    dev = synth('dev');
    prod = synth('prod');
  });

  describe('table', () => {
    it('has pk/sk string keys, on-demand billing, TTL on "ttl" and a NEW_AND_OLD_IMAGES stream', () => {
      dev.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
      dev.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
    });

    it('has point-in-time recovery enabled', () => {
      dev.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
      });
    });

    it('is encrypted (SSE-KMS) with the stack\'s own customer-managed key, which rotates', () => {
      const [keyId, key] = only(dev, 'AWS::KMS::Key');
      expect(key.Properties.EnableKeyRotation).toBe(true);
      dev.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [Match.objectLike({ Region: { Ref: 'AWS::Region' }, SSESpecification: { KMSMasterKeyId: ref(keyId) } })],
      });
    });
  });

  describe('command queue', () => {
    it('is a high-throughput FIFO queue without content-based deduplication', () => {
      dev.hasResourceProperties('AWS::SQS::Queue', {
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        SqsManagedSseEnabled: true,
      });
    });

    it('redrives to a FIFO dead-letter queue after 5 receives; the DLQ keeps messages 14 days', () => {
      const { queue, dlqId } = queues(dev);
      expect(queue.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: ref(dlqId), maxReceiveCount: 5 });
      const dlq = dev.toJSON().Resources[dlqId] as Resource;
      expect(dlq.Type).toBe('AWS::SQS::Queue');
      expect(dlq.Properties).toMatchObject({ FifoQueue: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    });

    it('has a visibility timeout of at least 6x the processor timeout', () => {
      const { queue } = queues(dev);
      const [, fn] = only(dev, 'AWS::Lambda::Function');
      expect(typeof fn.Properties.Timeout).toBe('number');
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout);
    });

    it('denies every request without TLS, on both queues', () => {
      dev.resourcePropertiesCountIs(
        'AWS::SQS::QueuePolicy',
        {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        },
        2,
      );
    });
  });

  describe('command processor', () => {
    it('runs on nodejs22.x / arm64 with 30 s and 1024 MB, and receives the table and queue names', () => {
      const { queueId, dlqId } = queues(dev);
      const [tableId] = only(dev, 'AWS::DynamoDB::GlobalTable');
      dev.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: 30,
        MemorySize: 1024,
        Environment: {
          Variables: Match.objectLike({
            GAMEKEEP_TABLE: { Ref: tableId },
            GAMEKEEP_QUEUE_URL: { Ref: queueId },
            GAMEKEEP_DLQ_URL: { Ref: dlqId },
            GAMEKEEP_COMMAND_RECORD_DAYS: Match.stringLikeRegexp('^\\d+$'),
            POWERTOOLS_METRICS_NAMESPACE: 'Gamekeep',
            POWERTOOLS_SERVICE_NAME: Match.anyValue(),
          }),
        },
      });
    });

    it('consumes the command queue in batches of 10 with ReportBatchItemFailures', () => {
      const { queueId } = queues(dev);
      dev.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: ref(queueId),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 50 },
      });
    });

    it('may use the table key, send to the DLQ and consume (not send to) the command queue', () => {
      const [keyId] = only(dev, 'AWS::KMS::Key');
      const { queueId, dlqId } = queues(dev);
      const [, policy] = only(dev, 'AWS::IAM::Policy');
      const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
      const actionsOn = (logicalId: string) =>
        statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(ref(logicalId))).flatMap((s) => [s.Action].flat());

      expect(actionsOn(keyId)).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']));
      expect(actionsOn(dlqId)).toContain('sqs:SendMessage');
      expect(actionsOn(queueId)).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
      expect(actionsOn(queueId)).not.toContain('sqs:SendMessage');
    });
  });

  it('outputs the table name and both queue URLs', () => {
    expect(Object.keys(dev.findOutputs('*')).sort()).toEqual(['CommandDeadLetterQueueUrl', 'CommandQueueUrl', 'TableName']);
  });

  describe('stage', () => {
    it('prod protects the table from deletion and retains the table and its key', () => {
      const [, table] = only(prod, 'AWS::DynamoDB::GlobalTable');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      const [, key] = only(prod, 'AWS::KMS::Key');
      expect(key.DeletionPolicy).toBe('Retain');
    });

    it('dev neither protects nor retains the table or its key', () => {
      const [, table] = only(dev, 'AWS::DynamoDB::GlobalTable');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).not.toBe(true);
      expect(table.DeletionPolicy).toBe('Delete');
      const [, key] = only(dev, 'AWS::KMS::Key');
      expect(key.DeletionPolicy).toBe('Delete');
    });
  });
});
