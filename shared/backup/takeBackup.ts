import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EntityRegistry } from '../engine/registry.js';
import type { BackupBucket } from './backupBucket.js';
import { seal, type BackupKey } from './encryption.js';
import {
  BACKUP_FORMAT_VERSION,
  chunkContext,
  chunkKey,
  itemJson,
  itemKind,
  manifestKey,
  newBackupId,
  noItems,
  sealContext,
  sealKey,
  sha256,
  type BackupManifest,
  type ChunkEntry,
} from './manifest.js';
import { latestManifest } from './verifyBackup.js';

const gzipAsync = promisify(gzip);

export interface BackupDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly registry: EntityRegistry;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  readonly now?: () => Date;
}

export interface BackupOptions {
  /** Items per chunk (default 5000). */
  readonly chunkItems?: number;
  /** Parallel Scan segments (1-16, default 4). */
  readonly segments?: number;
  /** Items per Scan page (default 1000). */
  readonly pageSize?: number;
  /** Called after every Scan page is read, before the next one (tests commit between pages with it). */
  readonly afterPage?: (items: readonly Record<string, unknown>[]) => Promise<void>;
}

/**
 * A full logical backup: every item of the table, read by a parallel Scan in two passes (the entities' partitions,
 * then everything else: claims, command records, runs), in chunks of JSON lines, gzip, encrypted; then the manifest,
 * chained to the previous backup of the table, and its seal. The manifest is written last: a backup that died
 * half-way has none, and is no backup.
 */
export async function takeBackup(deps: BackupDeps, options: BackupOptions = {}): Promise<BackupManifest> {
  const now = deps.now ?? (() => new Date());
  const chunkItems = options.chunkItems ?? 5000;
  const segments = options.segments ?? 4;
  if (!Number.isInteger(chunkItems) || chunkItems < 1) throw new RangeError('chunkItems must be a whole number ≥ 1');
  if (!Number.isInteger(segments) || segments < 1 || segments > 16) throw new RangeError('segments must be 1-16');
  const startedAt = now();
  const backupId = newBackupId(startedAt, randomBytes(4).toString('hex'));
  const previous = await latestManifest(deps.bucket, deps.tableName);

  const counts = noItems();
  const chunks: ChunkEntry[] = [];
  let pending: string[] = [];
  let items = 0;
  const flush = async (lines: string[]): Promise<void> => {
    const n = chunks.length;
    const entry: { n: number; items: number; bytes: number; sha256: string } = {
      n,
      items: lines.length,
      bytes: 0,
      sha256: '',
    };
    chunks.push(entry);
    const compressed = await gzipAsync(Buffer.from(`${lines.join('\n')}\n`));
    const stored = await seal(deps.key, compressed, chunkContext(backupId, n));
    entry.bytes = stored.length;
    entry.sha256 = sha256(stored);
    await deps.bucket.put(chunkKey(backupId, n), stored);
  };
  const take = async (page: readonly Record<string, unknown>[]): Promise<void> => {
    for (const item of page) {
      counts[itemKind(item, deps.registry)]++;
      pending.push(itemJson(item));
    }
    items += page.length;
    while (pending.length >= chunkItems) {
      const lines = pending.slice(0, chunkItems);
      pending = pending.slice(chunkItems);
      await flush(lines);
    }
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
  if (pending.length > 0 || chunks.length === 0) await flush(pending);

  const manifest: BackupManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId,
    kind: 'full',
    table: deps.tableName,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    consistentUpTo: startedAt.toISOString(),
    items,
    counts,
    chunkItems,
    chunks,
    encoding: 'jsonl+gzip+aws-encryption-sdk',
    keyring: deps.key.description,
    previous: previous ? { backupId: previous.manifest.backupId, manifestSha256: previous.sha256 } : null,
  };
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const digest = sha256(body);
  await deps.bucket.put(sealKey(backupId), await seal(deps.key, Buffer.from(digest), sealContext(backupId, digest)));
  await deps.bucket.put(manifestKey(backupId), body, 'application/json');
  return manifest;
}
