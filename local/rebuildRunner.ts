import type { Config } from '../shared/config.js';
import {
  createLeaderboardRebuildHandler,
  type LeaderboardRebuildInput,
} from '../functions/leaderboard-rebuild/handler.js';
import { lambdaContext } from './lambdaContext.js';

/**
 * The local stand-in for invoking the rebuild function asynchronously: the same handler, run in this process in
 * the background, continuing itself as the function does on AWS (`npm start`, the API harness).
 */
export function localRebuildRunner(config: Config): (input: { resume?: boolean }) => Promise<void> {
  const run = (input: LeaderboardRebuildInput): void => {
    void handler(input, lambdaContext('leaderboard-rebuild', 15 * 60_000)).catch((error: unknown) =>
      console.error('[rebuild]', error),
    );
  };
  const handler = createLeaderboardRebuildHandler(config, { continueRun: async (next) => run(next) });
  return async (input) => run(input.resume ? { resume: true } : {});
}
