import { createInterface } from 'node:readline/promises';
import { type Command, Option } from 'commander';
import type { z } from 'zod';
import {
  type diffAnswer,
  type historyAnswer,
  historyQuery,
  playerIdSchema,
  quarantineBody,
  repairBody,
  rollbackBody,
  type rollbackPreviewAnswer,
} from '../../shared/http/schemas.js';
import { accepted } from '../api.js';
import { type VerbContext, verb } from '../context.js';
import { CliFailure, columns, usage, wholeNumber } from '../output.js';
import { type CommandOutcome, waitForOutcome } from './players.js';

type RollbackPreview = z.infer<typeof rollbackPreviewAnswer>;
type EntityRollback = RollbackPreview['entity'];

const MAX_VERSION = 9_999_999_999;
/** How long a bare `--wait` waits for a command's outcome. */
export const DEFAULT_WAIT_SECONDS = 60;

/**
 * `gamekeep history|diff|rollback|quarantine|release|repair`: recovery through the operators' routes
 * (`/v1/admin/players/{playerId}/…`, docs/recovery.md). A rollback always shows its impact analysis first (a dry
 * run: nothing is sent) and asks before it sends, unless --yes; without a terminal to ask at, it stops there.
 */
export function recoveryVerbs(program: Command): void {
  program
    .command('history <playerId>')
    .description("a player's state at a version (--at-version) or as of a time (--at-time)")
    .addOption(
      new Option('--at-version <n>', 'right after this version (0: before the player existed)').argParser(
        wholeNumber('--at-version', 0, MAX_VERSION),
      ),
    )
    .option('--at-time <iso>', 'the last version committed at or before this time (ISO 8601 with an offset)')
    .action(
      verb(async (ctx, playerId: string, o: { atVersion?: number; atTime?: string }) => {
        checkPlayerId(playerId);
        const query = exactlyOne({ '--at-version': o.atVersion, '--at-time': o.atTime });
        const asked = query === '--at-version' ? { atVersion: o.atVersion } : { atTime: o.atTime };
        validated(historyQuery, { ...asked, atVersion: asked.atVersion?.toString() }, { atTime: '--at-time' });
        const past = accepted(
          await ctx.api().request('GET', `${playerPath(playerId)}/history`, { query: asked }),
          200,
        ) as z.infer<typeof historyAnswer>;
        ctx.out.result(past, () => [
          `player ${playerId} at version ${past.version}${
            past.committedAt ? `, committed ${past.committedAt}` : ' (before it was created)'
          }${o.atTime ? ` (the last version at or before ${o.atTime})` : ''}`,
          ...columns(
            Object.entries(past.state).map(([k, v]) => [
              `  ${k}`,
              typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v),
            ]),
          ),
        ]);
      }),
    );

  program
    .command('diff <playerId>')
    .description('every field that changed from one version to another')
    .addOption(new Option('--from <n>', 'the version before').argParser(wholeNumber('--from', 0, MAX_VERSION)))
    .addOption(new Option('--to <n>', 'the version after').argParser(wholeNumber('--to', 0, MAX_VERSION)))
    .action(
      verb(async (ctx, playerId: string, o: { from?: number; to?: number }) => {
        checkPlayerId(playerId);
        if (o.from === undefined || o.to === undefined) throw usage('diff needs --from <version> and --to <version>');
        const diff = accepted(
          await ctx.api().request('GET', `${playerPath(playerId)}/diff`, { query: { from: o.from, to: o.to } }),
          200,
        ) as z.infer<typeof diffAnswer>;
        ctx.out.result(diff, () => [
          `player ${playerId} from version ${diff.from} to ${diff.to}: ${
            diff.changes.length === 0
              ? 'nothing changed'
              : `${diff.changes.length} field${diff.changes.length === 1 ? '' : 's'} changed`
          }`,
          ...diff.changes.map((c) => `  ${c.path}: ${shown(c.before)} → ${shown(c.after)}`),
        ]);
      }),
    );

  program
    .command('rollback <playerId>')
    .description('roll a player back to a version or a time: the impact analysis first, then (confirmed) the rollback')
    .addOption(
      new Option('--to-version <n>', 'back to the state right after this version').argParser(
        wholeNumber('--to-version', 1, MAX_VERSION),
      ),
    )
    .option('--to-time <iso>', 'back to the last version committed at or before this time (ISO 8601 with an offset)')
    .requiredOption('--reason <text>', 'why (recorded in the RolledBack event)')
    .requiredOption('--ticket <id>', 'the ticket it is done under (recorded)')
    .option('--include-related', 'roll back, in the same transaction, every other player the undone commands changed')
    .option(
      '--acknowledge-imbalance',
      'roll back this player alone although the undone commands changed others (recorded with the reason)',
    )
    .option('-y, --yes', 'send it without asking (the impact analysis is printed all the same)')
    .addOption(waitOption())
    .action(
      verb(
        async (
          ctx,
          playerId: string,
          o: {
            toVersion?: number;
            toTime?: string;
            reason: string;
            ticket: string;
            includeRelated?: boolean;
            acknowledgeImbalance?: boolean;
            yes?: boolean;
            wait?: number | true;
          },
        ) => {
          checkPlayerId(playerId);
          const target = exactlyOne({ '--to-version': o.toVersion, '--to-time': o.toTime });
          const body = {
            ...(target === '--to-version' ? { toVersion: o.toVersion } : { toTime: o.toTime }),
            reason: o.reason,
            ticket: o.ticket,
            ...(o.includeRelated ? { includeRelated: true } : {}),
            ...(o.acknowledgeImbalance ? { acknowledgeImbalance: true } : {}),
          };
          validated(rollbackBody, body, { toTime: '--to-time', reason: '--reason', ticket: '--ticket' });
          const path = `${playerPath(playerId)}/rollbacks`;
          const dryRun = async () =>
            accepted(
              await ctx.api().request('POST', path, { body: { ...body, dryRun: true } }),
              200,
            ) as RollbackPreview;

          const preview = await dryRun();
          ctx.out.partial(() => previewLines(preview, o.toTime));
          if (!preview.balanced && !o.acknowledgeImbalance)
            throw new CliFailure(
              `the undone commands also changed ${preview.untouched.map((u) => u.entityId).join(', ')}: nothing was sent`,
              1,
              'ROLLBACK_BREAKS_TRADE',
              'roll them back together with --include-related, or this player alone with --acknowledge-imbalance (recorded with the reason)',
              { preview },
            );
          if (!o.yes) {
            if (!process.stdin.isTTY)
              throw new CliFailure(
                'not confirmed (no terminal to ask at, and no --yes): nothing was sent',
                1,
                'NOT_CONFIRMED',
                'to roll back after reviewing the impact analysis above: the same command with --yes',
                { preview },
              );
            if (!(await confirmed('Roll back? [y/N] ')))
              throw new CliFailure('not rolled back: nothing was sent', 1, 'NOT_CONFIRMED', undefined, { preview });
            // The person read a preview some time ago: send only what they saw.
            const now = await dryRun();
            if (impactOf(now) !== impactOf(preview))
              throw new CliFailure(
                `player ${playerId} (or a player rolled back with it) moved since the impact analysis: nothing was sent`,
                1,
                'PREVIEW_OUTDATED',
                'run the command again to review the rollback as it would be now',
                { preview, now },
              );
          }

          const sent = accepted(await ctx.api().request('POST', path, { body }), 200, 202) as CommandOutcome;
          await reportCommand(ctx, `rollback of player ${playerId}`, sent, o.wait, { preview, rollback: sent });
        },
      ),
    );

  for (const [kind, summary] of [
    ['quarantine', 'refuse every command of a player (ENTITY_QUARANTINED) until it is released'],
    ['release', 'end the quarantine of a player'],
  ] as const)
    program
      .command(`${kind} <playerId>`)
      .description(summary)
      .requiredOption('--reason <text>', 'why (recorded)')
      .requiredOption('--ticket <id>', 'the ticket it is done under (recorded)')
      .addOption(waitOption())
      .action(
        verb(async (ctx, playerId: string, o: { reason: string; ticket: string; wait?: number | true }) => {
          checkPlayerId(playerId);
          const body = { reason: o.reason, ticket: o.ticket };
          validated(quarantineBody, body, { reason: '--reason', ticket: '--ticket' });
          const sent = accepted(
            await ctx.api().request('POST', `${playerPath(playerId)}/${kind}`, { body }),
            200,
            202,
          ) as CommandOutcome;
          await reportCommand(ctx, `${kind} of player ${playerId}`, sent, o.wait, sent);
        }),
      );

  program
    .command('repair <playerId>')
    .description(
      "act on a check's operator finding: set the state to the fold of its events (its repair.command: --expected-version, --finding)",
    )
    .addOption(
      new Option('--expected-version <n>', 'the version the check saw (REPAIR_STALE if the player moved since)')
        .argParser(wholeNumber('--expected-version', 1, MAX_VERSION))
        .makeOptionMandatory(),
    )
    .requiredOption('--finding <text>', "the check's finding the repair answers (its repair.command.finding)")
    .requiredOption('--reason <text>', 'why (recorded in the StateRepaired event)')
    .requiredOption('--ticket <id>', 'the ticket it is done under (recorded)')
    .addOption(waitOption())
    .action(
      verb(
        async (
          ctx,
          playerId: string,
          o: { expectedVersion: number; finding: string; reason: string; ticket: string; wait?: number | true },
        ) => {
          checkPlayerId(playerId);
          const body = { expectedVersion: o.expectedVersion, finding: o.finding, reason: o.reason, ticket: o.ticket };
          validated(repairBody, body, { finding: '--finding', reason: '--reason', ticket: '--ticket' });
          const sent = accepted(
            await ctx.api().request('POST', `${playerPath(playerId)}/repairs`, { body }),
            200,
            202,
          ) as CommandOutcome;
          await reportCommand(ctx, `repair of player ${playerId}`, sent, o.wait, sent);
        },
      ),
    );
}

