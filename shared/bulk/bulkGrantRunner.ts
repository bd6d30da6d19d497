import type { Context } from 'aws-lambda';
import { invokeAsync } from '../selfInvocation.js';
import type { FanOutOptions } from '../fanout/fanOut.js';
import { runBulkGrant, type BulkGrantDeps, type BulkGrantRun } from './bulkGrants.js';

/** The event the admin API's function invokes itself with to go on with a bulk grant on AWS. */
export interface BulkGrantContinuation {
  readonly continueBulkGrant: string;
}

export const isBulkGrantContinuation = (event: unknown): event is BulkGrantContinuation =>
  typeof event === 'object' && event !== null && typeof (event as BulkGrantContinuation).continueBulkGrant === 'string';

/** Work one in-process step may do before it checkpoints and goes on (locally, where nothing times out). */
const LOCAL_STEP_MS = 60_000;

/**
 * How a bulk grant runs in the background: on AWS the function invokes itself asynchronously (by name) and each
 * invocation works until its time runs low, then invokes itself again; locally a loop in this process does the
 * same steps. Either way it resumes at its checkpoint, so a crash or a second start loses and repeats nothing.
 */
export function bulkGrantStarter(
  deps: BulkGrantDeps,
  options: FanOutOptions & { functionName?: string; onError: (bulkGrantId: string, error: unknown) => void },
): (bulkGrantId: string) => Promise<void> {
  const { functionName, onError, ...fanOut } = options;
  if (functionName)
    return (bulkGrantId) =>
      invokeAsync(functionName, { continueBulkGrant: bulkGrantId } satisfies BulkGrantContinuation);
  const running = new Set<string>();
  return async (bulkGrantId) => {
    if (running.has(bulkGrantId)) return;
    running.add(bulkGrantId);
    void (async () => {
      for (;;) {
        const started = Date.now();
        const step = await runBulkGrant(deps, bulkGrantId, () => LOCAL_STEP_MS - (Date.now() - started), {
          reserveMs: 1_000,
          ...fanOut,
        });
        if (step.status === 'done') return;
      }
    })()
      .catch((error: unknown) => onError(bulkGrantId, error))
      .finally(() => running.delete(bulkGrantId));
  };
}

/** One invocation's part of a bulk grant on AWS, invoking the function again while it is not done. */
export async function continueBulkGrant(
  deps: BulkGrantDeps,
  input: BulkGrantContinuation,
  context: Pick<Context, 'getRemainingTimeInMillis' | 'functionName'>,
  options: FanOutOptions = {},
): Promise<BulkGrantRun> {
  const step = await runBulkGrant(deps, input.continueBulkGrant, () => context.getRemainingTimeInMillis(), options);
  if (step.status === 'continue') await invokeAsync(context.functionName, input);
  return step;
}
