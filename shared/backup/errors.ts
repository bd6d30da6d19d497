export type BackupDamage =
  | 'BACKUP_NOT_FOUND'
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_HASH_MISMATCH'
  | 'WRONG_KEY'
  | 'CHAIN_BROKEN'
  | 'CHUNK_MISSING'
  | 'CHUNK_TRUNCATED'
  | 'CHUNK_HASH_MISMATCH'
  | 'CHUNK_UNREADABLE';

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

export type RestoreRefusal = 'TARGET_IS_SOURCE' | 'TARGET_NOT_EMPTY' | 'RESTORE_MISMATCH';

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
