import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { BackupBucket } from './backupBucket.js';
import { seal, type BackupKey } from './encryption.js';
import {
  chunkContext,
  chunkKey,
  manifestKey,
  sealContext,
  sealKey,
  sha256,
  type BackupManifest,
  type BackupTier,
  type ChunkEntry,
} from './manifest.js';

const gzipAsync = promisify(gzip);

/** Writes a backup's lines in chunks: JSON lines, gzip, one AWS Encryption SDK message each, hashed as stored. */
export class ChunkWriter {
  readonly chunks: ChunkEntry[] = [];
  private pending: string[] = [];
  lines = 0;

  constructor(
    private readonly deps: { readonly bucket: BackupBucket; readonly key: BackupKey },
    private readonly backupId: string,
    private readonly tier: BackupTier,
    readonly chunkItems: number,
  ) {
    if (!Number.isInteger(chunkItems) || chunkItems < 1) throw new RangeError('chunkItems must be a whole number ≥ 1');
  }

  async add(lines: readonly string[]): Promise<void> {
    this.pending.push(...lines);
    this.lines += lines.length;
    while (this.pending.length >= this.chunkItems) {
      const chunk = this.pending.slice(0, this.chunkItems);
      this.pending = this.pending.slice(this.chunkItems);
      await this.flush(chunk);
    }
  }

  /** The last chunk (an empty backup has one empty chunk, so every backup has something to verify). */
  async finish(): Promise<ChunkEntry[]> {
    if (this.pending.length > 0 || this.chunks.length === 0) await this.flush(this.pending);
    this.pending = [];
    return this.chunks;
  }

  private async flush(lines: readonly string[]): Promise<void> {
    const n = this.chunks.length;
    const entry = { n, items: lines.length, bytes: 0, sha256: '' };
    this.chunks.push(entry);
    const compressed = await gzipAsync(Buffer.from(`${lines.join('\n')}\n`));
    const stored = await seal(this.deps.key, compressed, chunkContext(this.backupId, n));
    entry.bytes = stored.length;
    entry.sha256 = sha256(stored);
    await this.deps.bucket.put(chunkKey(this.backupId, n), stored, { tier: this.tier });
  }
}

/**
 * The manifest and its seal, the seal first: a backup without a manifest is no backup (one that died half-way),
 * and a manifest is never without the seal that proves it.
 */
export async function writeManifest(
  deps: { readonly bucket: BackupBucket; readonly key: BackupKey },
  manifest: BackupManifest,
): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const digest = sha256(body);
  const sealed = await seal(deps.key, Buffer.from(digest), sealContext(manifest.backupId, digest));
  await deps.bucket.put(sealKey(manifest.backupId), sealed, { tier: manifest.tier });
  await deps.bucket.put(manifestKey(manifest.backupId), body, { contentType: 'application/json', tier: manifest.tier });
}
