/** Full logical backups of the table, verified before they are trusted and proven by restoring (docs/recovery.md, "Backups"). */
export { BackupBucket } from './backupBucket.js';
export {
  consistentCut,
  type CutChange,
  type CutResult,
  type PreservedEntity,
  type RepairedEntity,
} from './consistentCut.js';
export { kmsBackupKey, localBackupKey, rawAesBackupKey, type BackupKey } from './encryption.js';
export { BackupDamaged, RestoreRefused, type BackupDamage, type RestoreRefusal } from './errors.js';
export {
  chunkKey,
  isBackupId,
  manifestKey,
  sealKey,
  type BackupManifest,
  type ChunkEntry,
  type ItemKind,
  type KindCounts,
} from './manifest.js';
export { restoreBackup, type RestoreDeps, type RestoreOptions, type RestoreReport } from './restoreBackup.js';
export { takeBackup, type BackupDeps, type BackupOptions } from './takeBackup.js';
export { listBackups, verifyBackup, type VerifyDeps, type VerifyReport } from './verifyBackup.js';
