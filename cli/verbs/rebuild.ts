import type { Command } from 'commander';
import { accepted } from '../api.js';
import { verb } from '../context.js';

/**
 * `gamekeep rebuild [--resume]`: POST /v1/admin/rebuilds, the read side (every cached view and leaderboard)
 * rebuilt from the table by the rebuild function (in process locally), which continues itself until done.
 */
export function rebuildVerbs(program: Command): void {
  program
    .command('rebuild')
    .description('rebuild the read side (cached views, every leaderboard) from the table; it runs on the server')
    .option('--resume', 'resume the run an earlier rebuild left unfinished instead of starting a new one')
    .action(
      verb(async (ctx, o: { resume?: boolean }) => {
        const started = accepted(
          await ctx.api().request('POST', '/v1/admin/rebuilds', { body: o.resume ? { resume: true } : {} }),
          202,
        ) as { status: string; resume: boolean };
        ctx.out.result(started, () => [
          `read-side rebuild ${started.resume ? 'resumed' : 'started'} on the server (its progress is in the rebuild function's log)`,
        ]);
      }),
    );
}
