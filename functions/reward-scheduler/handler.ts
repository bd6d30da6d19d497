import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient, sqsClient } from '../../shared/clients.js';
import { invokeSelfAsync } from '../../shared/selfInvocation.js';
import type { Clients } from '../../shared/gamekeep.js';
import { CommandQueue } from '../../shared/messaging/commandQueue.js';
import { isoDateSchema } from '../../shared/http/schemas.js';
import { runDailyRewards, type RunOptions, type RunResult } from '../../shared/rewards/dailyRewards.js';

/** An EventBridge scheduled event (`time`), or a continuation / manual run naming its date. */
export type RewardSchedulerInput = { readonly time?: string; readonly date?: string };

export interface RewardSchedulerClients extends Clients, RunOptions {
  /** Re-invokes this function asynchronously with `{date}` when the time budget runs low. */
  readonly continueRun?: (input: { date: string }, context: Context) => Promise<void>;
}

/**
 * The reward scheduler: grants the day's reward to every player, resumable, continuing itself until done (every
 * grant has an outcome: a grant the queue lost is sent again).
 */
export function createRewardSchedulerHandler(config: Config, clients: RewardSchedulerClients = {}) {
  const logger = new Logger({ serviceName: 'reward-scheduler' });
  if (!config.queueUrl) throw new Error('GAMEKEEP_QUEUE_URL is not set');
  // More batches in flight than the API's producer: a run sends a whole Scan page at once.
  const deps = {
    db: clients.db ?? dynamoDbClient(config),
    tableName: config.tableName,
    queue: new CommandQueue(clients.sqs ?? sqsClient(config), config.queueUrl, 16),
    now: () => new Date(),
  };
  const continueRun = clients.continueRun ?? invokeSelfAsync;

  return middy(async (event: RewardSchedulerInput, context: Context): Promise<RunResult> => {
    const date = isoDateSchema.parse(event.date ?? (event.time ?? new Date().toISOString()).slice(0, 10));
    const result = await runDailyRewards(deps, date, () => context.getRemainingTimeInMillis(), clients);
    logger.info('reward run', { ...result });
    if (result.status === 'continue') await continueRun({ date }, context);
    return result;
  }).use(injectLambdaContext(logger));
}
