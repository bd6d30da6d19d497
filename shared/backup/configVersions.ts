import type { Config } from '../config.js';
import type { EntityRegistry } from '../engine/registry.js';
import type { BackupBucket } from './backupBucket.js';
import { itemJson, sha256 } from './manifest.js';

/** One version of the game's and the system's configuration, as a restore would need to read its data. */
export interface ConfigVersion {
  readonly sha256: string;
  readonly recordedAt: string;
  readonly table: string;
  /** Each entity type's rules configuration (limits, caps, prices) and storage settings. */
  readonly entityTypes: readonly {
    readonly name: string;
    readonly keyPrefix: string;
    readonly snapshotEvery: number | null;
    readonly config: unknown;
  }[];
  /** The stack's settings that shape stored data (never its secrets or endpoints). */
  readonly system: Readonly<Record<string, unknown>>;
}

/**
 * Keeps the configuration beside the backups whenever it changed (seed 004: "on change, full, kept forever"):
 * `config/<sha256>.json`, tagged `config`, which no lifecycle rule expires. Returns its hash and whether it is new.
 */
export async function recordConfigVersion(
  bucket: BackupBucket,
  config: Config,
  registry: EntityRegistry,
  now: Date = new Date(),
): Promise<{ sha256: string; recorded: boolean }> {
  const content = {
    table: config.tableName,
    entityTypes: registry.all().map((t) => ({
      name: t.name,
      keyPrefix: t.keyPrefix,
      snapshotEvery: t.snapshotEvery ?? null,
      config: t.config,
    })),
    system: {
      commandRecordDays: config.commandRecordDays,
      maxCommitAttempts: config.maxCommitAttempts,
      dailyRewardHour: config.dailyRewardHour ?? 0,
      viewTtlSeconds: config.viewTtlSeconds ?? null,
      leaderboardRetentionDays: config.leaderboardRetentionDays ?? null,
    },
  };
  const digest = sha256(itemJson(content));
  const key = `config/${digest}.json`;
  if (await bucket.get(key)) return { sha256: digest, recorded: false };
  const version: ConfigVersion = { sha256: digest, recordedAt: now.toISOString(), ...content };
  await bucket.put(key, Buffer.from(`${JSON.stringify(version, null, 2)}\n`), {
    contentType: 'application/json',
    tier: 'config',
  });
  return { sha256: digest, recorded: true };
}
