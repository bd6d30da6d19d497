import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BackupSchedule } from '../constructs/backupSchedule.js';
import { BackupVault } from '../constructs/backupVault.js';
import { CommandQueues } from '../constructs/commandQueues.js';
import { GameApis } from '../constructs/gameApis.js';
import { GameTable } from '../constructs/gameTable.js';
import { OperatorAccess } from '../constructs/operatorAccess.js';
import { PipelineMonitoring } from '../constructs/pipelineMonitoring.js';
import { PlayerCache, PrivateNetwork } from '../constructs/playerCache.js';
import { PaymentReconciliation } from '../constructs/paymentReconciliation.js';
import { ConsistencyChecks } from '../constructs/consistencyChecks.js';
import { RewardSchedule } from '../constructs/rewardSchedule.js';
import { TableBackup } from '../constructs/tableBackup.js';
import type { StageSettings } from '../stage.js';
import { DAILY_REWARD_HOUR_UTC, FUNCTIONS, GameFunctions } from '../constructs/gameFunctions.js';

export interface GamekeepStackProps extends StackProps {
  readonly settings: StageSettings;
}

/**
 * One stage of Gamekeep: one stack of constructs named for what they own. One stack, not several, so that
 * (a) no CloudFormation export pins the table or the queues (an exported table cannot be swapped for a
 * PITR-restored one, see docs/operations.md), (b) a guarantee that spans resources (visibility timeout vs
 * processor timeout, a grant and its resource) changes in one atomic, roll-back-able deployment, and
 * (c) grants between functions and stateful resources never form cross-stack cycles.
 */
export class GamekeepStack extends Stack {
  readonly table: GameTable;
  readonly queues: CommandQueues;
  readonly functions: GameFunctions;
  readonly apis: GameApis;
  readonly schedule: RewardSchedule;
  readonly paymentReconciliation: PaymentReconciliation;
  readonly checks: ConsistencyChecks;
  readonly backup: TableBackup;
  readonly backupVault: BackupVault;
  readonly backupSchedule: BackupSchedule;
  readonly monitoring: PipelineMonitoring;
  readonly operators: OperatorAccess;

