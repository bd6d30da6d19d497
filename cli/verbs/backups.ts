import { type Command, Option } from 'commander';
import type { z } from 'zod';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  BackupDamaged,
  inspectRestoredTable,
  pruneBackups,
  RestoreRefused,
  restoreBackup,
} from '../../shared/backup/index.js';
import type { PruneReport, RestoredTableReport, RestoreReport } from '../../shared/backup/index.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { checkerDeps, runCheck } from '../../shared/checker/index.js';
import { checkExitCode, checkSummary } from '../../shared/checker/summary.js';
import { entityRegistry } from '../../shared/entities.js';
import type {
  BackupView,
  backupPageAnswer,
  backupStartedAnswer,
  drillReportAnswer,
  verificationAnswer,
} from '../../shared/http/backupApi.js';
import { openBackupTarget, type BackupTarget } from '../../scripts/backupTarget.js';
import { stackFile, targetStack } from '../../scripts/localSecrets.js';
import { accepted } from '../api.js';
import { type GlobalOptions, type VerbContext, verb } from '../context.js';
import { CliFailure, columns, usage, wholeNumber } from '../output.js';
import { progress } from '../progress.js';
import { waitOption } from './recovery.js';

type BackupPage = z.infer<typeof backupPageAnswer>;
type BackupStarted = z.infer<typeof backupStartedAnswer>;
type Verification = z.infer<typeof verificationAnswer>;
type DrillReport = z.infer<typeof drillReportAnswer>;

const POLL_MS = 1000;
/** A bare --wait follows the work to its end, and gives up after an hour (the longest --wait takes). */
const LONGEST_WAIT_S = 3600;
/** How long a started drill may go without its report: the worker writes one as it starts. */
const DRILL_START_MS = 120_000;
const BACKUP_ID = /^b\d{8}T\d{9}Z-[0-9a-f]{8}$/;
const DRILL_ID = /^d\d{8}T\d{9}Z-[0-9a-f]{6}$/;
const OPERATOR_SIDE =
  'runs with your AWS credentials (locally: the stand-ins of the stack `npm start` runs), not through the API';

/**
 * `gamekeep backup | backups | verify | drill`: backups, verifications and drills through the admin API (they run in
 * the backup worker on AWS, in the admin API's process locally), followed with --wait. `gamekeep restore` and
 * `gamekeep prune` have no route: they run the library against the stack's table and bucket with the operator's own
 * credentials, as the backup scripts do (`npm run restore` and `npm run prune` are these verbs).
 */
