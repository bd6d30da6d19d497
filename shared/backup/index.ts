/**
 * Logical backups of the table, verified before they are trusted and proven by restoring (docs/recovery.md,
 * "Backups"): full and incremental backups, the event archive fed by the stream, restores to a point in time,
 * drills and retention.
 */
export { BackupBucket } from './backupBucket.js';
export { backupStore, s3Client, type BackupStore } from './backupStore.js';
export {
  consistentCut,
  type CutChange,
  type CutResult,
  type PreservedEntity,
  type RepairedEntity,
} from './consistentCut.js';
export {
  drillReport,
  isDrillId,
  lastDrill,
  newDrillId,
  runDrill,
  scratchTableOf,
  type DrillOptions,
  type DrillReport,
  type DrillStep,
  type RecoveryFigure,
} from './drill.js';
export { kmsBackupKey, localBackupKey, rawAesBackupKey, type BackupKey } from './encryption.js';
export { BackupDamaged, RestoreRefused, type BackupDamage, type RestoreRefusal } from './errors.js';
export {
  appendToArchive,
  archiveKeys,
  archivePrefix,
  archiveRecordsOf,
  arrivalOf,
  commitTimeOf,
  readArchiveObject,
  type ArchiveRecord,
} from './eventArchive.js';
export {
  chunkKey,
  isBackupId,
  manifestKey,
  sealKey,
  type BackupKind,
  type BackupManifest,
  type BackupTier,
  type ChunkEntry,
  type ItemKind,
  type KindCounts,
} from './manifest.js';
export { pruneBackups, type PruneReport } from './prune.js';
export { restoreBackup, type RestoreDeps, type RestoreOptions, type RestoreReport } from './restoreBackup.js';
export {
  inspectRestoredTable,
  type RestorePhase,
  type RestoredTableReport,
  type SetupCheck,
} from './restoredTable.js';
export { expiresAt, RETENTION_DAYS, type RetentionTier } from './retention.js';
export { takeBackup, type BackupDeps, type BackupOptions } from './takeBackup.js';
export { takeIncrement, type IncrementDeps, type IncrementOptions } from './takeIncrement.js';
export { listBackups, verifyBackup, type VerifyDeps, type VerifyReport } from './verifyBackup.js';
export { recordConfigVersion, type ConfigVersion } from './configVersions.js';
export {
  isVerificationId,
  lastVerification,
  runBackupJob,
  runningVerification,
  verificationOf,
  type BackupJob,
  type BackupJobDeps,
  type BackupJobResult,
  type Verification,
} from './jobs.js';
