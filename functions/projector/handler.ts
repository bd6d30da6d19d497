import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbClient } from '../../shared/clients.js';
import { EventStore } from '../../shared/persistence/eventStore.js';
import { invokeSelfAsync } from '../../shared/selfInvocation.js';
import { readSide, type ReadSide, type ReadSideClients } from '../../shared/readside/index.js';
import type { ProjectionReport } from '../../shared/readside/projector.js';
import { claimHeal, healEpoch, DEFAULT_LEASE_MS } from '../../shared/readside/heal.js';
import { rebuildReadSide } from '../../shared/readside/rebuild.js';

/** The asynchronous invocation that heals an epoch: the projector sends it to itself when Redis lost its data. */
export interface HealEvent {
  readonly gamekeep: 'heal';
  readonly epoch: string;
  /** The rebuild run a previous step of this heal left unfinished (its time ran out). */
  readonly runId?: string;
}

const isHealEvent = (event: unknown): event is HealEvent => (event as HealEvent | undefined)?.gamekeep === 'heal';

export interface ProjectorHooks extends Omit<ReadSideClients, 'store'> {
  readonly db?: DynamoDBDocumentClient;
  /** Sees every batch's report (the local runtime's lag figures). */
  readonly onReport?: (report: ProjectionReport) => void;
  /**
   * Starts a heal without waiting for it (an asynchronous Lambda invocation). By default the function invokes
   * itself (`InvocationType: Event`); the local runtime calls the same handler in the background.
   */
  readonly invokeHeal?: (event: HealEvent, context: Context) => Promise<void>;
  /** How long a heal holds its epoch before another may take over; renewed while it runs. */
  readonly healLeaseMs?: number;
}

/**
 * The projector Lambda: the table's DynamoDB stream as event source with ReportBatchItemFailures and
 * bisect-on-error; it fans out to the player-view cache and the leaderboards. When a batch finds the read side's
 * data lost (no dataset marker in Redis), it starts the heal: a rebuild from the table, run by this same function
 * invoked asynchronously, while the stream keeps being projected.
 */
export interface ProjectorFunction {
  (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse>;
  (event: HealEvent, context: Context): Promise<{ healed: boolean }>;
  (event: DynamoDBStreamEvent | HealEvent, context: Context): Promise<DynamoDBBatchResponse | { healed: boolean }>;
  readonly readSide: ReadSide;
}

export function createProjectorHandler(config: Config, hooks: ProjectorHooks = {}): ProjectorFunction {
  const logger = new Logger({ serviceName: 'projector' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'projector' });
  const { db: givenDb, ...clients } = hooks;
  const side = readSide(config, {
    ...clients,
    store: new EventStore(givenDb ?? dynamoDbClient(config), config.tableName),
    log: hooks.log ?? { warn: (message, details) => logger.warn(message, details ?? {}) },
  });
  const leaseMs = hooks.healLeaseMs ?? DEFAULT_LEASE_MS;
  const invokeHeal = hooks.invokeHeal ?? invokeSelfAsync;

  /** One step of a heal: the checkpointed rebuild for this invocation's time, then the next step or the epoch completed. */
  const heal = async (event: HealEvent, context: Context): Promise<boolean> => {
    const db = hooks.db ?? dynamoDbClient(config);
    try {
      const outcome = await healEpoch(event.epoch, {
        marker: side.marker,
        leaseMs,
        log: { warn: (m, d) => logger.warn(m, d ?? {}), info: (m, d) => logger.info(m, d ?? {}) },
        rebuild: async () => {
          const deps = {
            db,
            tableName: config.tableName,
            redis: side.redis,
            cache: side.cache,
            leaderboards: side.leaderboards,
            ...(config.leaderboardRetentionDays !== undefined
              ? { retentionDays: config.leaderboardRetentionDays }
              : {}),
          };
          // A new run for a new epoch (never one started before the loss), the same run for its continuations.
          const report = await rebuildReadSide(
            deps,
            () => context.getRemainingTimeInMillis(),
            event.runId ? { runId: event.runId } : {},
          );
          return { done: report.status === 'done', runId: report.runId };
        },
      });
      if (outcome.status === 'continue')
        await invokeHeal({ gamekeep: 'heal', epoch: event.epoch, runId: outcome.runId }, context);
      if (outcome.status === 'abandoned')
        logger.info('heal step ended', { epoch: event.epoch, reason: outcome.reason });
      return outcome.status === 'completed';
    } finally {
      if (!hooks.db) db.destroy();
    }
  };

  const handler = middy(
    async (
      event: DynamoDBStreamEvent | HealEvent,
      context: Context,
    ): Promise<DynamoDBBatchResponse | { healed: boolean }> => {
      if (isHealEvent(event)) {
        const started = Date.now();
        const healed = await heal(event, context);
        metrics.addMetric(
          healed ? 'read_side_heal_ms' : 'read_side_heal_abandoned_ms',
          MetricUnit.Milliseconds,
          Date.now() - started,
        );
        return { healed };
      }
      const report = await side.projector.project(event.Records);
      metrics.addMetric('records_projected', MetricUnit.Count, report.projected);
      metrics.addMetric('score_writes_skipped', MetricUnit.Count, report.scoreWritesSkipped);
      for (const ms of report.lagMs) metrics.addMetric('projection_lag_ms', MetricUnit.Milliseconds, ms);
      for (const ms of report.streamLagMs) metrics.addMetric('stream_lag_ms', MetricUnit.Milliseconds, ms);
      for (const error of report.errors)
        logger.error('projection failed; the batch is retried from the failed record', { error: String(error) });
      // Of every instance that notices a lost dataset, the one that takes the lease starts the heal.
      if (report.epoch && (await claimHeal(side.marker, report.epoch, leaseMs).catch(() => false))) {
        logger.warn('read side data lost or incomplete: healing', {
          epoch: report.epoch.id,
          opened: report.epoch.opened,
        });
        metrics.addMetric('read_side_heals', MetricUnit.Count, 1);
        await invokeHeal({ gamekeep: 'heal', epoch: report.epoch.id }, context).catch((error: unknown) =>
          logger.error('could not start the heal; retried when the lease ends', { error: String(error) }),
        );
      }
      hooks.onReport?.(report);
      return { batchItemFailures: report.batchItemFailures };
    },
  )
    .use(injectLambdaContext(logger))
    .use(publishMetrics(metrics));
  return Object.assign((event: DynamoDBStreamEvent | HealEvent, context: Context) => handler(event, context), {
    readSide: side,
  }) as ProjectorFunction;
}

/**
 * Publishes the metrics added so far after each invocation. Not Powertools' logMetrics: the local event source
 * runs concurrent batches on one handler, and an invocation whose metrics another one already published would
 * warn about publishing nothing.
 */
function publishMetrics(metrics: Metrics): MiddlewareObj {
  const publish = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
