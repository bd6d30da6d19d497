/**
 * `npm run rebuild -- leaderboards [--resume]`: rebuilds the read side (every cached view and leaderboard) from the
 * table, on the local stack `npm start` runs (endpoints, table and Redis from its .gamekeep/stack.json, nothing to
 * set by hand) or, without one, on the stack the environment of shared/config.ts names. It goes through the
 * leaderboard-rebuild Lambda's handler and invokes it again while the run says `continue`, as the function
 * continues itself on AWS. Each call starts a new run; `--resume` resumes one that was interrupted (killed) from its
 * checkpoint instead.
 */
import { lambdaContext } from '../local/lambdaContext.js';
import {
  createLeaderboardRebuildHandler,
  type LeaderboardRebuildInput,
} from '../functions/leaderboard-rebuild/handler.js';
import type { RebuildReport } from '../shared/readside/rebuild.js';
import { STALE_STACK_HINT, targetStack, unreachable } from './localSecrets.js';
import { parseScriptArgs, usageError } from './commandLine.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

/** What one invocation of the Lambda may take at most. */
const INVOCATION_MS = 15 * 60_000;

async function main(): Promise<number> {
  const usage = 'usage: npm run rebuild -- leaderboards [--resume]';
  const { values, positionals } = parseScriptArgs(usage, {
    options: { resume: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'leaderboards') usageError(usage);
  const { config, local } = targetStack();
  const handler = createLeaderboardRebuildHandler(config, { continueRun: async () => undefined });
  const started = Date.now();
  let input: LeaderboardRebuildInput = values.resume ? { resume: true } : {};
  try {
    for (let invocation = 1; ; invocation++) {
      const report: RebuildReport = await handler(input, lambdaContext('leaderboard-rebuild', INVOCATION_MS));
      if (report.status === 'continue') {
        input = { runId: report.runId };
        continue;
      }
      const ms = Date.now() - started;
      console.log(
        `rebuilt the read side of ${report.players} players${local ? ' (local stack)' : ''}: ${report.views} cached views written, ${report.periods} period boards, ` +
          `${report.rereads} re-read, ${report.removed} stale entries removed, in ${ms} ms (${Math.round((report.players * 1000) / Math.max(1, ms))} players/s; run ${report.runId}, ${invocation} invocation(s))`,
      );
      return 0;
    }
  } catch (error) {
    if (local && unreachable(error)) {
      console.error(STALE_STACK_HINT);
      return 1;
    }
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