export function backupVerbs(program: Command): void {
  program
    .command('backup')
    .description('take a backup of the table on the server: full (the default) or --incremental')
    .option('--incremental', 'what the event archive received since the last backup (needs a full one before it)')
    .option('--weekly', 'keep this full backup in the weekly tier (180 days instead of 90)')
    .addOption(waitOption('the backup to be whole', 'until it is, at most an hour'))
    .action(
      verb(async (ctx, o: { incremental?: boolean; weekly?: boolean; wait?: number | true }) => {
        if (o.incremental && o.weekly) throw usage('--weekly is for a full backup: an increment is kept hourly-tier');
        const body = o.incremental ? { kind: 'incremental' } : o.weekly ? { tier: 'weekly' } : {};
        const started = accepted<BackupStarted>(await ctx.api().request('POST', '/v1/admin/backups', { body }), 202);
        const id = started.backupId;
        if (o.wait === undefined)
          return ctx.out.result(started, () => [
            `${started.kind} backup ${id} started (${started.tier} tier)`,
            '  listed once it is whole: gamekeep backups',
          ]);
        ctx.out.note(`${started.kind} backup ${id} started`);
        const backup = await followed(ctx, `backup ${id.slice(0, 16)}`, o.wait, async () => {
          const found = (await backupPage(ctx, { backupId: id })).backups[0];
          return found ? { done: found } : {};
        });
        if (!backup)
          throw new CliFailure(
            `backup ${id} is not whole after ${waitSeconds(o.wait)} s`,
            1,
            'STILL_RUNNING',
            undefined,
            {
              ...started,
            },
          );
        ctx.out.result({ ...started, backup }, () => backupLines(backup));
      }),
    );

  program
    .command('backups')
    .description('the backups, newest first, with their last verification, and the last drill')
    .addOption(
      new Option('--limit <n>', 'at most this many (1-100, default 20)').argParser(wholeNumber('--limit', 1, 100)),
    )
    .option('--after <backupId>', "the page after this backup (the previous page's next)")
    .action(
      verb(async (ctx, o: { limit?: number; after?: string }) => {
        if (o.after !== undefined) backupIdOf(o.after);
        const page = await backupPage(ctx, { limit: o.limit, after: o.after });
        ctx.out.result(page, () => listing(page));
      }),
    );

  program
    .command('verify <backupId>')
    .description(
      'verify a backup on the server: every chunk hash, the manifest seal, the chain, decryption; --wait for the result (exit 1 when damaged)',
    )
    .addOption(waitOption('the verification to end', 'until it ends, at most an hour'))
    .action(
      verb(async (ctx, backupId: string, o: { wait?: number | true }) => {
        backupIdOf(backupId);
        const started = accepted<Verification>(
          await ctx.api().request('POST', `/v1/admin/backups/${backupId}/verifications`, { body: {} }),
          202,
        );
        const vid = started.verificationId;
        if (o.wait === undefined)
          return ctx.out.result(started, () => [
            `verification ${vid} of backup ${backupId} started`,
            `  its result: gamekeep backups (the last verification), or gamekeep verify ${backupId} --wait`,
          ]);
        ctx.out.note(`verification ${vid} of backup ${backupId} started`);
        const verification = await followed(ctx, `verify ${backupId.slice(0, 16)}`, o.wait, async () => {
          const last = (await backupPage(ctx, { backupId })).backups[0]?.lastVerification;
          return last?.verificationId === vid && last.status !== 'running' ? { done: last } : {};
        });
        if (!verification)
          throw new CliFailure(
            `verification ${vid} has no result after ${waitSeconds(o.wait)} s`,
            1,
            'STILL_RUNNING',
            'look again: gamekeep backups',
            { ...started },
          );
        if (verification.ok)
          return ctx.out.result(verification, () => [
            `backup ${backupId} verified: ${verification.chunks} chunks, ${verification.items} items, ${verification.bytes} bytes read in ${verification.seconds} s`,
          ]);
        throw new CliFailure(
          verification.error?.message ?? `backup ${backupId} failed its verification`,
          1,
          verification.error?.code ?? 'VERIFICATION_FAILED',
          'a damaged backup restores nothing: restore an earlier one, and take a new backup',
          { ...verification },
        );
      }),
    );

  program
    .command('drill [drillId]')
    .description(
      'run a restore drill on the server (a backup and an increment restored into a scratch table, verified, checked, removed), or look at one by its id; prints the measured RTO/RPO table, exit 1 when it failed',
    )
    .addOption(waitOption('the drill to end', 'until it ends, at most an hour'))
    .action(
      verb(async (ctx, drillId: string | undefined, o: { wait?: number | true }) => {
        let id: string;
        let startedAt = 0;
        if (drillId !== undefined) {
          if (!DRILL_ID.test(drillId)) throw usage(`'${drillId}' is not a drill id (d<time>-<6 hex>)`);
          id = drillId;
        } else {
          const started = accepted<{ drillId: string; status: string }>(
            await ctx.api().request('POST', '/v1/admin/drills', { body: {} }),
            202,
          );
          id = started.drillId;
          startedAt = Date.now();
          if (o.wait === undefined)
            return ctx.out.result(started, () => [
              `drill ${id} started`,
              `  its report: gamekeep drill ${id} (--wait to follow it to the end)`,
            ]);
          ctx.out.note(`drill ${id} started`);
        }
        const probe = async (): Promise<{ done?: DrillReport; seen?: DrillReport }> => {
          const answer = await ctx.api().request('GET', `/v1/admin/drills/${id}`);
          // The worker writes the report as it starts: until then, a drill just started has none.
          if (answer.status === 404 && startedAt > 0 && Date.now() - startedAt < DRILL_START_MS) return {};
          const report = accepted<DrillReport>(answer, 200);
          return report.status === 'running' ? { seen: report } : { done: report };
        };
        let report: DrillReport | undefined;
        if (o.wait === undefined) {
          const now = await probe();
          report = now.done ?? now.seen;
        } else report = await followed(ctx, `drill ${id.slice(0, 16)}`, o.wait, probe);
        if (!report || report.status === 'running') {
          const lines = () => [`drill ${id}: running since ${report?.startedAt ?? 'just now'}`];
          if (o.wait === undefined && report) return ctx.out.result(report, lines);
          throw new CliFailure(
            `drill ${id} is still running${o.wait !== undefined ? ` after ${waitSeconds(o.wait)} s` : ''}`,
            1,
            'STILL_RUNNING',
            `look again: gamekeep drill ${id} --wait`,
            report ? { ...report } : { drillId: id },
          );
        }
        if (report.status === 'passed') return ctx.out.result(report, () => drillLines(report));
        ctx.out.partial(() => drillLines(report));
        throw new CliFailure(`drill ${id} failed: ${report.failure}`, 1, 'DRILL_FAILED', undefined, { ...report });
      }),
    );

  program
    .command('restore <backupId>')
    .description(
      `restore a backup (and the increments up to it) into a new table, never the live one: verified whole first, then compared item by item and checked; ${OPERATOR_SIDE}`,
    )
    .requiredOption('--table <name>', 'the new table (it must not exist, or hold no items)')
    .option('--until <time>', 'the point in time to restore to (ISO 8601; default: the newest the chain holds whole)')
    .option('--stream', 'create the table with its stream (the projections need one)')
    .option('--bucket <name>', 'a deployed stack: its backup bucket (default GAMEKEEP_BACKUP_BUCKET)')
    .option('--kms-key <arn>', 'a deployed stack: the backup key (default GAMEKEEP_BACKUP_KMS_KEY)')
    .addHelpText(
      'after',
      '\nThe API has no restore route: this verb works on the table and the bucket itself, with your credentials.\nExit 0 when the restored table checks clean, 1 when it has findings or the backup is refused.',
    )
    .action(
      verb(
        async (
          ctx,
          backupId: string,
          o: { table: string; until?: string; stream?: boolean; bucket?: string; kmsKey?: string },
        ) => {
          backupIdOf(backupId);
          if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(o.table)) throw usage(`--table '${o.table}' is not a table name`);
          if (o.until !== undefined && !(/^\d{4}-\d{2}-\d{2}T/.test(o.until) && Number.isFinite(Date.parse(o.until))))
            throw usage(`--until must be an ISO 8601 date and time, got '${o.until}'`);
          const report = await withTarget(program, o, async (target) => {
            const bar = progress(ctx.out, `restore ${backupId.slice(0, 16)}`, 'verify, load, compare, check');
            bar.update(0, 1);
            try {
              return await restoreBackup({ ...target, registry: entityRegistry() }, backupId, o.table, {
                ...(o.stream ? { stream: true } : {}),
                ...(o.until !== undefined ? { until: o.until } : {}),
              });
            } finally {
              bar.stop();
            }
          });
          const lines = () => restoreLines(report);
          if (checkExitCode(report.check) === 0) return ctx.out.result(report, lines);
          ctx.out.partial(lines);
          throw new CliFailure(
            `the restored table ${report.table} has findings: ${JSON.stringify(report.check.counts)}`,
            1,
            'FINDINGS',
            undefined,
            { ...report },
          );
        },
      ),
    );

  program
    .command('restore-check')
    .description(
      `check a restored table against what the live one has (its indexes, stream, TTL, PITR, deletion protection, tags, stream consumers): which phase of docs/operations.md's runbook it is in and what is next; ${OPERATOR_SIDE}`,
    )
    .requiredOption('--table <name>', 'the restored table')
    .option('--source <name>', "the table it replaces, for its tags, protection and consumers (default: the stack's)")
    .option(
      '--check',
      'also run the consistency checker on it (for a PITR or AWS Backup restore, which nothing verified yet)',
    )
    .addHelpText(
      'after',
      '\nReads only (--check leaves its run record CHECK#… in the table). Exit 0 when nothing is missing (the table is attached) and the check, if asked, is clean; 1 otherwise, with what to do next.',
    )
    .action(
      verb(async (ctx, o: { table: string; source?: string; check?: boolean }) => {
        if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(o.table)) throw usage(`--table '${o.table}' is not a table name`);
        const { config, local } = targetStack();
        const source = o.source ?? config.tableName;
        if (o.check && o.table === source) throw usage('--check runs on the restored table, not the live one');
        const db = dynamoDbClient(config);
        // Against AWS the stream's consumers are event source mappings; locally the stack polls the stream itself.
        const lambda = local ? undefined : new LambdaClient({ region: config.region });
        try {
          const setup = await inspectRestoredTable({ db, ...(lambda ? { lambda } : {}) }, o.table, source);
          const check =
            o.check && setup.phase !== 'unusable'
              ? await runCheck(checkerDeps({ ...config, tableName: o.table }, db), { segments: 4 })
              : undefined;
          const report = { ...setup, ...(check ? { check } : {}) };
          const lines = () => [...restoreCheckLines(setup), ...(check ? [`  check: ${checkSummary(check)}`] : [])];
          const missing = setup.checks.filter((c) => c.status === 'missing').map((c) => c.name);
          if (setup.phase === 'attached' && (!check || checkExitCode(check) === 0))
            return ctx.out.result(report, lines);
          ctx.out.partial(lines);
          throw new CliFailure(
            missing.length > 0
              ? `the table ${o.table} is ${setup.phase}: ${missing.join(', ')} missing`
              : `the table ${o.table} has findings: ${JSON.stringify(check?.counts)}`,
            1,
            missing.length > 0 ? 'RESTORE_INCOMPLETE' : 'FINDINGS',
            undefined,
            report,
          );
        } finally {
          db.destroy();
          lambda?.destroy();
        }
      }),
    );

  program
    .command('prune')
    .description(
      `delete the backups, archive objects and drill reports past their retention tier (on AWS the bucket's lifecycle rules do it too); ${OPERATOR_SIDE}`,
    )
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option('--bucket <name>', 'a deployed stack: its backup bucket (default GAMEKEEP_BACKUP_BUCKET)')
    .option('--kms-key <arn>', 'a deployed stack: the backup key (default GAMEKEEP_BACKUP_KMS_KEY)')
    .addHelpText('after', '\nThe API has no prune route: this verb works on the bucket itself, with your credentials.')
    .action(
      verb(async (ctx, o: { dryRun?: boolean; bucket?: string; kmsKey?: string }) => {
        const report = await withTarget(program, o, (target) =>
          pruneBackups(target.bucket, { table: target.config.tableName, dryRun: o.dryRun === true }),
        );
        ctx.out.result(report, () => pruneLines(report));
      }),
    );
}

