/**
 * `gamekeep`: the operators' command line. It talks only to Gamekeep's HTTP API (STYLE.md §8): the local stack
 * `npm start` runs (its .gamekeep/stack.json), or a deployed stage's internal API with SigV4 (`--stage`,
 * `--api-url`, `--region`). `restore` and `prune` alone have no route: they run the backup library with the operator's
 * own credentials, as the backup scripts do (cli/verbs/backups.ts; `npm run restore` and `npm run prune` are these verbs). Exit codes: 0 ok, 1 failure, 2 usage. `--json`
 * prints machine-readable answers.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliFailure, EXIT, output, type Io, processIo } from './output.js';
import { backupVerbs } from './verbs/backups.js';
import { checkVerbs } from './verbs/checks.js';
import { deadLetterVerbs } from './verbs/deadLetters.js';
import { playerVerbs } from './verbs/players.js';
import { rebuildVerbs } from './verbs/rebuild.js';
import { recoveryVerbs } from './verbs/recovery.js';
import { rewardVerbs } from './verbs/rewards.js';

export function program(): Command {
  const cli = new Command('gamekeep')
    .description(
      "Gamekeep's operators' tool: dead letters, rewards, players, commands, recovery, checks, backups and drills (docs/operations.md, docs/recovery.md)",
    )
    .exitOverride()
    .showHelpAfterError('(gamekeep --help for usage)')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .addOption(new Option('--stage <stage>', 'a deployed stage (with --api-url)').choices(['dev', 'prod']))
    .option('--api-url <url>', "the stage's internal API (the InternalApiUrl output); requests are SigV4-signed")
    .option('--region <region>', 'AWS region for signing (default: from the URL, else AWS_REGION)');
  deadLetterVerbs(cli);
  rewardVerbs(cli);
  playerVerbs(cli);
  recoveryVerbs(cli);
  checkVerbs(cli);
  rebuildVerbs(cli);
  backupVerbs(cli);
  return cli;
}

/** Runs one command line (without `node` and the script); resolves to the exit code. */
export async function main(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  try {
    await program().parseAsync([...args], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its message (and help) already.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    const failure =
      error instanceof CliFailure ? error : new CliFailure(error instanceof Error ? error.message : String(error));
    output(json, io).failure(failure);
    return failure.exitCode;
  }
}

export async function run(): Promise<never> {
  process.exit(await main(process.argv.slice(2)));
}
