/**
 * `npm run restore -- <backupId> --table <name> [--stream] [--json]`: restores a backup into a new table of the
 * local stack (never the live one, nor a table with items), after verifying it whole; then compares the table with
 * the backup item by item and runs the consistency checker on it. Exit 0 when the checker is clean, 1 otherwise.
 */
import { restoreBackup } from '../shared/backup/index.js';
import { checkExitCode, checkSummary } from '../shared/checker/index.js';
import { entityRegistry } from '../shared/entities.js';
import { parseScriptArgs, usageError } from './commandLine.js';
import { BACKUP_TARGET_OPTIONS, openBackupTarget, refused, runBackupCommand } from './backupTarget.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

async function main(): Promise<number> {
  const usage = 'usage: npm run restore -- <backupId> --table <name> [--stream] [--json]';
  const { values, positionals } = parseScriptArgs(usage, {
    options: {
      ...BACKUP_TARGET_OPTIONS,
      table: { type: 'string' },
      stream: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1 || !values.table) usageError(usage);
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(values.table)) usageError(usage, `--table '${values.table}' is not a table name`);
  const target = await openBackupTarget(usage, values);
  try {
    const r = await restoreBackup({ ...target, registry: entityRegistry() }, positionals[0]!, values.table, {
      stream: values.stream,
    });
    if (values.json) console.log(JSON.stringify(r));
    else {
      console.log(
        `restored backup ${r.backupId} of ${r.source} into ${r.table} (consistent up to ${r.consistentUpTo})`,
      );
      console.log(
        `  ${r.restored} items: ${Object.entries(r.restoredByKind)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      );
      console.log(`  ${r.equal} items byte-equal to the backup; the consistency pass changed ${r.changes.length}:`);
      for (const e of r.repaired)
        console.log(
          `    ${e.entityType} ${e.entityId}: version ${e.backedUpVersion} → ${e.restoredVersion} (${e.reason})`,
        );
      for (const e of r.preserved) console.log(`    ${e.entityType} ${e.entityId} left as backed up: ${e.reason}`);
      console.log(checkSummary(r.check).replace(/^/gm, '  '));
      console.log(
        `  ${r.seconds.total.toFixed(1)} s (verify ${r.seconds.verify} s, load ${r.seconds.load} s at ${r.itemsPerSecond} items/s, compare ${r.seconds.compare} s, check ${r.seconds.check} s)`,
      );
    }
    return checkExitCode(r.check);
  } catch (error) {
    return refused(error, values.json);
  } finally {
    await target.close();
  }
}

runBackupCommand(main);
