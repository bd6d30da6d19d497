/**
 * `npm run rebuild -- leaderboards`: rebuilds the leaderboards of a running stack (`npm start`, or AWS with the
 * environment of shared/config.ts) from its table, through the same handler as the leaderboard-rebuild Lambda.
 */
import { loadConfig } from '../shared/config.js';
import { lambdaContext } from '../local/lambdaContext.js';
import { createLeaderboardRebuildHandler } from '../functions/leaderboard-rebuild/handler.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

async function main(): Promise<number> {
  const what = process.argv[2];
  if (what !== 'leaderboards') {
    console.error('usage: npm run rebuild -- leaderboards');
    return 2;
  }
  const started = Date.now();
  const report = await createLeaderboardRebuildHandler(loadConfig())(undefined as never, lambdaContext('leaderboard-rebuild'));
  console.log(`rebuilt the leaderboards of ${report.players} players (${report.periods} period boards, ${report.rereads} re-read, ${report.removed} stale entries removed) in ${Date.now() - started} ms`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
