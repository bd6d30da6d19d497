import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { BackupBucket } from './backupBucket.js';
import { unseal, type BackupKey } from './encryption.js';
import { BackupDamaged } from './errors.js';
import {
  BACKUP_FORMAT_VERSION,
  chunkContext,
  chunkKey,
  isBackupId,
  manifestKey,
  sealContext,
  sealKey,
  sha256,
  backupTime,
  type BackupManifest,
} from './manifest.js';
import { expiresAt } from './retention.js';

const gunzipAsync = promisify(gunzip);

export interface VerifyDeps {
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
}

export interface VerifyReport {
  readonly backupId: string;
  readonly manifest: BackupManifest;
  readonly manifestSha256: string;
  readonly chunks: number;
  readonly items: number;
  /** Stored (encrypted) bytes read. */
  readonly bytes: number;
  readonly seconds: number;
  /** Its predecessor is gone by retention (past its tier's days), which ends the chain there: not damage. */
  readonly previousExpired: boolean;
}

/**
 * Re-reads a whole backup and refuses it at the first thing wrong, with a typed error (`BackupDamaged`): the
 * manifest and its seal (wrong key, edited manifest), the link to the previous backup, then every chunk: present,
 * of its size, of its SHA-256, decrypted under its own context, decompressed, every line parsed and counted.
 * `onItems` receives each chunk's items in order (a restore loads them only once all of them verified).
 */
export async function verifyBackup(
  deps: VerifyDeps,
  backupId: string,
  onItems?: (items: Record<string, unknown>[]) => void,
  now: Date = new Date(),
): Promise<VerifyReport> {
  const started = Date.now();
  const { manifest, sha256: digest } = await sealedManifest(deps, backupId);

  const previousExpired = await checkLink(deps, manifest, now);

  let bytes = 0;
  let items = 0;
  for (const [index, entry] of manifest.chunks.entries()) {
    const damaged = (code: ConstructorParameters<typeof BackupDamaged>[0], message: string) =>
      new BackupDamaged(code, backupId, `chunk ${entry.n}: ${message}`, entry.n);
    if (entry.n !== index) throw damaged('CHUNK_MISSING', `the manifest lists chunk ${entry.n} at position ${index}`);
    const stored = await deps.bucket.get(chunkKey(backupId, entry.n));
    if (!stored) throw damaged('CHUNK_MISSING', 'the object is gone');
    if (stored.length < entry.bytes)
      throw damaged('CHUNK_TRUNCATED', `${stored.length} bytes stored, ${entry.bytes} written`);
    if (stored.length !== entry.bytes || sha256(stored) !== entry.sha256)
      throw damaged('CHUNK_HASH_MISMATCH', 'the stored bytes do not hash to the manifest’s SHA-256');
    let opened: Awaited<ReturnType<typeof unseal>>;
    try {
      opened = await unseal(deps.key, stored);
    } catch (error) {
      throw damaged('WRONG_KEY', `it does not decrypt with this key: ${(error as Error).message}`);
    }
    for (const [k, v] of Object.entries(chunkContext(backupId, entry.n)))
      if (opened.context[k] !== v) throw damaged('CHUNK_UNREADABLE', `it was encrypted as ${k} ${opened.context[k]}`);
    let lines: string[];
    try {
      lines = (await gunzipAsync(opened.plaintext)).toString('utf8').split('\n');
    } catch (error) {
      throw damaged('CHUNK_UNREADABLE', `it does not decompress: ${(error as Error).message}`);
    }
    if (lines.pop() !== '') throw damaged('CHUNK_UNREADABLE', 'its last line is not complete');
    const parsed: Record<string, unknown>[] = [];
    for (const [i, line] of lines.entries()) {
      if (line === '' && entry.items === 0) continue;
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        throw damaged('CHUNK_UNREADABLE', `line ${i + 1} is not JSON`);
      }
    }
    if (parsed.length !== entry.items)
      throw damaged('CHUNK_UNREADABLE', `${parsed.length} items, the manifest says ${entry.items}`);
    bytes += stored.length;
    items += parsed.length;
    onItems?.(parsed);
  }
  if (items !== manifest.items)
    throw new BackupDamaged(
      'CHUNK_MISSING',
      backupId,
      `${items} items in the chunks, the manifest says ${manifest.items}`,
    );
  return {
    backupId,
    manifest,
    manifestSha256: digest,
    chunks: manifest.chunks.length,
    items,
    bytes,
    seconds: (Date.now() - started) / 1000,
    previousExpired,
  };
}

/**
 * The link to the previous backup: its manifest is there with the SHA-256 this one was chained to, and an
 * increment starts where its predecessor's archive ends. A predecessor past its retention may be gone (the chain
 * then starts here); one gone earlier is a broken chain.
 */
