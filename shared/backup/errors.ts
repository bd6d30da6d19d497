export type BackupDamage =
  | 'BACKUP_NOT_FOUND'
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_HASH_MISMATCH'
  | 'WRONG_KEY'
  | 'CHAIN_BROKEN'
  | 'CHUNK_MISSING'
  | 'CHUNK_TRUNCATED'
  | 'CHUNK_HASH_MISMATCH'
  | 'CHUNK_UNREADABLE'
  | 'ARCHIVE_UNREADABLE';

/** A backup that cannot be trusted: `verify` refuses it, and a restore writes nothing from it. */
export class BackupDamaged extends Error {
  override readonly name = 'BackupDamaged';
  constructor(
    readonly code: BackupDamage,
    readonly backupId: string,
    message: string,
    readonly chunk?: number,
  ) {
    super(`backup ${backupId}: ${message} (${code})`);
  }
}

export type RestoreRefusal =
  | 'TARGET_IS_SOURCE'
  | 'TARGET_NOT_EMPTY'
  | 'RESTORE_MISMATCH'
  /** `--until` before the chosen chain's full backup finished, or past what the backups and the archive hold. */
  | 'UNTIL_OUT_OF_RANGE'
  /** An increment with no full backup before it to start from, or one whose predecessor's archive does not meet it. */
  | 'INCREMENT_WITHOUT_BASE';

/** A restore that must not go on (or, for RESTORE_MISMATCH, whose result differs from the backup). */
export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused';
  constructor(
    readonly code: RestoreRefusal,
    message: string,
  ) {
    super(`${message} (${code})`);
  }
}
