import { randomBytes } from 'node:crypto';
import { sleep } from '../backoff.js';
import type { EntityRegistry } from '../engine/registry.js';
import type { BackupBucket } from './backupBucket.js';
import { ChunkWriter, writeManifest } from './backupWriter.js';
import type { BackupKey } from './encryption.js';
import { RestoreRefused } from './errors.js';
import { archiveKeys, arrivalOf, readArchiveObject } from './eventArchive.js';
import { BACKUP_FORMAT_VERSION, itemKind, newBackupId, noItems, type BackupManifest } from './manifest.js';
import { existingBackup, latestManifest } from './verifyBackup.js';

export interface IncrementDeps {
  readonly tableName: string;
  readonly registry: EntityRegistry;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  readonly now?: () => Date;
}

export interface IncrementOptions {
  /**
   * How long after its commit a write is surely in the archive (the archiver's lag, with room: default 60 s). An
   * increment holds every commit up to this long before it was taken (`consistentUpTo`); later ones that already
   * arrived are in it too, and the next increment holds the rest.
   */
  readonly archiveLagMs?: number;
  /**
   * Archive objects written this recently are left to the next increment (default 5 s): two archivers writing at
   * once can land a key that sorts before one already listed, never one older than this.
   */
  readonly settleMs?: number;
  readonly chunkItems?: number;
  /** The increment's id, chosen by whoever asked for it; as for a full backup, a retried job takes no other. */
  readonly backupId?: string;
}

/**
 * An incremental backup: every archive object written after the previous backup's (its `archive.upTo`) up to
 * now, re-encrypted into chunks like a full backup's and chained to it. Incremental backups need the event
 * archive (./eventArchive.ts: the table's stream, archived by the event-archiver function) and a full backup to
 * start from; an increment taken right after its predecessor waits until that one's commits have had time to
 * reach the archive.
 */
export async function takeIncrement(deps: IncrementDeps, options: IncrementOptions = {}): Promise<BackupManifest> {
  const now = deps.now ?? (() => new Date());
  const lagMs = options.archiveLagMs ?? 60_000;
  const settleMs = options.settleMs ?? 5_000;
  if (settleMs > lagMs) throw new RangeError('settleMs must not exceed archiveLagMs');
  const done = options.backupId !== undefined ? await existingBackup(deps.bucket, options.backupId) : undefined;
  if (done) return done;
  const previous = await latestManifest(deps.bucket, deps.tableName);
  if (!previous)
    throw new RestoreRefused(
      'INCREMENT_WITHOUT_BASE',
      `table ${deps.tableName} has no backup yet: take a full one first`,
    );
  // A timer may fire a millisecond before the wall clock says: wait again until the cut is past the predecessor.
  const readyAt = Date.parse(previous.manifest.finishedAt) + lagMs;
  while (now().getTime() < readyAt) await sleep(readyAt - now().getTime());

  const startedAt = now();
  const backupId = options.backupId ?? newBackupId(startedAt, randomBytes(4).toString('hex'));
  const settled = startedAt.getTime() - settleMs;
  const keys = (await archiveKeys(deps.bucket, deps.tableName, previous.manifest.archive.upTo)).filter(
    (k) => arrivalOf(k).getTime() <= settled,
  );
  const writer = new ChunkWriter(deps, backupId, 'hourly', options.chunkItems ?? 5000);
  const counts = noItems();
  for (const key of keys) {
    const records = await readArchiveObject(deps, key);
    for (const r of records) counts[itemKind(r.item ?? { pk: r.pk, sk: r.sk }, deps.registry)]++;
    await writer.add(records.map((r) => JSON.stringify(r)));
  }
  const chunks = await writer.finish();
  const manifest: BackupManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId,
    kind: 'incremental',
    tier: 'hourly',
    table: deps.tableName,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    consistentUpTo: new Date(startedAt.getTime() - lagMs).toISOString(),
    items: writer.lines,
    counts,
    chunkItems: writer.chunkItems,
    chunks,
    encoding: 'jsonl+gzip+aws-encryption-sdk',
    keyring: deps.key.description,
    archive: {
      after: previous.manifest.archive.upTo,
      upTo: keys.at(-1) ?? previous.manifest.archive.upTo,
      objects: keys.length,
    },
    previous: { backupId: previous.manifest.backupId, manifestSha256: previous.sha256, tier: previous.manifest.tier },
  };
  await writeManifest(deps, manifest);
  return manifest;
}
