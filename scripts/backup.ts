/**
 * `npm run backup [-- --chunk-items N] [--json]`: a full logical backup of the table (docs/recovery.md, "Backups")
 * of the local stack `npm start` runs, into .gamekeep/s3, encrypted with .gamekeep/backup.key. Prints the backup id.
 */
import { takeBackup } from '../shared/backup/index.js';
import { entityRegistry } from '../shared/entities.js';
import { parseScriptArgs, wholeNumber } from './commandLine.js';
import { BACKUP_TARGET_OPTIONS, openBackupTarget, runBackupCommand } from './backupTarget.js';

async function main(): Promise<number> {
  const usage = 'usage: npm run backup -- [--chunk-items <n>] [--json]';
  const { values } = parseScriptArgs(usage, {
    options: { ...BACKUP_TARGET_OPTIONS, 'chunk-items': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const chunkItems = values['chunk-items'] ? wholeNumber(usage, '--chunk-items', values['chunk-items']) : undefined;
  const target = await openBackupTarget(usage, values);
  try {
    const started = Date.now();
    const manifest = await takeBackup(
      {
        db: target.db,
        tableName: target.config.tableName,
        registry: entityRegistry(),
        bucket: target.bucket,
        key: target.key,
      },
      chunkItems ? { chunkItems } : {},
    );
    const seconds = (Date.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify(manifest));
    else {
      const bytes = manifest.chunks.reduce((n, c) => n + c.bytes, 0);
      console.log(
        `backup ${manifest.backupId} of table ${manifest.table}, consistent up to ${manifest.consistentUpTo}`,
      );
      console.log(
        `  ${manifest.items} items (${Object.entries(manifest.counts)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}) in ${manifest.chunks.length} chunks, ${bytes} bytes stored`,
      );
      console.log(`  chained to ${manifest.previous?.backupId ?? '(none: the first backup of this table)'}`);
      console.log(`  ${seconds.toFixed(1)} s, ${Math.round(manifest.items / Math.max(seconds, 0.001))} items/s`);
    }
    return 0;
  } finally {
    await target.close();
  }
}

runBackupCommand(main);
