/**
 * Seed 004's retention tiers, in days (null: kept forever). The one table both places apply: the S3 lifecycle
 * rules of the backup bucket on AWS (lib/constructs/backupVault.ts, by the object tag `gamekeep:tier`) and the
 * `prune` verb locally (./prune.ts).
 */
export const RETENTION_DAYS = {
  /** Daily full backups. */
  daily: 90,
  /** The full backup taken on Sundays in place of the daily one. */
  weekly: 180,
  /** Incremental backups (hourly). */
  hourly: 30,
  /** The continuous event archive fed by the table's stream. */
  archive: 7,
  /** Versions of the system's configuration, written when it changes. */
  config: null,
} as const satisfies Record<string, number | null>;

export type RetentionTier = keyof typeof RETENTION_DAYS;

/** When an object of `tier` written at `at` expires (undefined: never). */
export function expiresAt(tier: RetentionTier, at: Date): Date | undefined {
  const days = RETENTION_DAYS[tier];
  return days === null ? undefined : new Date(at.getTime() + days * 86_400_000);
}
