import { type Command, Option } from 'commander';
import type { CheckReport } from '../../shared/checker/checkRun.js';
import { checkExitCode, checkSummary } from '../../shared/checker/summary.js';
import { checkBody } from '../../shared/http/schemas.js';
import { accepted } from '../api.js';
import { type VerbContext, verb } from '../context.js';
import { CliFailure, usage } from '../output.js';
import { progress } from '../progress.js';
import { waitOption } from './recovery.js';

const POLL_MS = 1000;
/** A running check whose report did not move for this long has most likely stopped (its function died). */
const STALLED_MS = 5 * 60_000;
const CHECK_ID = /^k[0-9a-f]{32}$/;

/**
 * `gamekeep check [checkId]`: the consistency checker through POST /v1/admin/checks (it runs on the server: the
 * checker function on AWS, in the admin API's process locally) and GET /v1/admin/checks/{checkId}. With --wait it
 * follows the report to the end, then prints the summary and exits as `npm run check` does: 0 clean (or only safe
 * findings, all repaired), 1 findings that need someone.
 */
export function checkVerbs(program: Command): void {
  program
    .command('check [checkId]')
    .description(
      'start a consistency check (every player, or --sample), or look at one by its id; --wait follows it to the end',
    )
    .addOption(
      new Option('--sample <share>', 'check a random share of the players, more than 0 and at most 1 (0.1: a tenth)'),
    )
    .option('--repair', 'repair the safe class of findings (re-project the read side, rewrite snapshots)')
    .addOption(waitOption('the check to end', 'until it ends'))
    .action(
      verb(async (ctx, checkId: string | undefined, o: { sample?: string; repair?: boolean; wait?: number | true }) => {
        let id: string;
        if (checkId !== undefined) {
          if (!CHECK_ID.test(checkId)) throw usage(`'${checkId}' is not a check id (k and 32 hex digits)`);
          if (o.sample !== undefined || o.repair)
            throw usage('--sample and --repair are for a new check, not for looking at one');
          id = checkId;
        } else {
          const body = {
            ...(o.sample !== undefined ? { sample: Number(o.sample) } : {}),
            ...(o.repair ? { repair: true } : {}),
          };
          if (o.sample !== undefined && (o.sample.trim() === '' || !checkBody.safeParse(body).success))
            throw usage(`--sample must be a share more than 0 and at most 1, like 0.1, got '${o.sample}'`);
          const started = accepted(await ctx.api().request('POST', '/v1/admin/checks', { body }), 202) as {
            checkId: string;
            status: string;
          };
          id = started.checkId;
          if (o.wait === undefined) {
            ctx.out.result(started, () => [
              `check ${id} started (${started.status})`,
              `  its report: gamekeep check ${id} (--wait to follow it to the end)`,
            ]);
            return;
          }
          ctx.out.note(`check ${id} started`);
        }
        const report = o.wait === undefined ? await reportOf(ctx, id) : await followed(ctx, id, o.wait);
        if (report.status !== 'done') {
          const lines = () => [
            `check ${id}: running; ${report.entitiesChecked} entities and ${report.claimsChecked} claims and command records checked so far`,
            `  findings so far: ${report.counts.safe} safe to repair, ${report.counts.operator} for an operator, ${report.counts.isolate} to isolate`,
            `  the rest: gamekeep check ${id} --wait`,
          ];
          if (o.wait === undefined) return ctx.out.result(report, lines);
          ctx.out.partial(lines);
          throw new CliFailure(`check ${id} is still running after ${o.wait} s`, 1, 'STILL_RUNNING', undefined, {
            ...report,
          });
        }
        const lines = () => [checkSummary(report), ...proposals(report)];
        if (checkExitCode(report) === 0) return ctx.out.result(report, lines);
        ctx.out.partial(lines);
        throw new CliFailure(
          `findings that need someone: ${report.counts.operator} for an operator, ${report.counts.isolate} to isolate${
            unrepairedSafe(report) > 0 ? `, ${unrepairedSafe(report)} safe ones not repaired (--repair)` : ''
          }`,
          1,
          'FINDINGS',
          undefined,
          { ...report },
        );
      }),
    );
}

async function reportOf(ctx: VerbContext, checkId: string): Promise<CheckReport> {
  return accepted(await ctx.api().request('GET', `/v1/admin/checks/${checkId}`), 200) as CheckReport;
}

/** Polls the report until the check is done (or `wait` seconds passed), with a bar of its Scan segments. */
async function followed(ctx: VerbContext, checkId: string, wait: number | true): Promise<CheckReport> {
  const until = wait === true ? Number.POSITIVE_INFINITY : Date.now() + wait * 1000;
  const bar = progress(ctx.out, `check ${checkId.slice(0, 9)}: segments`, '{entities} entities checked');
  let last = '';
  let movedAt = Date.now();
  try {
    for (;;) {
      const report = await reportOf(ctx, checkId);
      const cursors = Object.values(report.cursors ?? {});
      bar.update(
        report.status === 'done' ? cursors.length : cursors.filter((c) => c === '#done').length,
        Math.max(1, cursors.length),
        { entities: report.entitiesChecked },
      );
      if (report.status === 'done' || Date.now() >= until) return report;
      const seen = JSON.stringify([report.entitiesChecked, report.claimsChecked, report.cursors]);
      if (seen !== last) {
        last = seen;
        movedAt = Date.now();
      } else if (Date.now() - movedAt > STALLED_MS)
        throw new CliFailure(
          `check ${checkId} made no progress for ${STALLED_MS / 60_000} minutes: has the checker stopped?`,
          1,
          'CHECK_STALLED',
          `look again: gamekeep check ${checkId}; or start another: gamekeep check`,
        );
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar.stop();
  }
}

function unrepairedSafe(report: CheckReport): number {
  return Math.max(0, report.counts.safe - report.repairs.filter((r) => r.result === 'repaired').length);
}

/** The repairs the listed operator findings propose, as the command lines that send them. */
function proposals(report: CheckReport): string[] {
  const lines: string[] = [];
  for (const f of report.findings) {
    if (f.entityType !== 'player' || !f.entityId) continue;
    if (f.repair?.action === 'repair-state')
      lines.push(
        `  to repair ${f.entityId}: gamekeep repair ${f.entityId} --expected-version ${f.repair.command.expectedVersion} --finding ${quoted(f.repair.command.finding)} --reason "<why>" --ticket <ticket>`,
      );
    else if (f.repair?.action === 'quarantine')
      lines.push(`  to isolate ${f.entityId}: gamekeep quarantine ${f.entityId} --reason "<why>" --ticket <ticket>`);
  }
  return [...new Set(lines)];
}

/** A shell word (single quotes). */
const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;
