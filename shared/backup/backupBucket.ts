import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { RetentionTier } from './retention.js';

/** The object tag that carries an object's retention tier; the bucket's lifecycle rules match on it. */
export const TIER_TAG = 'gamekeep:tier';

/** Where backups and the event archive live: one S3 bucket (s3rver locally), the same calls in both places. */
export class BackupBucket {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /**
   * Writes an object tagged with its retention tier (`gamekeep:tier`): on AWS the bucket's lifecycle rules expire
   * it by that tag (lib/constructs/backupVault.ts); locally `prune` applies the same table (./retention.ts).
   */
  async put(
    key: string,
    body: Uint8Array,
    options: { readonly contentType?: string; readonly tier?: RetentionTier } = {},
  ): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: options.contentType ?? 'application/octet-stream',
        ...(options.tier ? { Tagging: `${encodeURIComponent(TIER_TAG)}=${options.tier}` } : {}),
      }),
    );
  }

  /** The object's bytes, or undefined when there is none. */
  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** The folder names directly under `prefix` (`backups/<backupId>/` → the backup ids), sorted. */
  async folders(prefix: string): Promise<string[]> {
    const names: string[] = [];
    await this.list({ Prefix: prefix, Delimiter: '/' }, (out) => {
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) names.push(p.Prefix.slice(prefix.length, -1));
    });
    return names.sort();
  }

  /** The keys under `prefix` after `startAfter` (a key or a key's beginning), in key order. */
  async keys(prefix: string, startAfter?: string): Promise<string[]> {
    const keys: string[] = [];
    await this.list({ Prefix: prefix, ...(startAfter ? { StartAfter: startAfter } : {}) }, (out) => {
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    });
    return keys.sort();
  }

  /** Deletes the objects (1,000 a request); on a versioned bucket this leaves delete markers, as lifecycle does. */
  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const out = await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (out.Errors?.length)
        throw new Error(
          `could not delete ${out.Errors.length} objects: ${out.Errors[0]?.Key} ${out.Errors[0]?.Message}`,
        );
    }
  }

  private async list(
    input: { Prefix: string; Delimiter?: string; StartAfter?: string },
    take: (out: { CommonPrefixes?: { Prefix?: string }[]; Contents?: { Key?: string }[] }) => void,
  ): Promise<void> {
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, ...input, ...(token ? { ContinuationToken: token } : {}) }),
      );
      take(out);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
}