/** `--wait [seconds]`: a bare --wait waits DEFAULT_WAIT_SECONDS. */
export function waitOption(what = 'its outcome', bare = `${DEFAULT_WAIT_SECONDS} s`): Option {
  return new Option('--wait [seconds]', `wait for ${what} (at most this long; bare: ${bare})`).argParser(
    wholeNumber('--wait', 1, 3600),
  );
}

/**
 * Prints what a command verb sent and, with --wait, its outcome; a rejection (or no outcome in time) is exit 1.
 * With --json: `answer` (the API's answers), with the outcome beside them.
 */
async function reportCommand(
  ctx: VerbContext,
  what: string,
  sent: CommandOutcome,
  wait: number | true | undefined,
  answer: object,
): Promise<void> {
  const sentLine = `${what} sent as command ${sent.commandId}`;
  if (wait === undefined) {
    ctx.out.result(answer, () => [`${sentLine}: queued`, `  its outcome: gamekeep status ${sent.commandId}`]);
    return;
  }
  const seconds = wait === true ? DEFAULT_WAIT_SECONDS : wait;
  const outcome = sent.status === 'queued' ? await waitForOutcome(ctx, sent.commandId, seconds) : sent;
  const full = { ...answer, outcome };
  const lines = () => [
    sentLine,
    outcome.status === 'applied'
      ? `  applied at version ${outcome.version}`
      : outcome.status === 'rejected'
        ? `  rejected ${outcome.code}: ${outcome.message}`
        : '  queued: no outcome yet',
  ];
  if (outcome.status === 'applied') return ctx.out.result(full, lines);
  ctx.out.partial(lines);
  if (outcome.status === 'queued')
    throw new CliFailure(
      `no outcome of the ${what} after ${seconds} s: is the command pipeline running?`,
      1,
      'STILL_QUEUED',
      `its outcome later: gamekeep status ${sent.commandId}`,
      full,
    );
  throw new CliFailure(outcome.message ?? 'the command was rejected', 1, outcome.code ?? 'REJECTED', undefined, full);
}

