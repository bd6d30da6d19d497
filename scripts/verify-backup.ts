/**
 * `npm run verify-backup -- <backupId> [--json]`: re-reads a backup whole (manifest, seal, chain link, every chunk's
 * hash, decryption, every line). Exit 0 when it is sound, 1 with the damage's code when it is not.
 */
import { verifyBackup } from '../shared/backup/index.js';
import { parseScriptArgs, usageError } from './commandLine.js';
import { BACKUP_TARGET_OPTIONS, openBackupTarget, refused, runBackupCommand } from './backupTarget.js';

async function main(): Promise<number> {
  const usage = 'usage: npm run verify-backup -- <backupId> [--json]';
  const { values, positionals } = parseScriptArgs(usage, {
    options: { ...BACKUP_TARGET_OPTIONS, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) usageError(usage);
  const target = await openBackupTarget(usage, values);
  try {
    const report = await verifyBackup(target, positionals[0]!);
    if (values.json) console.log(JSON.stringify({ ...report, manifest: undefined, status: 'sound' }));
    else
      console.log(
        `backup ${report.backupId} is sound: manifest sealed, chain ${report.manifest.previous ? `linked to ${report.manifest.previous.backupId}` : 'starts here'}, ${report.chunks} chunks (${report.bytes} bytes) hashed, decrypted and read, ${report.items} items, ${report.seconds.toFixed(1)} s`,
      );
    return 0;
  } catch (error) {
    return refused(error, values.json, { status: 'damaged' });
  } finally {
    await target.close();
  }
}

runBackupCommand(main);