  constructor(scope: Construct, id: string, props: GamekeepStackProps) {
    super(scope, id, { terminationProtection: props.settings.isProd, ...props });
    const { settings } = props;
    // On every taggable resource (cost allocation, ownership). While a restored table is imported it must be
    // declared as it is (untagged), so that the deploy after the import sees the tags as a change and adds them.
    const importingTable = settings.tableRestore?.phase === 'import';
    for (const [key, value] of [
      ['project', 'gamekeep'],
      ['stage', settings.stage],
    ] as const) {
      Tags.of(this).add(key, value, importingTable ? { excludeResourceTypes: ['AWS::DynamoDB::GlobalTable'] } : {});
    }

    this.table = new GameTable(this, 'Data', settings);
    this.queues = new CommandQueues(this, 'Messaging', { consumerTimeout: FUNCTIONS.commandProcessor.timeout });
    const network = new PrivateNetwork(this, 'Network', settings);
    const cache = new PlayerCache(this, 'Cache', { settings, network });
    this.backupVault = new BackupVault(this, 'Backups', { settings });
    this.functions = new GameFunctions(this, 'Functions', {
      settings,
      table: this.table,
      queues: this.queues,
      network,
      cache,
      backupVault: this.backupVault,
    });
    const fns = this.functions.functions;
    // Operators sign in with Cognito (the console on S3 + CloudFront); the operator API takes their tokens.
    this.operators = new OperatorAccess(this, 'Operators', { settings });
    const operatorSignIn = {
      issuer: this.operators.issuer,
      audiences: [this.operators.consoleClient.userPoolClientId],
      consoleOrigin: this.operators.console.origin,
    };
    this.apis = new GameApis(this, 'Api', {
      settings,
      handlers: { api: fns.api, 'payment-webhook': fns.paymentWebhook, 'admin-api': fns.adminApi },
      operators: operatorSignIn,
    });
    // shared/http/caller.ts tells game services from operators by the role a SigV4 caller assumed.
    for (const fn of [fns.api, fns.adminApi]) {
      fn.addEnvironment('GAMEKEEP_SERVICE_ROLES', this.apis.gameServiceRole.roleName);
      fn.addEnvironment('GAMEKEEP_OPERATOR_ROLES', this.apis.operatorRole.roleName);
      fn.addEnvironment('GAMEKEEP_OPERATOR_ISSUER', operatorSignIn.issuer);
      fn.addEnvironment('GAMEKEEP_OPERATOR_AUDIENCE', operatorSignIn.audiences.join(','));
    }
    this.schedule = new RewardSchedule(this, 'Schedules', {
      rewardScheduler: fns.rewardScheduler,
      hourUtc: DAILY_REWARD_HOUR_UTC,
    });
    this.paymentReconciliation = new PaymentReconciliation(this, 'PaymentReconciliation', {
      reconciler: fns.paymentReconciler,
    });
    this.backup = new TableBackup(this, 'Backup', { settings, table: this.table, validator: fns.restoreValidator });
    this.backupSchedule = new BackupSchedule(this, 'BackupSchedule', { worker: fns.backupWorker });
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      settings,
      functions: fns,
      commandQueue: this.queues.queue,
      deadLetterQueues: {
        CommandDeadLetterQueue: this.queues.deadLetterQueue,
        ProjectorFailures: this.functions.projectorFailures,
        ArchiverFailures: this.functions.archiverFailures,
        RewardScheduleDeadLetterQueue: this.schedule.deadLetterQueue,
      },
      apis: { PublicApi: this.apis.publicApi, InternalApi: this.apis.internalApi, OperatorApi: this.apis.operatorApi },
      cacheName: cache.cache.ref,
    });

    this.checks = new ConsistencyChecks(this, 'ConsistencyChecks', {
      checker: fns.consistencyChecker,
      stage: settings.stage,
      topic: this.monitoring.topic,
    });

    const output = (name: string, value: string, description: string): CfnOutput =>
      new CfnOutput(this, name, { value, description });
    output('TableName', this.table.table.tableName, 'The DynamoDB table');
    output('CommandQueueUrl', this.queues.queue.queueUrl, 'The FIFO command queue');
    output(
      'CommandDeadLetterQueueUrl',
      this.queues.deadLetterQueue.queueUrl,
      'Its dead-letter queue (replay: docs/operations.md)',
    );
    output('PublicApiUrl', this.apis.publicStage.url, 'Players (JWT) and payment webhooks');
    output('InternalApiUrl', this.apis.internalStage.url, 'Game services and operators (SigV4)');
    output(
      'WebhookSecretsArn',
      this.functions.webhookSecrets.secretArn,
      'Payment webhook signing secrets (set by ops)',
    );
    output('LeaderboardRebuildFunction', fns.leaderboardRebuild.functionName, 'Invoke to rebuild the leaderboards');
    output('RewardSchedulerFunction', fns.rewardScheduler.functionName, 'Invoke to start a reward run by hand');
    output(
      'GameServiceRoleArn',
      this.apis.gameServiceRole.roleArn,
      'Game servers assume this role to call the internal API',
    );
    output(
      'OperatorRoleArn',
      this.apis.operatorRole.roleArn,
      'Operators assume this role to call the internal API, /v1/admin/* included',
    );
    output('AlarmTopicArn', this.monitoring.topic.topicArn, 'Subscribe on-call here');
    output('BackupVaultName', this.backup.vault.backupVaultName, 'AWS Backup vault of the table');
    output('BackupBucketName', this.backupVault.bucket.bucketName, 'Logical backups and the event archive (S3)');
    output(
      'BackupWorkerFunction',
      fns.backupWorker.functionName,
      'Invoke with a job to back up, verify, drill or prune by hand',
    );
    this.operators.deployConsole(this.apis.operatorApi.apiEndpoint);
    output('ConsoleUrl', `${this.operators.console.origin}/console/`, 'The operator console (Cognito sign-in)');
    output('OperatorUserPoolId', this.operators.userPool.userPoolId, 'Operator accounts: docs/console.md');
    output('OperatorApiUrl', this.apis.operatorApi.apiEndpoint, 'Operators in the console (Cognito JWT)');
  }
}
