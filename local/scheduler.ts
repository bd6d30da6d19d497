import type { Context } from 'aws-lambda';
import type { RewardSchedulerInput } from '../functions/reward-scheduler/handler.js';
import type { RunResult } from '../shared/rewards/dailyRewards.js';
import { lambdaContext } from './lambdaContext.js';

export type RewardSchedulerHandler = (event: RewardSchedulerInput, context: Context) => Promise<RunResult>;

/** Lambda's maximum duration: what one invocation of the scheduler may use on AWS. */
const INVOCATION_MS = 15 * 60_000;

/**
 * Invokes the reward scheduler until the day is done, as the function's own asynchronous re-invocations do on AWS
 * (locally the handler is created with a no-op `continueRun` and this loop continues it). Done means every grant
 * has an outcome, so it needs the command pipeline running; `stopped` ends the loop after the current invocation.
 */
export async function runRewardsToCompletion(
  handler: RewardSchedulerHandler,
  date: string,
  invocationMs = INVOCATION_MS,
  stopped: () => boolean = () => false,
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (;;) {
    const result = await handler({ date }, lambdaContext('gamekeep-reward-scheduler', invocationMs));
    results.push(result);
    if (result.status === 'done' || stopped()) return results;
  }
}

export interface LocalScheduler {
  /** When the next run fires. */
  readonly next: () => Date;
  /** No further runs; a run in progress ends after its current invocation. */
  stop(): void;
}

/** The EventBridge rule of the stack, locally: once a day at `hourUtc`, the run of that day. */
export function startLocalScheduler(
  handler: RewardSchedulerHandler,
  options: { hourUtc?: number; onResult?: (r: RunResult[]) => void; onError?: (e: unknown) => void } = {},
): LocalScheduler {
  const hour = options.hourUtc ?? 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let nextAt = nextRun(new Date(), hour);
  const arm = () => {
    if (stopped) return;
    nextAt = nextRun(new Date(), hour);
    // Timers cap at ~24.8 days; a day is far below that.
    timer = setTimeout(() => {
      const date = new Date().toISOString().slice(0, 10);
      // A run in progress when the stack stops (and its pipeline with it) could never confirm: it ends instead,
      // and its checkpoint lets the next run resume.
      runRewardsToCompletion(handler, date, INVOCATION_MS, () => stopped)
        .then((r) => options.onResult?.(r))
        .catch((e: unknown) => options.onError?.(e))
        .finally(arm);
    }, nextAt.getTime() - Date.now());
    timer.unref();
  };
  arm();
  return {
    next: () => nextAt,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function nextRun(now: Date, hourUtc: number): Date {
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hourUtc));
  if (at.getTime() <= now.getTime()) at.setUTCDate(at.getUTCDate() + 1);
  return at;
}
