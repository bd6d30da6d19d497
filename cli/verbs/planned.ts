import type { Command } from 'commander';
import { verb } from '../context.js';
import { CliFailure } from '../output.js';

/**
 * Verbs of issue 11 whose routes are not wired into the CLI yet (now only `rebuild`; the recovery verbs are in
 * recovery.ts and checks.ts). Each is registered (it shows in --help, marked
 * planned) and fails with exit 1 naming the route it will call. To wire one: write its group file beside this one
 * (like deadLetters.ts: `export function recoveryVerbs(program)` with `.action(verb(async (ctx, …) => …))`, calling
 * `ctx.api().request(…)` and answering with `ctx.out.result(data, () => text)`), register it in cli/gamekeep.ts,
 * and remove its entry here.
 */
export interface PlannedVerb {
  readonly name: string;
  readonly args: string;
  readonly summary: string;
  /** The route it will call (DESIGN.md §4), or what stands in for it meanwhile. */
  readonly route: string;
}

export const PLANNED_VERBS: readonly PlannedVerb[] = [
  {
    name: 'rebuild',
    args: '[what]',
    summary: 'rebuild the read side (boards, views) from the table',
    route:
      'no admin route yet; meanwhile `npm run rebuild -- leaderboards` locally, or invoke the LeaderboardRebuildFunction (docs/operations.md)',
  },
];

export function plannedVerbs(program: Command, planned: readonly PlannedVerb[] = PLANNED_VERBS): void {
  for (const p of planned)
    program
      .command(`${p.name}${p.args ? ` ${p.args}` : ''}`)
      .description(`(planned) ${p.summary}`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(
        verb(async () => {
          throw new CliFailure(`\`gamekeep ${p.name}\` is not wired yet: it will call ${p.route}`, 1, 'NOT_WIRED');
        }),
      );
}
