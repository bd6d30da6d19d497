import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient, sqsClient } from '../../shared/clients.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import { CommandQueue } from '../../shared/messaging/commandQueue.js';
import { callerOf } from '../../shared/http/caller.js';
import { operatorPolicy } from '../../shared/approvals/policy.js';
import {
  adjustBalance,
  approveRequest,
  declineRequest,
  getApprovalRequest,
  listApprovalRequests,
  type OperatorWriteDeps,
} from '../../shared/http/approvalApi.js';
import { changeItems } from '../../shared/http/itemGrantApi.js';
import {
  getBulkGrant,
  listBulkGrantPage,
  startBulkGrant,
  type BulkGrantApiDeps,
} from '../../shared/http/bulkGrantApi.js';
import { settleApproval } from '../../shared/bulk/bulkGrants.js';
import { bulkGrantStarter, continueBulkGrant, isBulkGrantContinuation } from '../../shared/bulk/bulkGrantRunner.js';
import type { FanOutOptions } from '../../shared/fanout/fanOut.js';
import { noRoute } from '../../shared/http/errors.js';
import { routeHandlers, type RouteHandler, type RouteKeyOf } from '../../shared/http/routes.js';
import httpRouterHandler from '@middy/http-router';
import { httpErrors } from '../../shared/http/middleware.js';
import {
  creditPayment,
  dismissPayment,
  getPayment,
  listOpenPayments,
  reconcilePayments,
  triggerRewardRun,
} from '../../shared/http/adminApi.js';
import { reconcileOpenPayments } from '../../shared/payments/reconciler.js';
import { discardDeadLetter, listDeadLetters, replayDeadLetter } from '../../shared/http/deadLetterApi.js';
import { DeadLetters } from '../../shared/messaging/deadLetters.js';
import { findPlayers, getPlayerForOperators } from '../../shared/http/playerLookupApi.js';
import { banPlayer, unbanPlayer } from '../../shared/http/banApi.js';
import { getAudit } from '../../shared/http/auditApi.js';
import { entityRegistry } from '../../shared/entities.js';
import {
  isolation,
  playerDiff,
  playerStateInHistory,
  repairPlayer,
  rollBackPlayer,
} from '../../shared/http/recoveryApi.js';
import { consistencyCheck, startConsistencyCheck, startReadSideRebuild } from '../../shared/http/checkApi.js';
import { checkerDeps, continueCheck } from '../../shared/checker/index.js';
import { invokeAsync } from '../../shared/selfInvocation.js';
import type { ReadSide } from '../../shared/readside/index.js';
import { runDailyRewards, type RunOptions } from '../../shared/rewards/dailyRewards.js';
import { backupStore, type BackupStore } from '../../shared/backup/backupStore.js';
import { runBackupJob, type BackupJob } from '../../shared/backup/jobs.js';
import {
  getDrillReport,
  listBackupPage,
  startBackup,
  startDrill,
  startVerification,
  type BackupApiDeps,
} from '../../shared/http/backupApi.js';

/** Longest a manual reward run works inside one request: below API Gateway's 30 s integration timeout. */
const REQUEST_BUDGET_MS = 25_000;

/** The operators' function (internal API, IAM): balance adjustments, open payments and their resolution, manual reward runs, backups and drills. */
export interface AdminApiClients extends Clients, RunOptions {
  /** The read side a check compares and repairs (locally; on AWS the checker function has its own). */
  readonly readSide?: ReadSide;
  /** Starts an opened check: by default the checker function, invoked asynchronously; locally in this process. */
  readonly runCheck?: (checkId: string) => Promise<void>;
  /** Starts a read-side rebuild: by default the rebuild function, invoked asynchronously (the local runtime gives its own). */
  readonly startRebuild?: (input: { resume?: boolean }) => Promise<void>;
  /** The backup bucket and key: by default from the config (none: the backup routes answer 503). */
  readonly backupStore?: BackupStore;
  /** Starts a backup job: by default the backup worker, invoked asynchronously; without one, in this process. */
  readonly runBackupJob?: (job: BackupJob) => Promise<void>;
  /** Starts a running bulk grant: by default this function invoking itself on AWS, a loop in this process locally. */
  readonly startBulkGrant?: (bulkGrantId: string) => Promise<void>;
  /** How bulk grants page and lease (tests make pages small). */
  readonly bulkGrants?: FanOutOptions;
}

