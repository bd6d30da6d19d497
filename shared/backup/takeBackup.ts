import { randomBytes } from 'node:crypto';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EntityRegistry } from '../engine/registry.js';
import type { BackupBucket } from './backupBucket.js';
import { ChunkWriter, writeManifest } from './backupWriter.js';
import type { BackupKey } from './encryption.js';
import { archiveCursor } from './eventArchive.js';
import {
  BACKUP_FORMAT_VERSION,
  itemJson,
  itemKind,
  newBackupId,
  noItems,
  type BackupManifest,
  type BackupTier,
} from './manifest.js';
import { existingBackup, latestManifest } from './verifyBackup.js';

export interface BackupDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly registry: EntityRegistry;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  readonly now?: () => Date;
}

export interface BackupOptions {
  /** `daily` (the default) or `weekly`: how long it is kept (./retention.ts). */
  readonly tier?: Extract<BackupTier, 'daily' | 'weekly'>;
  /** Items per chunk (default 5000). */
  readonly chunkItems?: number;
  /** Parallel Scan segments (1-16, default 4). */
  readonly segments?: number;
  /** Items per Scan page (default 1000). */
  readonly pageSize?: number;
  /** Called after every Scan page is read, before the next one (tests commit between pages with it). */
  readonly afterPage?: (items: readonly Record<string, unknown>[]) => Promise<void>;
  /**
   * The backup's id, chosen by whoever asked for it (the admin API answers with it before the worker starts). A
   * job retried after its manifest was written finds its backup done and takes no other.
   */
  readonly backupId?: string;
}

/** How far before a full backup's start its successor's archive begins: clocks of two Lambdas differ a little. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * A full logical backup: every item of the table, read by a parallel Scan in two passes (the entities' partitions,
 * then everything else: claims, command records, runs), in chunks of JSON lines, gzip, encrypted; then the manifest,
 * chained to the previous backup of the table, and its seal. The manifest is written last: a backup that died
 * half-way has none, and is no backup.
 */
export async function takeBackup(deps: BackupDeps, options: BackupOptions = {}): Promise<BackupManifest> {
  const now = deps.now ?? (() => new Date());
  const segments = options.segments ?? 4;
  const tier = options.tier ?? 'daily';
  if (!Number.isInteger(segments) || segments < 1 || segments > 16) throw new RangeError('segments must be 1-16');
  const done = options.backupId !== undefined ? await existingBackup(deps.bucket, options.backupId) : undefined;
  if (done) return done;
  const startedAt = now();
  const backupId = options.backupId ?? newBackupId(startedAt, randomBytes(4).toString('hex'));
  const previous = await latestManifest(deps.bucket, deps.tableName);

  const counts = noItems();
  const writer = new ChunkWriter(deps, backupId, tier, options.chunkItems ?? 5000);
  const take = async (page: readonly Record<string, unknown>[]): Promise<void> => {
    for (const item of page) counts[itemKind(item, deps.registry)]++;
    await writer.add(page.map(itemJson));
  };

  // Entities first, then the rest: a claim or command record commits in the same transaction as its events, so
  // one read after the events were read is there whenever they are (docs/recovery.md, "Consistency").
  const prefixes = deps.registry.all().map((t) => `${t.keyPrefix}#`);
  const values = Object.fromEntries(prefixes.map((p, i) => [`:p${i}`, p]));
  const inEntity = prefixes.map((_, i) => `begins_with(pk, :p${i})`).join(' OR ');
  for (const filter of [inEntity, `NOT (${inEntity})`])
    await Promise.all(
      Array.from({ length: segments }, async (_, segment) => {
        let start: Record<string, unknown> | undefined;
        do {
          const out = await deps.db.send(
            new ScanCommand({
              TableName: deps.tableName,
              Segment: segment,
              TotalSegments: segments,
              Limit: options.pageSize ?? 1000,
              ConsistentRead: true,
              FilterExpression: filter,
              ExpressionAttributeValues: values,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          await take(out.Items ?? []);
          await options.afterPage?.(out.Items ?? []);
          start = out.LastEvaluatedKey;
        } while (start);
      }),
    );
  const chunks = await writer.finish();

  const cursor = archiveCursor(deps.tableName, new Date(startedAt.getTime() - CLOCK_MARGIN_MS));
  const manifest: BackupManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId,
    kind: 'full',
    tier,
    table: deps.tableName,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    consistentUpTo: startedAt.toISOString(),
    items: writer.lines,
    counts,
    chunkItems: writer.chunkItems,
    chunks,
    encoding: 'jsonl+gzip+aws-encryption-sdk',
    keyring: deps.key.description,
    archive: { after: cursor, upTo: cursor, objects: 0 },
    previous: previous
      ? { backupId: previous.manifest.backupId, manifestSha256: previous.sha256, tier: previous.manifest.tier }
      : null,
  };
  await writeManifest(deps, manifest);
  return manifest;
}