async function backupPage(
  ctx: VerbContext,
  query: { limit?: number | undefined; after?: string | undefined; backupId?: string },
): Promise<BackupPage> {
  return accepted<BackupPage>(await ctx.api().request('GET', '/v1/admin/backups', { query }), 200);
}

/**
 * Polls `probe` until it answers `done` (or `wait` seconds passed: undefined), with a bar that moves once: the
 * server says nothing of a backup's or a drill's progress until it ends.
 */
async function followed<T>(
  ctx: VerbContext,
  label: string,
  wait: number | true,
  probe: () => Promise<{ done?: T }>,
): Promise<T | undefined> {
  const until = Date.now() + waitSeconds(wait) * 1000;
  const bar = progress(ctx.out, label);
  bar.update(0, 1);
  try {
    for (;;) {
      const { done } = await probe();
      if (done !== undefined) {
        bar.update(1, 1);
        return done;
      }
      if (Date.now() >= until) return undefined;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar.stop();
  }
}

const waitSeconds = (wait: number | true): number => (wait === true ? LONGEST_WAIT_S : wait);

function backupIdOf(backupId: string): string {
  if (!BACKUP_ID.test(backupId)) throw usage(`'${backupId}' is not a backup id (b<time>-<8 hex>)`);
  return backupId;
}

/**
 * The table and bucket of the stack the CLI targets (scripts/backupTarget.ts), closed afterwards; a damaged backup
 * or a refused restore is exit 1 with its code.
 */
async function withTarget<T>(
  program: Command,
  o: { bucket?: string; kmsKey?: string },
  work: (target: BackupTarget) => Promise<T>,
): Promise<T> {
  const { config, local } = targetStack();
  const globals = program.opts<GlobalOptions>();
  // --stage and --api-url name an API; the table and the bucket come from the stack file or the environment.
  if (local && (globals.stage || globals.apiUrl))
    throw usage(
      `--stage and --api-url do not reach a table: here ${stackFile} names the local stack. For a deployed one, run this outside it with GAMEKEEP_TABLE, GAMEKEEP_BACKUP_BUCKET and GAMEKEEP_BACKUP_KMS_KEY (or --bucket and --kms-key) set`,
    );
  if (!local && !((o.bucket ?? config.backupBucket) && (o.kmsKey ?? config.backupKmsKey)))
    throw usage(
      'without a local stack (npm start), --bucket and --kms-key (or GAMEKEEP_BACKUP_BUCKET and GAMEKEEP_BACKUP_KMS_KEY, with GAMEKEEP_TABLE) name the backups of a deployed one',
    );
  const target = await openBackupTarget('gamekeep --help', {
    ...(o.bucket ? { bucket: o.bucket } : {}),
    ...(o.kmsKey ? { 'kms-key': o.kmsKey } : {}),
  });
  try {
    return await work(target);
  } catch (error) {
    if (error instanceof BackupDamaged || error instanceof RestoreRefused)
      throw new CliFailure(error.message, 1, error.code);
    throw error;
  } finally {
    await target.close();
  }
}

const kinds = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

function verified(v: Verification | null): string {
  if (!v) return 'never';
  if (v.status === 'running') return `running since ${v.startedAt}`;
  return v.ok ? `passed ${v.finishedAt}` : `FAILED ${v.error?.code ?? ''} ${v.finishedAt}`.trimEnd();
}

function backupLines(b: BackupView): string[] {
  return [
    `${b.kind} backup ${b.backupId} of table ${b.table} (${b.tier} tier), consistent up to ${b.consistentUpTo}`,
    `  ${b.items} ${b.kind === 'full' ? 'items' : 'archive records'} (${kinds(b.counts)}) in ${b.chunks} chunks, ${b.bytes} bytes stored`,
    `  chained to ${b.previous ?? '(none: the first backup of this table)'}`,
    `  verified: ${verified(b.lastVerification)}`,
  ];
}

function listing(page: BackupPage): string[] {
  const lines =
    page.backups.length === 0
      ? ['no backups yet: gamekeep backup']
      : columns([
          ['BACKUP', 'KIND', 'TIER', 'FINISHED', 'ITEMS', 'CHUNKS', 'BYTES', 'LAST VERIFICATION'],
          ...page.backups.map((b) => [
            b.backupId,
            b.kind,
            b.tier,
            b.finishedAt,
            String(b.items),
            String(b.chunks),
            String(b.bytes),
            verified(b.lastVerification),
          ]),
        ]);
  const d = page.lastDrill;
  lines.push(
    d
      ? `last drill: ${d.drillId} ${d.status}${d.finishedAt ? ` at ${d.finishedAt}` : ''}${
          d.restored !== undefined ? `: ${d.restored} items restored in ${d.restoreSeconds} s` : ''
        }${d.eventsLost !== undefined ? `, ${d.eventsLost} events lost` : ''}${d.failure ? ` (${d.failure})` : ''}`
      : 'last drill: none yet (gamekeep drill)',
  );
  if (page.next) lines.push(`older ones: gamekeep backups --after ${page.next}`);
  return lines;
}

function drillLines(r: DrillReport): string[] {
  const lines = [
    `drill ${r.drillId} ${r.status}: table ${r.source} restored into ${r.scratchTable} (removed) at the cut ${r.cut ?? '(none)'}`,
  ];
  if (r.fullBackupId) lines.push(`  backups: ${r.fullBackupId}${r.incrementId ? ` + ${r.incrementId}` : ''}`);
  if (r.restore)
    lines.push(
      `  restored ${r.restore.restored} items (${r.restore.equal} byte-equal to the backup) at ${r.restore.itemsPerSecond} items/s`,
    );
  if (r.check) lines.push(`  consistency check ${r.check.checkId}: ${r.check.clean ? 'clean' : 'FINDINGS'}`);
  if (r.rpo) lines.push(`  events lost at the cut: ${r.rpo.eventsLost} of ${r.rpo.sourceEvents}`);
  if (r.archiveLag)
    lines.push(
      `  archive lag: p50 ${r.archiveLag.p50Ms} ms, p99 ${r.archiveLag.p99Ms} ms, max ${r.archiveLag.maxMs} ms (${r.archiveLag.records} records)`,
    );
  if (r.failure) lines.push(`  failure: ${r.failure}`);
  if (r.figures.length > 0) {
    lines.push('', 'RTO/RPO, measured:');
    for (const f of r.figures)
      lines.push(
        ...columns([
          ['  failure', f.failure],
          ['  strategy', f.strategy],
          ['  RTO', f.rto],
          ['  RPO', f.rpo],
        ]),
      );
  }
  return lines;
}

function restoreCheckLines(r: RestoredTableReport): string[] {
  const mark = { ok: 'ok', missing: 'MISSING', unchecked: '-' } as const;
  return [
    `table ${r.table}${r.source ? ` (replacing ${r.source})` : ''}: ${r.phase}`,
    ...columns(r.checks.map((c) => [`  ${c.name}`, mark[c.status], c.detail, c.next ? `→ ${c.next}` : ''])),
  ];
}

function restoreLines(r: RestoreReport): string[] {
  return [
    `restored backup ${r.backupId} of ${r.source} into ${r.table} (consistent up to ${r.consistentUpTo}; chain ${r.chain.join(' → ')})`,
    `  ${r.restored} items: ${kinds(r.restoredByKind)}`,
    `  ${r.equal} items byte-equal to the backup; the consistency pass changed ${r.changes.length}`,
    ...r.repaired.map(
      (e) => `    ${e.entityType} ${e.entityId}: version ${e.backedUpVersion} → ${e.restoredVersion} (${e.reason})`,
    ),
    ...r.preserved.map((e) => `    ${e.entityType} ${e.entityId} left as backed up: ${e.reason}`),
    checkSummary(r.check).replace(/^/gm, '  '),
    `  ${r.seconds.total} s (verify ${r.seconds.verify} s, load ${r.seconds.load} s at ${r.itemsPerSecond} items/s, compare ${r.seconds.compare} s, check ${r.seconds.check} s)`,
  ];
}

function pruneLines(r: PruneReport): string[] {
  const verbForm = r.dryRun ? 'would delete' : 'deleted';
  return [
    `${verbForm} ${r.objectsDeleted} objects: ${r.backups.length} backups past their tier, ${r.archiveObjects} archive objects, ${r.drillReports} drill reports${r.dryRun ? ' (dry run: nothing deleted)' : ''}`,
    ...r.backups.map((b) => `  ${b.backupId} (${b.tier}, expired ${b.expiredAt})`),
  ];
}
