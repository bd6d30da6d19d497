import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { DynamoDBRecord } from 'aws-lambda';
import { fromStreamImage } from '../readside/streamImage.js';
import type { BackupBucket } from './backupBucket.js';
import { seal, unseal, type BackupKey } from './encryption.js';
import { BackupDamaged } from './errors.js';
import { compactTime } from './manifest.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * One write of the table as its stream delivered it: the item after the write (`put`) or its key (`delete`), with
 * the stream's sequence number, which orders the writes of one item.
 */
export interface ArchiveRecord {
  readonly seq: string;
  /** The stream record's creation (whole seconds on AWS). */
  readonly at: string;
  readonly op: 'put' | 'delete';
  readonly pk: string;
  readonly sk: string;
  readonly item?: Record<string, unknown>;
}

/** Where a table's archive objects live: `archive/<table>/<arrival>-<random>`, so key order is arrival order. */
export const archivePrefix = (table: string): string => `archive/${table}/`;

/** The cursor just before every archive object written at or after `at`. */
export const archiveCursor = (table: string, at: Date): string => `${archivePrefix(table)}${compactTime(at)}`;

/** When an archive object was written, from its key. */
export function arrivalOf(key: string): Date {
  const stamp = key.slice(key.lastIndexOf('/') + 1).split('-')[0] ?? '';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) throw new Error(`${key} is not an archive object`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
}

/**
 * When the write took effect, for a point-in-time restore: the commit's own clock, which every item of one
 * transaction shares (`committedAt` of events and snapshots, `updatedAt` of states, `decidedAt` of command records,
 * `claimedAt` of claims), else the stream record's time.
 */
export function commitTimeOf(record: ArchiveRecord): string {
  const i = record.item;
  for (const field of ['committedAt', 'updatedAt', 'decidedAt', 'claimedAt'] as const)
    if (typeof i?.[field] === 'string') return i[field];
  return record.at;
}

/** The stream's records as archive records (writes to other tables' streams have no place here). */
export function archiveRecordsOf(records: readonly DynamoDBRecord[]): ArchiveRecord[] {
  return records.flatMap((r): ArchiveRecord[] => {
    const d = r.dynamodb;
    if (!d?.Keys || !d.SequenceNumber) return [];
    const keys = fromStreamImage(d.Keys);
    const at = new Date((d.ApproximateCreationDateTime ?? Date.now() / 1000) * 1000).toISOString();
    const base = { seq: d.SequenceNumber, at, pk: String(keys.pk), sk: String(keys.sk) };
    if (r.eventName === 'REMOVE') return [{ ...base, op: 'delete' }];
    return d.NewImage ? [{ ...base, op: 'put', item: fromStreamImage(d.NewImage) }] : [];
  });
}

const archiveContext = (key: string): Record<string, string> => ({ 'gamekeep:archive': key });

/**
 * Appends records to the archive as one object: JSON lines, gzip, encrypted under the backup key with the object's
 * key in its encryption context (an object renamed or cut short does not decrypt). A retried batch writes its
 * records again under another key; readers keep one record per item and sequence number.
 */
export async function appendToArchive(
  deps: {
    readonly bucket: BackupBucket;
    readonly key: BackupKey;
    readonly tableName: string;
    readonly now?: () => Date;
  },
  records: readonly ArchiveRecord[],
): Promise<string | undefined> {
  if (records.length === 0) return undefined;
  const key = `${archivePrefix(deps.tableName)}${compactTime((deps.now ?? (() => new Date()))())}-${randomBytes(4).toString('hex')}`;
  const body = await gzipAsync(Buffer.from(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`));
  await deps.bucket.put(key, await seal(deps.key, body, archiveContext(key)), { tier: 'archive' });
  return key;
}

/** The archive objects after `after` (a cursor or an object key) and up to `upTo` (inclusive), in arrival order. */
export async function archiveKeys(
  bucket: BackupBucket,
  table: string,
  after: string,
  upTo?: string,
): Promise<string[]> {
  const keys = await bucket.keys(archivePrefix(table), after);
  return keys.filter((k) => k > after && (upTo === undefined || k <= upTo));
}

/** One archive object's records, once it decrypted under its own key; anything else is refused. */
export async function readArchiveObject(
  deps: { readonly bucket: BackupBucket; readonly key: BackupKey },
  key: string,
): Promise<ArchiveRecord[]> {
  const damaged = (message: string) => new BackupDamaged('ARCHIVE_UNREADABLE', key, message);
  const stored = await deps.bucket.get(key);
  if (!stored) throw damaged('the archive object is gone');
  let opened: Awaited<ReturnType<typeof unseal>>;
  try {
    opened = await unseal(deps.key, stored);
  } catch (error) {
    throw damaged(`it does not decrypt with this key: ${(error as Error).message}`);
  }
  if (opened.context['gamekeep:archive'] !== key) throw damaged('it was written as another archive object');
  const lines = (await gunzipAsync(opened.plaintext)).toString('utf8').split('\n');
  if (lines.pop() !== '') throw damaged('its last line is not complete');
  return lines.map((line) => JSON.parse(line) as ArchiveRecord);
}

/** Sequence numbers are decimal strings of up to 40 digits: compared as numbers. */
export function compareSeq(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Applies archive records to items (keyed `pk|sk`) in each item's own order, up to `until`: duplicates (a retried
 * batch) count once, and an item stops at its first write after `until`, since later writes of one item never
 * precede earlier ones.
 */
export function applyRecords(
  items: Map<string, Record<string, unknown>>,
  records: readonly ArchiveRecord[],
  until: string,
): { applied: number; after: number } {
  const byItem = new Map<string, Map<string, ArchiveRecord>>();
  for (const r of records) {
    const key = `${r.pk}|${r.sk}`;
    const writes = byItem.get(key) ?? new Map<string, ArchiveRecord>();
    writes.set(r.seq, r);
    byItem.set(key, writes);
  }
  let applied = 0;
  let after = 0;
  for (const [key, writes] of byItem) {
    const ordered = [...writes.values()].sort((a, b) => compareSeq(a.seq, b.seq));
    let stopped = false;
    for (const r of ordered) {
      if (stopped || commitTimeOf(r) > until) {
        stopped = true;
        after++;
        continue;
      }
      if (r.op === 'put' && r.item) items.set(key, r.item);
      else items.delete(key);
      applied++;
    }
  }
  return { applied, after };
}
