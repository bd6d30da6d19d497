import type { BackupBucket } from './backupBucket.js';
import { archivePrefix, arrivalOf } from './eventArchive.js';
import { backupPrefix, backupTime } from './manifest.js';
import { expiresAt } from './retention.js';
import { listBackups } from './verifyBackup.js';

export interface PruneReport {
  readonly backups: readonly { readonly backupId: string; readonly tier: string; readonly expiredAt: string }[];
  readonly archiveObjects: number;
  readonly drillReports: number;
  readonly objectsDeleted: number;
  readonly dryRun: boolean;
}

/**
 * Applies the retention tiers (./retention.ts) where no lifecycle rule does (the local stand-in): every backup past
 * its tier's days, archive objects past 7 days and drill reports past 90. On AWS the bucket's lifecycle rules do
 * the same by tag, and Object Lock refuses earlier deletes. An increment is restorable only while the whole chain
 * back to its full backup is kept, so the oldest increments of a chain go first, never its full backup.
 */
export async function pruneBackups(
  bucket: BackupBucket,
  options: { readonly table?: string; readonly now?: Date; readonly dryRun?: boolean } = {},
): Promise<PruneReport> {
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? false;
  const manifests: string[] = [];
  const doomed: string[] = [];
  const backups: { backupId: string; tier: string; expiredAt: string }[] = [];
  for (const manifest of await listBackups(bucket)) {
    if (options.table && manifest.table !== options.table) continue;
    const expiry = expiresAt(manifest.tier, backupTime(manifest.backupId));
    if (!expiry || expiry > now) continue;
    backups.push({ backupId: manifest.backupId, tier: manifest.tier, expiredAt: expiry.toISOString() });
    // The manifest first, so a prune cut short leaves chunks without a manifest (no backup), never the reverse.
    const keys = await bucket.keys(backupPrefix(manifest.backupId));
    manifests.push(...keys.filter((k) => k.endsWith('manifest.json')));
    doomed.push(...keys.filter((k) => !k.endsWith('manifest.json')));
  }
  const archive = (await bucket.keys(options.table ? archivePrefix(options.table) : 'archive/')).filter((k) => {
    const expiry = expiresAt('archive', arrivalOf(k));
    return expiry !== undefined && expiry <= now;
  });
  const drills = (await bucket.keys('drills/')).filter((k) => {
    const m = /^drills\/d(\d{8}T\d{9}Z)/.exec(k);
    const expiry = m ? expiresAt('daily', backupTime(`b${m[1]}`)) : undefined;
    return expiry !== undefined && expiry <= now;
  });
  doomed.push(...archive, ...drills);
  if (!dryRun) {
    await bucket.delete(manifests);
    await bucket.delete(doomed);
  }
  return {
    backups,
    archiveObjects: archive.length,
    drillReports: drills.length,
    objectsDeleted: manifests.length + doomed.length,
    dryRun,
  };
}
