import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { EventStore } from '../../shared/persistence/eventStore.js';
import { invokeSelfAsync } from '../../shared/selfInvocation.js';
import { readSide, redisReady, type ReadSide } from '../../shared/readside/index.js';
import { checkerDeps, continueCheck, openCheck, type CheckReport } from '../../shared/checker/index.js';

/**
 * `{checkId}`: work on an opened check (the admin API's, or a continuation); `{sample?, repair?}` (the daily
 * schedule): open one. A check continues itself until done; its findings go to the log and, per class, to metrics.
 */
export type ConsistencyCheckerInput =
  | { readonly checkId: string }
  | { readonly checkId?: undefined; readonly sample?: number; readonly repair?: boolean; readonly scanPage?: number };

export interface ConsistencyCheckerClients {
  readonly db?: DynamoDBDocumentClient;
  readonly readSide?: ReadSide;
  readonly continueRun?: (input: { checkId: string }, context: Context) => Promise<void>;
  /** Time kept back from each invocation for recording and continuing (default 20 s). */
  readonly reserveMs?: number;
}

export function createConsistencyCheckerHandler(config: Config, clients: ConsistencyCheckerClients = {}) {
  const logger = new Logger({ serviceName: 'consistency-checker' });
  const metrics = new Metrics({ namespace: 'Gamekeep', serviceName: 'consistency-checker' });
  const continueRun = clients.continueRun ?? invokeSelfAsync;
  return middy(async (event: ConsistencyCheckerInput, context: Context): Promise<CheckReport> => {
    const db = clients.db ?? dynamoDbClient(config);
    const side =
      clients.readSide ??
      (config.redisUrl ? readSide(config, { store: new EventStore(db, config.tableName) }) : undefined);
    try {
      // Without Redis the table is still checked; the read side's checks are left out (and logged).
      const reachable = side && (await redisReady(side.redis, 5000)) ? side : undefined;
      if (side && !reachable) logger.warn('Redis is unreachable: the read side is not checked this time');
      const deps = checkerDeps(config, db, reachable);
      const checkId = event.checkId ?? (await openCheck(deps, { ...event, segments: 4 })).checkId;
      const reserve = clients.reserveMs ?? 20_000;
      const report = await continueCheck(deps, checkId, () => context.getRemainingTimeInMillis() - reserve);
      if (report.status !== 'done') {
        await continueRun({ checkId }, context);
        return report;
      }
      for (const [cls, count] of Object.entries(report.counts))
        metrics.addMetric(`checkFindings_${cls}`, MetricUnit.Count, count);
      metrics.addMetric('checkEntities', MetricUnit.Count, report.entitiesChecked);
      logger.info('consistency check done', {
        checkId,
        counts: report.counts,
        entities: report.entitiesChecked,
        repairs: report.repairs.length,
        findings: report.findings.slice(0, 20),
      });
      return report;
    } finally {
      if (!clients.readSide) await side?.close();
    }
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}
