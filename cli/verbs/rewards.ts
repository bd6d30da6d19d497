import { type Command, Option } from 'commander';
import { isoDateSchema } from '../../shared/http/schemas.js';
import type { RunResult } from '../../shared/rewards/dailyRewards.js';
import { accepted } from '../api.js';
import { verb } from '../context.js';
import { CliFailure, usage } from '../output.js';
import { progress } from '../progress.js';

/** Each call works for up to 25 s: eight in a row without progress are minutes in which no grant got an outcome. */
const CALLS_WITHOUT_PROGRESS = 8;

/**
 * `gamekeep rewards run [--date]`: POST /v1/admin/rewards/runs until the day is done (every grant has an outcome),
 * as `npm run reward` does. It gives up (exit 1, resumable: a run continues at its checkpoint) after calls in a
 * row that bring no grant an outcome, which means the command pipeline is not running.
 */
export function rewardVerbs(program: Command): void {
  const rewards = program.command('rewards').description('daily rewards');
  rewards
    .command('run')
    .description('run (or resume) the daily reward run of a day until every grant has an outcome')
    .addOption(
      new Option('--date <YYYY-MM-DD>', 'the day (UTC)').default(new Date().toISOString().slice(0, 10), 'today, UTC'),
    )
    .action(
      verb(async (ctx, options: { date: string }) => {
        if (!isoDateSchema.safeParse(options.date).success)
          throw usage(`--date must be a date as YYYY-MM-DD, got '${options.date}'`);
        const bar = progress(ctx.out, `rewards ${options.date}: confirmed`);
        const calls: RunResult[] = [];
        let sent = 0;
        let confirmed = 0;
        let idle = 0;
        let pending: number | undefined;
        try {
          for (;;) {
            const result = accepted(
              await ctx.api().request('POST', '/v1/admin/rewards/runs', { body: { date: options.date } }),
              200,
              202,
            ) as RunResult;
            calls.push(result);
            sent += result.sent;
            confirmed += result.confirmed;
            bar.update(confirmed, Math.max(sent, confirmed + result.pending));
            if (result.status === 'done') break;
            const progressed =
              result.sent > 0 || result.confirmed > 0 || (pending !== undefined && result.pending < pending);
            idle = progressed ? 0 : idle + 1;
            pending = result.pending;
            if (idle >= CALLS_WITHOUT_PROGRESS)
              throw new CliFailure(
                `${result.pending} grants still have no outcome after ${idle} calls without progress: is the command pipeline running? Run again to resume.`,
              );
          }
        } finally {
          bar.stop();
        }
        const summary = {
          date: options.date,
          status: 'done',
          calls: calls.length,
          sent,
          confirmed,
          last: calls.at(-1),
        };
        ctx.out.result(
          summary,
          () =>
            `rewards of ${options.date} done: ${sent} grants sent and ${confirmed} confirmed in ${calls.length} call${calls.length === 1 ? '' : 's'}`,
        );
      }),
    );
}
