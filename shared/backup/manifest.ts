import { createHash } from 'node:crypto';
import type { EntityRegistry } from '../engine/registry.js';
import { COMMAND_SK, EVENT_SK_PREFIX, SNAPSHOT_SK_PREFIX, STATE_SK } from '../persistence/tableLayout.js';
import type { RetentionTier } from './retention.js';

/** 2: increments, the archive cursor and the tier of each backup (1 had full backups only). */
export const BACKUP_FORMAT_VERSION = 2;

/** A full backup holds every item; an incremental one every write the archive received after its predecessor. */
export type BackupKind = 'full' | 'incremental';
export type BackupTier = Extract<RetentionTier, 'daily' | 'weekly' | 'hourly'>;

export type ItemKind = 'state' | 'event' | 'snapshot' | 'commandRecord' | 'claim' | 'other';
export type KindCounts = Record<ItemKind, number>;

export const noItems = (): KindCounts => ({
  state: 0,
  event: 0,
  snapshot: 0,
  commandRecord: 0,
  claim: 0,
  other: 0,
});

export interface ChunkEntry {
  /** 0, 1, 2…: the object `backups/<backupId>/chunks/<n>`. */
  readonly n: number;
  readonly items: number;
  /** Size and SHA-256 (hex) of the stored object: the encrypted bytes, checked before anything is decrypted. */
  readonly bytes: number;
  readonly sha256: string;
}

/** `backups/<backupId>/manifest.json`: what a backup holds, and what proves it whole. */
export interface BackupManifest {
  readonly formatVersion: number;
  readonly backupId: string;
  readonly kind: BackupKind;
  /** The retention tier its objects are tagged with (./retention.ts). */
  readonly tier: BackupTier;
  readonly table: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /**
   * Every transaction that committed before this instant is in the backup whole; one committed while it ran is
   * either whole or, after the consistency pass of a restore, absent (docs/recovery.md, "Backups").
   */
  readonly consistentUpTo: string;
  /** Items (a full backup) or archive records (an increment: writes, each an item's new image or its deletion). */
  readonly items: number;
  readonly counts: KindCounts;
  readonly chunkItems: number;
  readonly chunks: readonly ChunkEntry[];
  /** Chunks are JSON lines, gzip, then an AWS Encryption SDK message (AES-256-GCM, a data key per message). */
  readonly encoding: 'jsonl+gzip+aws-encryption-sdk';
  readonly keyring: { readonly kind: 'raw-aes' | 'kms'; readonly keyName: string };
  /**
   * The event archive's objects (`archive/<table>/…`, keys in arrival order) an increment holds: those after
   * `after` up to `upTo`. A full backup holds none (`after` = `upTo`): its successor starts at its `upTo`, a
   * cursor just before its start, since a write committed while the Scan ran may be missing from it.
   */
  readonly archive: { readonly after: string; readonly upTo: string; readonly objects: number };
  /**
   * The backup before this one of the same table (its manifest's SHA-256), so the chain is verifiable; its tier
   * says when it may be gone by retention rather than by damage.
   */
  readonly previous: {
    readonly backupId: string;
    readonly manifestSha256: string;
    readonly tier: BackupTier;
  } | null;
}

export const backupPrefix = (backupId: string): string => `backups/${backupId}/`;
export const manifestKey = (backupId: string): string => `${backupPrefix(backupId)}manifest.json`;
/** The manifest's SHA-256, encrypted under the backup's key with the backup id in its encryption context. */
export const sealKey = (backupId: string): string => `${backupPrefix(backupId)}manifest.seal`;
export const chunkKey = (backupId: string, n: number): string => `${backupPrefix(backupId)}chunks/${n}`;

export const BACKUP_ID = /^b\d{8}T\d{9}Z-[0-9a-f]{8}$/;
export const isBackupId = (id: string): boolean => BACKUP_ID.test(id);

/** `20261202T061502123Z`: sorts as time does. */
export const compactTime = (at: Date): string => at.toISOString().replace(/[-:.]/g, '');

/** Sorts by time: `b20261202T061502123Z-1a2b3c4d`. */
export function newBackupId(at: Date, random: string): string {
  return `b${compactTime(at)}-${random}`;
}

/** When a backup was started, from its id. */
export function backupTime(backupId: string): Date {
  const m = /^b(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(backupId);
  if (!m) throw new Error(`${backupId} is not a backup id`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
}

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** What an item is, by the shape of its keys (DESIGN.md §3). */
export function itemKind(item: Record<string, unknown>, registry: EntityRegistry): ItemKind {
  const pk = String(item.pk);
  const sk = String(item.sk);
  if (pk.startsWith('C#') && (sk === COMMAND_SK || sk.startsWith('R#'))) return 'commandRecord';
  if (registry.all().some((t) => pk.startsWith(`${t.keyPrefix}#`))) {
    if (sk === STATE_SK) return 'state';
    if (sk.startsWith(EVENT_SK_PREFIX)) return 'event';
    if (sk.startsWith(SNAPSHOT_SK_PREFIX)) return 'snapshot';
  }
  if (typeof item.claimedAt === 'string' && typeof item.commandId === 'string') return 'claim';
  return 'other';
}

/** Backed-up content is the item's logical JSON with its keys sorted: equal content, equal bytes. */
export function itemJson(item: unknown): string {
  return JSON.stringify(sortKeys(item));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    if (value instanceof Set || ArrayBuffer.isView(value))
      throw new TypeError('an item holds a set or binary attribute, which the backup format does not carry');
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export const itemKey = (item: Record<string, unknown>): string => `${String(item.pk)}|${String(item.sk)}`;

/** The encryption context of a chunk: a chunk moved to another backup or position does not decrypt as that one. */
export const chunkContext = (backupId: string, n: number): Record<string, string> => ({
  'gamekeep:backup': backupId,
  'gamekeep:chunk': String(n),
});

export const sealContext = (backupId: string, manifestSha256: string): Record<string, string> => ({
  'gamekeep:backup': backupId,
  'gamekeep:manifest-sha256': manifestSha256,
});
