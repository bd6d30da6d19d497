import { existsSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes, routeKey } from '../../shared/http/routes.js';
import { BACKUP_TIERS } from '../../lib/constructs/tableBackup.js';
import { FUNCTIONS, missingEntries, type FunctionName } from '../../lib/constructs/gameFunctions.js';
import { all, arnOf, logicalIdOf, only, synthStage, type Resource, type SynthesizedStage } from './synthStage.js';

const COPY_VAULT = 'arn:aws:backup:eu-west-1:123456789012:backup-vault:gamekeep-prod-copy';
const NAMES = Object.keys(FUNCTIONS) as FunctionName[];

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, any> };
const actionsOf = (s: Statement): string[] => [s.Action].flat();
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
/** Whether a statement names `resource` (alone or among others). */
const covers = (s: Statement, resource: unknown): boolean => [s.Resource].flat().some((r) => same(r, resource));

describe('GamekeepStack', () => {
  let dev: SynthesizedStage;
  let prod: SynthesizedStage;
  let t: Template; // dev
  let ids: { table: string; key: string; queue: string; dlq: string; projectorFailures: string };
  const fnId = (s: SynthesizedStage, name: FunctionName): string => logicalIdOf(s.stack.functions.functions[name]);
  const roleId = (s: SynthesizedStage, name: FunctionName): string =>
    logicalIdOf(s.stack.functions.functions[name].role!);
  const fn = (name: FunctionName): Resource => t.toJSON().Resources[fnId(dev, name)] as Resource;
  /** Every statement of every policy attached to the function's role. */
  const statements = (name: FunctionName): Statement[] => {
    const role = roleId(dev, name);
    return all(t, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => same(r, { Ref: role })))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
  };
  /** Actions allowed on `resource` (statements may list several resources: policies are minimized). */
  const actionsOn = (name: FunctionName, resource: unknown): string[] =>
    statements(name)
      .filter((s) => s.Effect === 'Allow' && covers(s, resource))
      .flatMap(actionsOf);

  beforeAll(() => {
    dev = synthStage('dev');
    prod = synthStage('prod', { backupCopyVaultArn: COPY_VAULT, alarmEmail: 'oncall@example.com' });
    t = dev.template;
    const id = logicalIdOf;
    ids = {
      table: id(dev.stack.table.table),
      key: id(dev.stack.table.key),
      queue: id(dev.stack.queues.queue),
      dlq: id(dev.stack.queues.deadLetterQueue),
      projectorFailures: id(dev.stack.functions.projectorFailures),
    };
  });

  it('synthesizes env-agnostic, without lookups', () => {
    expect(dev.stack.resolve(dev.stack.account)).toEqual({ Ref: 'AWS::AccountId' });
    const assembly = dev.app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });

  describe('table', () => {
    it('keeps the logical ids of the first deployment (the table, its key and the queues are never replaced)', () => {
      expect(ids).toMatchObject({
        table: 'TableCD117FA1',
        key: 'TableKeyF581D96F',
        queue: 'CommandQueue811FAE69',
        dlq: 'CommandDeadLetterQueue4E581A99',
      });
    });

    it('has pk/sk string keys, on-demand billing, TTL on "ttl" and a NEW_AND_OLD_IMAGES stream', () => {
      t.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
      t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
    });

    it('has the sparse entity index (entityShard / entityId, keys only) through which players are listed', () => {
      t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'entityShard', AttributeType: 'S' },
          { AttributeName: 'entityId', AttributeType: 'S' },
        ]),
        // Beside it, the audit's indexes (issue 13; test/infra/gameTable.test.ts).
        GlobalSecondaryIndexes: Match.arrayWith([
          {
            IndexName: 'entities',
            KeySchema: [
              { AttributeName: 'entityShard', KeyType: 'HASH' },
              { AttributeName: 'entityId', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ]),
      });
    });

    it('carries the project and stage tags (a restored table gets them back from the stack)', () => {
      t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        Replicas: [
          Match.objectLike({
            Tags: Match.arrayWith([
              { Key: 'project', Value: 'gamekeep' },
              { Key: 'stage', Value: 'dev' },
            ]),
          }),
        ],
      });
    });

    it('has point-in-time recovery enabled (35 days)', () => {
      t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 },
          }),
        ],
      });
    });

    it("is encrypted (SSE-KMS) with the stack's own customer-managed key, which rotates", () => {
      expect((t.toJSON().Resources[ids.key] as Resource).Properties.EnableKeyRotation).toBe(true);
      t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [
          Match.objectLike({ Region: { Ref: 'AWS::Region' }, SSESpecification: { KMSMasterKeyId: arnOf(ids.key) } }),
        ],
      });
    });

    it('prod protects the table from deletion, retains it and its key, and protects the stack', () => {
      const [, table] = only(prod.template, 'AWS::DynamoDB::GlobalTable');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
      expect([table.DeletionPolicy, table.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
      expect((prod.template.toJSON().Resources[ids.key] as Resource).DeletionPolicy).toBe('Retain');
      expect(prod.stack.terminationProtection).toBe(true);
    });

    it('dev neither protects nor retains the table or its key', () => {
      const [, table] = only(t, 'AWS::DynamoDB::GlobalTable');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).not.toBe(true);
      expect(table.DeletionPolicy).toBe('Delete');
      expect((t.toJSON().Resources[ids.key] as Resource).DeletionPolicy).toBe('Delete');
    });
  });

  describe('command queue', () => {
    it('is a high-throughput FIFO queue with content-independent deduplication, encrypted', () => {
      const q = (t.toJSON().Resources[ids.queue] as Resource).Properties;
      expect(q).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        SqsManagedSseEnabled: true,
      });
    });

    it('redrives to an encrypted FIFO dead-letter queue after 5 receives; the DLQ keeps messages 14 days', () => {
      const q = (t.toJSON().Resources[ids.queue] as Resource).Properties;
      expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(ids.dlq), maxReceiveCount: 5 });
      expect((t.toJSON().Resources[ids.dlq] as Resource).Properties).toMatchObject({
        FifoQueue: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        SqsManagedSseEnabled: true,
      });
    });

    it('has a visibility timeout of at least 6x the processor timeout', () => {
      const q = (t.toJSON().Resources[ids.queue] as Resource).Properties;
      expect(fn('commandProcessor').Properties.Timeout).toBeTypeOf('number');
      expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn('commandProcessor').Properties.Timeout);
    });

    it('every queue is encrypted at rest and denies requests without TLS', () => {
      for (const [, q] of all(t, 'AWS::SQS::Queue')) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
      t.resourcePropertiesCountIs(
        'AWS::SQS::QueuePolicy',
        {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        },
        all(t, 'AWS::SQS::Queue').length,
      );
    });
  });

  describe('functions', () => {
    it.each(NAMES)('%s: ESM bundle on nodejs22.x / arm64, X-Ray, Powertools configured', (name) => {
      const f = fn(name).Properties;
      expect(f).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      expect(f.Environment.Variables).toMatchObject({
        GAMEKEEP_TABLE: { Ref: ids.table },
        POWERTOOLS_SERVICE_NAME: FUNCTIONS[name].dir,
        POWERTOOLS_METRICS_NAMESPACE: 'Gamekeep',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      });
      // The asset directory holds an ES module (index.mjs), bundled from functions/<dir>/index.ts.
      const assetHash = String(f.Code.S3Key).replace(/\.zip$/, '');
      expect(existsSync(join(dev.app.outdir, `asset.${assetHash}`, 'index.mjs'))).toBe(true);
    });

    it('prod logs at INFO', () => {
      prod.template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'INFO' }) },
      });
    });

    it('only the cache clients run in the VPC, in the isolated subnets', () => {
      for (const name of NAMES) expect(fn(name).Properties.VpcConfig !== undefined, name).toBe(FUNCTIONS[name].inVpc);
      expect(NAMES.filter((n) => FUNCTIONS[n].inVpc).sort()).toEqual([
        'api',
        'consistencyChecker',
        'leaderboardRebuild',
        'projector',
      ]);
    });

    it('receive the environment shared/config.ts reads', () => {
      expect(fn('commandProcessor').Properties.Environment.Variables).toMatchObject({
        GAMEKEEP_DLQ_URL: { Ref: ids.dlq },
        GAMEKEEP_COMMAND_RECORD_DAYS: '14',
        GAMEKEEP_MAX_COMMIT_ATTEMPTS: '8',
      });
      for (const name of ['api', 'paymentWebhook', 'paymentReconciler', 'adminApi', 'rewardScheduler'] as const) {
        expect(fn(name).Properties.Environment.Variables.GAMEKEEP_QUEUE_URL, name).toEqual({ Ref: ids.queue });
      }
      for (const name of ['api', 'projector', 'leaderboardRebuild'] as const) {
        expect(Object.keys(fn(name).Properties.Environment.Variables), name).toEqual(
          expect.arrayContaining(['REDIS_URL', 'GAMEKEEP_REDIS_SECRET_ARN']),
        );
      }
      expect(fn('paymentWebhook').Properties.Environment.Variables.GAMEKEEP_WEBHOOK_SECRETS_ARN).toEqual({
        Ref: expect.any(String),
      });
      for (const name of ['rewardScheduler', 'adminApi'] as const)
        expect(fn(name).Properties.Environment.Variables.GAMEKEEP_DAILY_REWARD_HOUR, name).toBe('0');
      for (const name of ['api', 'adminApi'] as const) {
        expect(fn(name).Properties.Environment.Variables, name).toMatchObject({
          GAMEKEEP_SERVICE_ROLES: { Ref: logicalIdOf(dev.stack.apis.gameServiceRole) },
          GAMEKEEP_OPERATOR_ROLES: { Ref: logicalIdOf(dev.stack.apis.operatorRole) },
        });
      }
    });
  });

  describe('event sources', () => {
    it('the processor consumes the command queue in batches of 10 with ReportBatchItemFailures and a maximum concurrency', () => {
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fnId(dev, 'commandProcessor') },
        EventSourceArn: arnOf(ids.queue),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 5 },
      });
      prod.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        ScalingConfig: { MaximumConcurrency: 50 },
      });
    });

    it('the projector and the event archiver (issue 12) are the stream consumers; the projector: bisect, ReportBatchItemFailures, bounded retries, on-failure queue', () => {
      const streamMappings = all(t, 'AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [ids.table, 'StreamArn'] },
      });
      expect(streamMappings.map(([, m]) => m.Properties.FunctionName).sort((a, b) => (a.Ref < b.Ref ? -1 : 1))).toEqual(
        [{ Ref: fnId(dev, 'projector') }, { Ref: fnId(dev, 'eventArchiver') }].sort((a, b) => (a.Ref < b.Ref ? -1 : 1)),
      );
      const projectorMapping = streamMappings.find(
        ([, m]) => m.Properties.FunctionName.Ref === fnId(dev, 'projector'),
      )!;
      expect(projectorMapping[1].Properties).toMatchObject({
        FunctionName: { Ref: fnId(dev, 'projector') },
        StartingPosition: 'TRIM_HORIZON',
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 86400,
        DestinationConfig: { OnFailure: { Destination: arnOf(ids.projectorFailures) } },
      });
    });
  });

  describe('least privilege', () => {
    const WRITES = [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
    ];

    it('no role is granted a service-wide wildcard action', () => {
      for (const name of NAMES)
        for (const a of statements(name).flatMap(actionsOf)) expect(a, name).not.toMatch(/^[a-z0-9-]+:\*$/);
    });

    it('only the processor writes state unconditionally; other writers are held to their own key prefix', () => {
      for (const name of NAMES) {
        const writes = statements(name).filter(
          (s) => covers(s, arnOf(ids.table)) && actionsOf(s).some((a) => WRITES.includes(a)),
        );
        const leading = writes.map(
          (s) => s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined,
        );
        switch (name) {
          case 'commandProcessor':
            expect(leading).toEqual([undefined]);
            expect(
              writes
                .flatMap(actionsOf)
                .filter((a) => WRITES.includes(a))
                .sort(),
            ).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
            break;
          case 'paymentWebhook': // payment records and their open-status index
          case 'paymentReconciler':
            expect(leading).toEqual([['PAYIN#*', 'PAYMENTS#*']]);
            expect(writes.flatMap(actionsOf).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
            break;
          case 'rewardScheduler': // the run's checkpoint only
            expect(leading).toEqual([['REWARDRUN#*']]);
            break;
          case 'adminApi': // manual reward runs' checkpoints; approvals, support's daily counters and bulk grants;
            // payment resolutions; dead-letter audits; opened checks
            expect(leading).toEqual([
              ['REWARDRUN#*'],
              ['APPROVAL#*', 'APPROVALS#*', 'OPDAY#*', 'BULK#*'],
              ['PAYIN#*', 'PAYMENTS#*'],
              ['DLQ#*'],
              ['CHECK#*'],
            ]);
            break;
          case 'consistencyChecker': {
            // Its run record, and snapshots rewritten: under player partitions, a snapshot's attributes only.
            expect(leading).toEqual([['CHECK#*'], ['P#*']]);
            const snapshotWrite = writes.find(
              (w) => w.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']?.[0] === 'P#*',
            );
            expect(actionsOf(snapshotWrite!)).toEqual(['dynamodb:PutItem']);
            const attributes = snapshotWrite!.Condition!['ForAllValues:StringEquals'][
              'dynamodb:Attributes'
            ] as string[];
            expect(attributes).not.toContain('updatedAt');
            expect(attributes).not.toContain('lastCommandId');
            break;
          }
          default:
            expect(writes, `${name} must not write the table`).toEqual([]);
        }
      }
    });

    it('the API, payment webhook, admin API and scheduler only send to the command queue; only the processor consumes it', () => {
      for (const name of NAMES) {
        const onQueue = actionsOn(name, arnOf(ids.queue));
        if (name === 'commandProcessor') {
          expect(onQueue).toEqual(
            expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']),
          );
          expect(onQueue).not.toContain('sqs:SendMessage');
        } else if (['api', 'paymentWebhook', 'paymentReconciler', 'adminApi', 'rewardScheduler'].includes(name)) {
          expect(onQueue, name).toContain('sqs:SendMessage');
          expect(onQueue, name).not.toContain('sqs:ReceiveMessage');
          expect(onQueue, name).not.toContain('sqs:DeleteMessage');
        } else {
          expect(onQueue, name).toEqual([]);
        }
      }
    });

    it('no role but the consistency checker may Scan the table (its claims pass reads items in no index); players are listed by a Query of the entity index, by the reward runners, the rebuild, the projector (its heal) and the checker only', () => {
      const index = { 'Fn::Join': ['', [arnOf(ids.table), '/index/entities']] };
      for (const name of NAMES) {
        // The backup worker's full backup is a parallel Scan too (issue 12), read-only.
        if (name === 'consistencyChecker' || name === 'backupWorker')
          expect(actionsOn(name, arnOf(ids.table))).toContain('dynamodb:Scan');
        // The restore validator scans AWS Backup's restore-test tables (issue 12), never the live one.
        else if (name === 'restoreValidator') expect(actionsOn(name, arnOf(ids.table))).toEqual([]);
        else expect(statements(name).flatMap(actionsOf), name).not.toContain('dynamodb:Scan');
        const lists = ['rewardScheduler', 'adminApi', 'leaderboardRebuild', 'projector', 'consistencyChecker'].includes(
          name,
        );
        expect(actionsOn(name, index), name).toEqual(lists ? ['dynamodb:Query'] : []);
      }
    });

    it('the API reads the table (no scan) and the cache secret, nothing else', () => {
      expect(actionsOn('api', arnOf(ids.table)).sort()).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
      ]);
      expect(
        statements('api')
          .flatMap((s) => actionsOf(s))
          .filter((a) => a.startsWith('lambda:')),
      ).toEqual([]);
    });

    it('only the processor may send to the command DLQ (malformed messages)', () => {
      for (const name of NAMES)
        expect(actionsOn(name, arnOf(ids.dlq)).includes('sqs:SendMessage'), name).toBe(name === 'commandProcessor');
    });

    it('table key use goes through DynamoDB only, except the stream consumer which decrypts records itself', () => {
      for (const name of NAMES) {
        for (const s of statements(name).filter((st) => covers(st, arnOf(ids.key)))) {
          if (s.Condition === undefined) {
            expect(['projector', 'eventArchiver']).toContain(name); // the stream consumers
            expect(actionsOf(s).sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
          } else {
            expect(JSON.stringify(s.Condition.StringEquals['kms:ViaService'])).toContain('dynamodb.');
          }
        }
      }
    });

    it('lambda:InvokeFunction only by the reward scheduler, the rebuild, the projector, the checker and the restore validator, each on itself (continuation of a long run, the heal), and by the admin API on itself (bulk grants), the checker, the rebuild and the backup worker', () => {
      for (const name of NAMES) {
        const invokes = statements(name).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
        expect(
          invokes.map((s) => s.Resource),
          name,
        ).toEqual(
          ['rewardScheduler', 'leaderboardRebuild', 'projector', 'consistencyChecker', 'restoreValidator'].includes(
            name,
          )
            ? [arnOf(fnId(dev, name))]
            : // The admin API continues a bulk grant in itself, starts a check in the checker, a rebuild, and
              // backup jobs in the backup worker.
              name === 'adminApi'
              ? [
                  arnOf(fnId(dev, 'adminApi')),
                  [arnOf(fnId(dev, 'consistencyChecker')), arnOf(fnId(dev, 'leaderboardRebuild'))],
                  arnOf(fnId(dev, 'backupWorker')),
                ]
              : [],
        );
      }
    });

    it('the rebuild, in the VPC, reaches the Lambda API for its continuation through an interface endpoint open to the functions only', () => {
      const [, endpoint] = only(t, 'AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('lambda$')])] }),
      });
      expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
      const [groupId] = endpoint.Properties.SecurityGroupIds[0]['Fn::GetAtt'] as [string];
      const group = t.toJSON().Resources[groupId] as Resource;
      const ingress = [
        ...(group.Properties.SecurityGroupIngress ?? []),
        ...all(t, 'AWS::EC2::SecurityGroupIngress', { GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] } }).map(
          ([, r]) => r.Properties,
        ),
      ];
      expect(ingress).toHaveLength(1);
      expect(ingress[0]).toMatchObject({
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: fn('leaderboardRebuild').Properties.VpcConfig.SecurityGroupIds[0],
      });
    });

    it('webhook secrets are readable by the webhook only; the cache secret by the cache clients only', () => {
      const secretReaders = (secretRef: unknown) =>
        NAMES.filter((n) => actionsOn(n, secretRef).includes('secretsmanager:GetSecretValue')).sort();
      const webhookSecret = fn('paymentWebhook').Properties.Environment.Variables.GAMEKEEP_WEBHOOK_SECRETS_ARN;
      const cacheSecret = fn('api').Properties.Environment.Variables.GAMEKEEP_REDIS_SECRET_ARN;
      expect(secretReaders(webhookSecret)).toEqual(['paymentWebhook']);
      expect(secretReaders(cacheSecret)).toEqual(['api', 'consistencyChecker', 'leaderboardRebuild', 'projector']);
    });
  });

  describe('HTTP APIs', () => {
    const routesOf = (apiName: string) => {
      const [apiId] = only(t, 'AWS::ApiGatewayV2::Api', { Name: apiName });
      return new Map(
        all(t, 'AWS::ApiGatewayV2::Route', { ApiId: { Ref: apiId } }).map(([, r]) => [
          r.Properties.RouteKey as string,
          r.Properties,
        ]),
      );
    };
    /** The function a route's integration invokes, as its logical id. */
    const targetOf = (route: Record<string, any>): string => {
      const integrationId = (route.Target['Fn::Join'][1] as unknown[])
        .map((p) => (p as { Ref?: string }).Ref)
        .find(Boolean)!;
      const integration = t.toJSON().Resources[integrationId] as Resource;
      return integration.Properties.IntegrationUri['Fn::GetAtt'][0] as string;
    };
    const fnOfRoute = { api: 'api', 'payment-webhook': 'paymentWebhook', 'admin-api': 'adminApi' } as const;

    it('public: the routes of shared/http/routes.ts for players and providers; authorized ones use the JWT authorizer (issuer and audience from context)', () => {
      const [authorizerId] = only(t, 'AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        JwtConfiguration: { Issuer: 'https://auth.dev.gamekeep.example.com/', Audience: ['gamekeep-dev'] },
        IdentitySource: ['$request.header.Authorization'],
      });
      const deployed = routesOf('gamekeep-dev-public');
      const expected = routes.filter((r) => r.audience !== 'internal');
      expect([...deployed.keys()].sort()).toEqual(expected.map(routeKey).sort());
      expect([...deployed.keys()].some((k) => k.includes('/v1/admin/'))).toBe(false);
      for (const r of expected) {
        const d = deployed.get(routeKey(r))!;
        if (r.authorized)
          expect(d, routeKey(r)).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
        else expect(d.AuthorizationType ?? 'NONE', routeKey(r)).toBe('NONE');
        expect(targetOf(d), routeKey(r)).toBe(fnId(dev, fnOfRoute[r.fn]));
      }
      expect(deployed.get('POST /v1/webhooks/payments/{provider}')?.AuthorizationType ?? 'NONE').toBe('NONE');
    });

    it('internal: every authorized route, /v1/admin/* included, requires IAM (SigV4); no webhook', () => {
      const deployed = routesOf('gamekeep-dev-internal');
      const expected = routes.filter((r) => r.audience !== 'public');
      expect([...deployed.keys()].sort()).toEqual(expected.map(routeKey).sort());
      expect(expected.some((r) => r.path.startsWith('/v1/admin/'))).toBe(true);
      for (const r of expected) {
        const d = deployed.get(routeKey(r))!;
        expect(d.AuthorizationType ?? 'NONE', routeKey(r)).toBe(r.authorized ? 'AWS_IAM' : 'NONE');
        expect(targetOf(d), routeKey(r)).toBe(fnId(dev, fnOfRoute[r.fn]));
      }
    });

    it('game services may invoke the internal API except /v1/admin/*; operators may invoke all of it', () => {
      const policyOf = (roleLogicalId: string) =>
        all(t, 'AWS::IAM::Policy')
          .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => same(r, { Ref: roleLogicalId })))
          .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
          .map((st) => [st.Effect, st.Action, JSON.stringify(st.Resource).match(/\$default[^"]*/)?.[0]]);
      expect(policyOf(logicalIdOf(dev.stack.apis.gameServiceRole))).toEqual([
        ['Allow', 'execute-api:Invoke', '$default/*/v1/*'],
        ['Deny', 'execute-api:Invoke', '$default/*/v1/admin/*'],
      ]);
      expect(policyOf(logicalIdOf(dev.stack.apis.operatorRole))).toEqual([
        ['Allow', 'execute-api:Invoke', '$default/*/v1/*'],
      ]);
    });

    it('every stage (public, internal, operator) is throttled per stage and writes access logs', () => {
      const stages = all(t, 'AWS::ApiGatewayV2::Stage');
      expect(stages).toHaveLength(3);
      for (const [, s] of stages) {
        expect(s.Properties).toMatchObject({
          StageName: '$default',
          AutoDeploy: true,
          DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
        });
        expect(s.Properties.AccessLogSettings.DestinationArn).toBeDefined();
      }
      prod.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 2000, ThrottlingBurstLimit: 5000 },
      });
    });
  });

  describe('daily reward schedule', () => {
    it('runs the reward scheduler at 00:00 UTC with retries and a dead-letter queue', () => {
      const [, rule] = only(t, 'AWS::Events::Rule', { ScheduleExpression: 'cron(0 0 * * ? *)' });
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: arnOf(fnId(dev, 'rewardScheduler')),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 3600 },
          DeadLetterConfig: { Arn: arnOf(logicalIdOf(dev.stack.schedule.deadLetterQueue)) },
        }),
      ]);
    });

    it('a run that fails inside the function is retried twice by Lambda, then lands in the same dead-letter queue', () => {
      t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(dev, 'rewardScheduler') },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: arnOf(logicalIdOf(dev.stack.schedule.deadLetterQueue)) } },
      });
    });
  });

  describe('payment reconciliation', () => {
    it('runs the payment reconciler every 5 minutes, without retries (the next pass does the same work)', () => {
      const [, rule] = only(t, 'AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: arnOf(fnId(dev, 'paymentReconciler')),
          RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: 0 }),
        }),
      ]);
      t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(dev, 'paymentReconciler') },
        MaximumRetryAttempts: 0,
      });
    });
  });

  describe('backup', () => {
    it('has daily (90 d), weekly (180 d) and monthly (365 d) rules on its own vault', () => {
      const [vaultId, vault] = only(t, 'AWS::Backup::BackupVault');
      const vaultKeyId = (vault.Properties.EncryptionKeyArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(vaultKeyId).not.toBe(ids.key);
      expect((t.toJSON().Resources[vaultKeyId] as Resource).Properties.EnableKeyRotation).toBe(true);
      const [, plan] = only(t, 'AWS::Backup::BackupPlan');
      const rules = plan.Properties.BackupPlan.BackupPlanRule as Record<string, any>[];
      expect(rules.map((r) => [r.RuleName, r.Lifecycle.DeleteAfterDays, r.ScheduleExpression])).toEqual([
        ['Daily', 90, 'cron(0 3 * * ? *)'],
        ['Weekly', 180, 'cron(0 4 ? * SUN *)'],
        ['Monthly', 365, 'cron(0 5 1 * ? *)'],
      ]);
      for (const r of rules) {
        expect(r.TargetBackupVault).toEqual({ 'Fn::GetAtt': [vaultId, 'BackupVaultName'] });
        expect(r.CopyActions).toBeUndefined();
      }
      expect(BACKUP_TIERS.map((tier) => tier.keepDays)).toEqual([90, 180, 365]);
    });

    it('selects the table', () => {
      t.hasResourceProperties('AWS::Backup::BackupSelection', {
        BackupSelection: Match.objectLike({ Resources: [arnOf(ids.table)] }),
      });
    });

    it('prod retains the vault and, with backupCopyVaultArn, copies every tier to the second region with the same retention', () => {
      const [, vault] = only(prod.template, 'AWS::Backup::BackupVault');
      expect(vault.DeletionPolicy).toBe('Retain');
      const [, plan] = only(prod.template, 'AWS::Backup::BackupPlan');
      for (const r of plan.Properties.BackupPlan.BackupPlanRule as Record<string, any>[]) {
        expect(r.CopyActions).toEqual([
          { DestinationBackupVaultArn: COPY_VAULT, Lifecycle: { DeleteAfterDays: r.Lifecycle.DeleteAfterDays } },
        ]);
      }
    });
  });

  describe('network and cache', () => {
    it('has no NAT gateway and no internet gateway; endpoints for DynamoDB (gateway), SQS, Secrets Manager and Lambda', () => {
      t.resourceCountIs('AWS::EC2::NatGateway', 0);
      t.resourceCountIs('AWS::EC2::InternetGateway', 0);
      const endpoints = all(t, 'AWS::EC2::VPCEndpoint').map(([, e]) => [
        e.Properties.VpcEndpointType,
        JSON.stringify(e.Properties.ServiceName),
      ]);
      expect(endpoints.filter(([type]) => type === 'Gateway').map(([, s]) => s)).toEqual([
        expect.stringContaining('dynamodb'),
      ]);
      expect(endpoints.filter(([type]) => type === 'Interface').map(([, s]) => s)).toEqual([
        expect.stringContaining('sqs'),
        expect.stringContaining('secretsmanager'),
        expect.stringContaining('lambda'),
      ]);
    });

    it('serverless Valkey in the private subnets, behind a user group whose default user is disabled', () => {
      const [, cache] = only(t, 'AWS::ElastiCache::ServerlessCache', { Engine: 'valkey' });
      expect(cache.Properties.SubnetIds).toHaveLength(2);
      expect(cache.Properties.UserGroupId).toBeDefined();
      t.hasResourceProperties('AWS::ElastiCache::User', { UserName: 'default', AccessString: 'off -@all' });
      const [, user] = only(t, 'AWS::ElastiCache::User', { UserName: 'gamekeep' });
      // The password is a dynamic reference to Secrets Manager, never a literal in the template.
      expect(JSON.stringify(user.Properties.AuthenticationMode)).toContain('{{resolve:secretsmanager:');
    });

    it('the cache admits only the functions security group, on 6379-6380', () => {
      const fnSg = logicalIdOf(dev.stack.node.findChild('Network').node.findChild('FunctionSecurityGroup'));
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: 6379,
        ToPort: 6380,
        SourceSecurityGroupId: { 'Fn::GetAtt': [fnSg, 'GroupId'] },
      });
      for (const [, sg] of all(t, 'AWS::EC2::SecurityGroup'))
        expect(sg.Properties.SecurityGroupIngress ?? []).toEqual([]);
    });
  });

  describe('monitoring', () => {
    const alarms = () => all(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

    it('alarms when any dead-letter queue holds a message', () => {
      const dlqAlarms = alarms().filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
      expect(dlqAlarms).toHaveLength(4); // commands, projector failures, reward schedule, archiver failures (issue 12)
      for (const a of dlqAlarms)
        expect(a).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Statistic: 'Maximum',
        });
    });

    it('alarms on the stream iterator age, errors and throttles of every function, and API 5xx', () => {
      const a = alarms();
      expect(a.filter((x) => x.MetricName === 'IteratorAge')).toHaveLength(2); // projection lag, archive lag (issue 12)
      for (const metric of ['Errors', 'Throttles']) {
        const refs = a.filter((x) => x.MetricName === metric).map((x) => JSON.stringify(x.Dimensions));
        for (const name of NAMES)
          expect(
            refs.some((r) => r.includes(fnId(dev, name))),
            `${metric} ${name}`,
          ).toBe(true);
      }
      expect(a.filter((x) => x.MetricName === '5xx')).toHaveLength(3); // the public, internal and operator APIs
      for (const x of a) expect(x.AlarmActions).toHaveLength(1);
    });

    it('has a pipeline dashboard: commands in, applied, rejected, projection lag, cache hit ratio', () => {
      const [, dashboard] = only(t, 'AWS::CloudWatch::Dashboard');
      const body = JSON.stringify(dashboard.Properties.DashboardBody);
      for (const needle of [
        'NumberOfMessagesSent',
        'commands_applied',
        'commands_rejected',
        'IteratorAge',
        'projection_lag_ms',
        'player_cache_hits',
        'player_cache_misses',
      ]) {
        expect(body).toContain(needle);
      }
    });

    it('the alarm topic is encrypted and prod subscribes the on-call address', () => {
      t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      prod.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'oncall@example.com',
      });
    });
  });

  /**
   * cdk-nag's AwsSolutions pack over both stages (prod with the optional copy vault and alarm e-mail, so every
   * optional resource is checked too). bin/gamekeep.ts registers the same pack as a validation plugin, so
   * `cdk synth` fails on the same findings. cdk-nag v3 reports through CDK's policy-validation report, not
   * Annotations; `validateScope` returns that report.
   */
  describe.each(['dev', 'prod'] as const)('cdk-nag AwsSolutions, %s', (stage) => {
    const synthesized = () => (stage === 'dev' ? dev : prod);

    it('has no unacknowledged finding (errors or warnings)', () => {
      const report = new AwsSolutionsChecks().validateScope(synthesized().app);
      const findings = report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );
      expect(findings).toEqual([]);
      expect(report.success).toBe(true);
    });

    it('every acknowledgement carries a reason', () => {
      const acknowledgements = synthesized()
        .app.node.findAll()
        .flatMap((c) =>
          c.node.metadata
            .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
            .map((m) => [c.node.path, m.data] as const),
        );
      expect(acknowledgements.length).toBeGreaterThan(0);
      for (const [path, data] of acknowledgements) {
        for (const [id, reason] of Object.entries(data as Record<string, unknown>)) {
          expect(typeof reason === 'string' && reason.trim().length >= 20, `${path}: ${id} needs a reason`).toBe(true);
        }
      }
    });
  });

  it('every Lambda entry exists (synthesis bundles each one)', () => {
    expect(missingEntries()).toEqual([]);
  });
});