function previewLines(p: RollbackPreview, toTime: string | undefined): string[] {
  const e = p.entity;
  const lines = [
    `impact of rolling back ${p.entityType} ${e.entityId} from version ${e.fromVersion} to ${e.toVersion}${
      toTime ? ` (the last version at or before ${toTime})` : ''
    } (a dry run: nothing sent yet)`,
    ...entityLines(e, '  '),
  ];
  if (p.related.length > 0) {
    lines.push(`rolled back with it, in the same transaction (--include-related):`);
    for (const r of p.related) {
      lines.push(`  ${p.entityType} ${r.entityId} from version ${r.fromVersion} to ${r.toVersion}`);
      lines.push(...entityLines(r, '    '));
    }
  }
  if (p.untouched.length > 0) {
    lines.push('left as they are, although the undone commands changed them too (an imbalance):');
    for (const u of p.untouched)
      lines.push(
        `  ${p.entityType} ${u.entityId} at version${u.versions.length === 1 ? '' : 's'} ${u.versions.join(', ')}`,
      );
  }
  lines.push(
    p.balanced
      ? 'balanced: every player the undone commands changed is rolled back'
      : 'NOT balanced: the players left as they are keep what the undone commands gave them',
  );
  return lines;
}

function entityLines(r: EntityRollback, indent: string): string[] {
  const undone = columns(
    r.undone.map((u) => [
      `${indent}undoes v${u.version}`,
      u.commandType,
      `${u.source.kind}:${u.source.actor}`,
      `committed ${u.committedAt}`,
      u.related
        ? `also ${Object.entries(u.related)
            .map(([id, v]) => `${id} v${v}`)
            .join(', ')}`
        : '',
    ]),
  );
  const deltas = Object.entries(r.deltas).map(([path, d]) => `${path} ${d > 0 ? '+' : ''}${d}`);
  return [
    ...(undone.length > 0 ? undone : [`${indent}undoes nothing`]),
    `${indent}deltas: ${deltas.length > 0 ? deltas.join(', ') : 'none'}`,
  ];
}