async function checkLink(deps: VerifyDeps, manifest: BackupManifest, now: Date): Promise<boolean> {
  const link = manifest.previous;
  if (!link) {
    if (manifest.kind === 'incremental')
      throw new BackupDamaged('CHAIN_BROKEN', manifest.backupId, 'an incremental backup names no backup before it');
    return false;
  }
  const broken = (message: string) => new BackupDamaged('CHAIN_BROKEN', manifest.backupId, message);
  const previous = await deps.bucket.get(manifestKey(link.backupId));
  if (!previous) {
    const expiry = expiresAt(link.tier, backupTime(link.backupId));
    if (expiry && expiry <= now) return true;
    throw broken(`the previous backup ${link.backupId} is gone before its ${link.tier} retention ended`);
  }
  if (sha256(previous) !== link.manifestSha256)
    throw broken(`the previous backup ${link.backupId}'s manifest is not the one this backup was chained to`);
  if (manifest.kind === 'incremental') {
    const before = JSON.parse(Buffer.from(previous).toString('utf8')) as BackupManifest;
    if (before.archive?.upTo !== manifest.archive.after)
      throw broken(
        `it starts at ${manifest.archive.after} of the archive, its predecessor ends at ${before.archive?.upTo}`,
      );
  }
  return false;
}

/** The manifest, once its seal opened with the key and holds the manifest's SHA-256 for this backup id. */
export async function sealedManifest(
  deps: VerifyDeps,
  backupId: string,
): Promise<{ manifest: BackupManifest; sha256: string }> {
  const read = await readManifest(deps.bucket, backupId);
  const sealed = await deps.bucket.get(sealKey(backupId));
  if (!sealed) throw new BackupDamaged('MANIFEST_HASH_MISMATCH', backupId, 'the manifest has no seal');
  let opened: Awaited<ReturnType<typeof unseal>>;
  try {
    opened = await unseal(deps.key, sealed);
  } catch (error) {
    throw new BackupDamaged('WRONG_KEY', backupId, `its seal does not open with this key: ${(error as Error).message}`);
  }
  const expected = sealContext(backupId, read.sha256);
  const matches =
    Buffer.from(opened.plaintext).toString() === read.sha256 &&
    Object.entries(expected).every(([k, v]) => opened.context[k] === v);
  if (!matches)
    throw new BackupDamaged('MANIFEST_HASH_MISMATCH', backupId, 'the manifest is not the one its seal was made for');
  return read;
}

/** A manifest as stored, not yet trusted: parsed and hashed. */
export async function readManifest(
  bucket: BackupBucket,
  backupId: string,
): Promise<{ manifest: BackupManifest; sha256: string }> {
  if (!isBackupId(backupId)) throw new BackupDamaged('BACKUP_NOT_FOUND', backupId, 'not a backup id');
  const bytes = await bucket.get(manifestKey(backupId));
  if (!bytes) throw new BackupDamaged('BACKUP_NOT_FOUND', backupId, 'there is no such backup (no manifest)');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as BackupManifest;
  } catch {
    throw new BackupDamaged('MANIFEST_UNREADABLE', backupId, 'the manifest is not JSON');
  }
  if (
    manifest.formatVersion !== BACKUP_FORMAT_VERSION ||
    manifest.backupId !== backupId ||
    !Array.isArray(manifest.chunks)
  )
    throw new BackupDamaged('MANIFEST_UNREADABLE', backupId, 'the manifest is not a backup manifest of this format');
  return { manifest, sha256: sha256(bytes) };
}

/** The newest backup of `table` whose manifest reads, to chain the next one to. */
export async function latestManifest(
  bucket: BackupBucket,
  table: string,
): Promise<{ manifest: BackupManifest; sha256: string } | undefined> {
  const ids = (await bucket.folders('backups/')).filter(isBackupId).reverse();
  for (const id of ids) {
    const read = await readManifest(bucket, id).catch(() => undefined);
    if (read?.manifest.table === table) return read;
  }
  return undefined;
}

/** Every backup in the bucket, oldest first, as its manifest says (unverified). */
export async function listBackups(bucket: BackupBucket): Promise<BackupManifest[]> {
  const out: BackupManifest[] = [];
  for (const id of (await bucket.folders('backups/')).filter(isBackupId)) {
    const read = await readManifest(bucket, id).catch(() => undefined);
    if (read) out.push(read.manifest);
  }
  return out;
}

/** The backup `backupId` when it is already whole (a retried job finds its backup done and takes no other). */
export async function existingBackup(bucket: BackupBucket, backupId: string): Promise<BackupManifest | undefined> {
  if (!isBackupId(backupId)) throw new RangeError(`${backupId} is not a backup id`);
  return (await bucket.get(manifestKey(backupId))) ? (await readManifest(bucket, backupId)).manifest : undefined;
}