export function createAdminApiHandler(config: Config, clients: AdminApiClients = {}) {
  const logger = new Logger({ serviceName: 'admin-api' });
  const db = clients.db ?? dynamoDbClient(config);
  const store = eventStore(config, { ...clients, db });
  const channel = { store, queue: commandQueue(config, clients), now: () => new Date() };
  const payments = { db, tableName: config.tableName, store, queue: channel.queue, now: () => new Date() };
  const rewards = {
    db,
    tableName: config.tableName,
    queue: new CommandQueue(clients.sqs ?? sqsClient(config), config.queueUrl!, 16),
    now: () => new Date(),
  };

  const deadLetters = {
    deadLetters: config.deadLetterQueueUrl
      ? new DeadLetters(clients.sqs ?? sqsClient(config), config.deadLetterQueueUrl)
      : undefined,
    queue: channel.queue,
    store,
    db,
    tableName: config.tableName,
    registry: entityRegistry(),
    now: () => new Date(),
  };

  // Work that runs inside the request (reconciliation, reward runs) stops below API Gateway's 30 s timeout.
  const budgetOf = (context: Context): (() => number) => {
    const started = Date.now();
    const budget = Math.min(REQUEST_BUDGET_MS, context.getRemainingTimeInMillis());
    return () => budget - (Date.now() - started);
  };
  const caller = (event: APIGatewayProxyEventV2) => callerOf(event, config);
  const quarantine = isolation('Quarantine');
  const checks = checkerDeps(config, db, clients.readSide);
  const startRebuild =
    clients.startRebuild ??
    (config.rebuildFunctionName
      ? (input: { resume?: boolean }) => invokeAsync(config.rebuildFunctionName!, input)
      : undefined);
  const runCheck =
    clients.runCheck ??
    (config.checkerFunctionName
      ? (checkId: string) => invokeAsync(config.checkerFunctionName!, { checkId })
      : async (checkId: string) => {
          // No checker function (the local runtime): the check runs in this process, after the answer.
          void continueCheck(checks, checkId).catch((error: unknown) =>
            logger.error('consistency check failed', { checkId, error: String(error) }),
          );
        });
  // Made on first use: a stack without a bucket (or with one but no key) answers 503 on the backup routes alone.
  let bucketAndKey: BackupStore | undefined = clients.backupStore;
  const backups: BackupApiDeps = {
    tableName: config.tableName,
    store: () => {
      bucketAndKey ??= backupStore(config);
      return bucketAndKey;
    },
    run:
      clients.runBackupJob ??
      (config.backupFunctionName
        ? (job: BackupJob) => invokeAsync(config.backupFunctionName!, job)
        : async (job: BackupJob) => {
            // No backup worker (the local runtime): the job runs in this process, after the answer.
            const deps = { config, db, registry: entityRegistry(), ...backups.store()! };
            void runBackupJob(deps, job).catch((error: unknown) =>
              logger.error('backup job failed', { job, error: String(error) }),
            );
          }),
    now: () => new Date(),
  };
  const release = isolation('Release');
  const bulkDeps = { db, tableName: config.tableName, queue: rewards.queue, now: () => new Date() };
  const startBulk =
    clients.startBulkGrant ??
    bulkGrantStarter(bulkDeps, {
      ...clients.bulkGrants,
      ...(config.lambdaFunctionName ? { functionName: config.lambdaFunctionName } : {}),
      onError: (bulkGrantId, error) => logger.error('bulk grant failed', { bulkGrantId, error: String(error) }),
    });
  const operatorWrites: OperatorWriteDeps = {
    channel,
    db,
    tableName: config.tableName,
    policy: operatorPolicy(config),
    approveBulkGrant: async (bulkGrantId, approval) => {
      await settleApproval(bulkDeps, bulkGrantId, { status: 'running', approval });
      await startBulk(bulkGrantId);
    },
    declineBulkGrant: async (bulkGrantId) => void (await settleApproval(bulkDeps, bulkGrantId, { status: 'declined' })),
  };
  const bulkGrants: BulkGrantApiDeps = { ...operatorWrites, startBulkGrant: startBulk };
  const route: Record<RouteKeyOf<'admin-api'>, RouteHandler> = {
    'POST /v1/admin/players/{playerId}/adjustments': (event) => adjustBalance(operatorWrites, event, caller(event)),
    'POST /v1/admin/players/{playerId}/items': (event) => changeItems(channel, event, caller(event)),
    'GET /v1/admin/approvals': (event) => listApprovalRequests(operatorWrites, event, caller(event)),
    'GET /v1/admin/approvals/{approvalId}': (event) => getApprovalRequest(operatorWrites, event, caller(event)),
    'POST /v1/admin/approvals/{approvalId}/approve': (event) => approveRequest(operatorWrites, event, caller(event)),
    'POST /v1/admin/approvals/{approvalId}/decline': (event) => declineRequest(operatorWrites, event, caller(event)),
    'POST /v1/admin/bulk-grants': (event) => startBulkGrant(bulkGrants, event, caller(event)),
    'GET /v1/admin/bulk-grants': (event) => listBulkGrantPage(bulkGrants, event, caller(event)),
    'GET /v1/admin/bulk-grants/{bulkGrantId}': (event) => getBulkGrant(bulkGrants, event, caller(event)),
    'GET /v1/admin/payments/unmatched': (event) => listOpenPayments(payments, 'unmatched', event, caller(event)),
    'GET /v1/admin/payments/disputed': (event) => listOpenPayments(payments, 'disputed', event, caller(event)),
    'GET /v1/admin/payments/queued': (event) => listOpenPayments(payments, 'queued', event, caller(event)),
    'GET /v1/admin/payments/{provider}/{orderId}': (event) => getPayment(payments, event, caller(event)),
    'POST /v1/admin/payments/{provider}/{orderId}/credit': (event) => creditPayment(payments, event, caller(event)),
    'POST /v1/admin/payments/{provider}/{orderId}/dismiss': (event) => dismissPayment(payments, event, caller(event)),
    'GET /v1/admin/dead-letters': (event) => listDeadLetters(deadLetters, event, caller(event)),
    'POST /v1/admin/dead-letters/{messageId}/replay': (event) => replayDeadLetter(deadLetters, event, caller(event)),
    'POST /v1/admin/dead-letters/{messageId}/discard': (event) => discardDeadLetter(deadLetters, event, caller(event)),
    // By hand an operator wants every credit without an outcome re-sent now, not after the scheduled grace.
    'POST /v1/admin/payments/reconciliations': (event, context) =>
      reconcilePayments(
        () => reconcileOpenPayments(payments, { resendAfterMs: 0, remainingMs: budgetOf(context) }),
        event,
        caller(event),
      ),
    'GET /v1/admin/players/{playerId}/history': (event) => playerStateInHistory(channel, event, caller(event)),
    'GET /v1/admin/players/{playerId}/diff': (event) => playerDiff(channel, event, caller(event)),
    'POST /v1/admin/players/{playerId}/rollbacks': (event) => rollBackPlayer(channel, event, caller(event)),
    'POST /v1/admin/players/{playerId}/quarantine': (event) => quarantine(channel, event, caller(event)),
    'POST /v1/admin/players/{playerId}/release': (event) => release(channel, event, caller(event)),
    'POST /v1/admin/players/{playerId}/repairs': (event) => repairPlayer(channel, event, caller(event)),
    'POST /v1/admin/checks': (event) => startConsistencyCheck(checks, runCheck, event, caller(event)),
    'GET /v1/admin/checks/{checkId}': (event) => consistencyCheck(checks, event, caller(event)),
    'POST /v1/admin/rebuilds': (event) => startReadSideRebuild(startRebuild, event, caller(event)),
    'POST /v1/admin/backups': (event) => startBackup(backups, event, caller(event)),
    'GET /v1/admin/backups': (event) => listBackupPage(backups, event, caller(event)),
    'POST /v1/admin/backups/{backupId}/verifications': (event) => startVerification(backups, event, caller(event)),
    'POST /v1/admin/drills': (event) => startDrill(backups, event, caller(event)),
    'GET /v1/admin/drills/{drillId}': (event) => getDrillReport(backups, event, caller(event)),
    'GET /v1/admin/players': (event) => findPlayers(channel, event, caller(event)),
    'GET /v1/admin/players/{playerId}': (event) => getPlayerForOperators(channel, event, caller(event)),
    'POST /v1/admin/players/{playerId}/ban': (event) => banPlayer(channel, event, caller(event)),
    'POST /v1/admin/players/{playerId}/unban': (event) => unbanPlayer(channel, event, caller(event)),
    'GET /v1/admin/audit': (event) =>
      getAudit({ db, store, tableName: config.tableName, now: () => new Date() }, event, caller(event)),
    // The run resumes at its checkpoint, so a 202 means "call again (or let the schedule finish it)".
    'POST /v1/admin/rewards/runs': (event, context) => {
      const remaining = budgetOf(context);
      return triggerRewardRun(
        (date) => runDailyRewards(rewards, date, remaining, { reserveMs: 5_000, ...clients }),
        event,
        caller(event),
        () => new Date(),
      );
    },
  };

  const http = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(
    httpRouterHandler({ routes: routeHandlers('admin-api', route), notFoundResponse: noRoute }),
  )
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger))
    .use(httpErrors(logger));
  // On AWS a bulk grant goes on in invocations of this function by itself ({continueBulkGrant}), not through HTTP.
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    if (!isBulkGrantContinuation(event)) return http(event, context);
    const step = await continueBulkGrant(bulkDeps, event, context, clients.bulkGrants);
    logger.info('bulk grant', { ...step });
    return { statusCode: 200, body: JSON.stringify(step) };
  };
}