/** What a rollback would undo, for comparing two analyses. */
function impactOf(p: RollbackPreview): string {
  const of = (r: EntityRollback) => [r.entityId, r.fromVersion, r.toVersion, r.undone.map((u) => u.commandId)];
  return JSON.stringify([of(p.entity), p.related.map(of), p.untouched]);
}

/** Asks on the terminal (the question on stderr); yes only for y or yes. Ctrl-C or Ctrl-D is no. */
async function confirmed(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.on('SIGINT', () => {
        process.stderr.write('\n');
        resolve('');
      });
      rl.on('close', () => resolve(''));
      rl.question(question).then(resolve, () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

const playerPath = (playerId: string) => `/v1/admin/players/${encodeURIComponent(playerId)}`;

function checkPlayerId(playerId: string): void {
  const parsed = playerIdSchema.safeParse(playerId);
  if (!parsed.success) throw usage(`'${playerId}' is not a player id: ${parsed.error.issues[0]?.message ?? ''}`);
}

/** The one option of a pair that was given, or a usage error. */
function exactlyOne(pair: Record<string, unknown>): string {
  const given = Object.entries(pair).filter(([, v]) => v !== undefined);
  if (given.length !== 1) throw usage(`give exactly one of ${Object.keys(pair).join(' and ')}`);
  return given[0]![0];
}

/** A body or query the route would refuse is a usage error here, naming the option (the route's own schema). */
function validated(schema: z.ZodType, value: unknown, options: Record<string, string>): void {
  const parsed = schema.safeParse(value);
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  const field = String(issue.path[0] ?? '');
  throw usage(`${options[field] ?? (field || 'the request')}: ${issue.message}`);
}

/** A value as it reads on one line: numbers and strings as JSON, objects in one line, an absent value as (none). */
function shown(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
