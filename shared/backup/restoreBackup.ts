import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoffMs, sleep } from '../backoff.js';
import type { Config } from '../config.js';
import { checkerDeps, runCheck, type CheckReport } from '../checker/index.js';
import type { EntityRegistry } from '../engine/registry.js';
import { TABLE_KEY, createTableInput } from '../persistence/tableDefinition.js';
import type { BackupBucket } from './backupBucket.js';
import { consistentCut, type CutChange, type PreservedEntity, type RepairedEntity } from './consistentCut.js';
import type { BackupKey } from './encryption.js';
import { RestoreRefused } from './errors.js';
import { applyRecords, archiveKeys, readArchiveObject, type ArchiveRecord } from './eventArchive.js';
import { itemJson, itemKey, itemKind, manifestKey, noItems, type BackupManifest, type KindCounts } from './manifest.js';
import { readManifest, verifyBackup } from './verifyBackup.js';

export interface RestoreDeps {
  /** The stack's configuration: its table is the live one, which is never a restore's target. */
  readonly config: Config;
  readonly db: DynamoDBDocumentClient;
  readonly registry: EntityRegistry;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
}

export interface RestoreOptions {
  /** Create the target with its stream (projections need one; a drill's scratch table does not). */
  readonly stream?: boolean;
  /** Parallel BatchWrite requests (default 8). */
  readonly writers?: number;
  /** Scan segments of the comparison and of the checker (default 4). */
  readonly segments?: number;
  /**
   * The point in time to restore to (ISO). Default: the newest the chain holds whole, the last increment's
   * `consistentUpTo` (a full backup alone: as it was taken). Past the last increment, the archive's newer objects
   * are read too, as far as they reach.
   */
  readonly until?: string;
  /** How long after its commit a write is surely in the archive (as for increments, default 60 s). */
  readonly archiveLagMs?: number;
}

export interface RestoreReport {
  readonly backupId: string;
  /** The full backup and the increments after it, oldest first. */
  readonly chain: readonly string[];
  readonly source: string;
  readonly table: string;
  /** The point in time restored: commits up to it are in the table, later ones are not. */
  readonly consistentUpTo: string;
  /** Archive records (increments and the archive beyond them) applied, and those left out as later than the point. */
  readonly recordsApplied: number;
  readonly recordsAfter: number;
  /** Archive objects read beyond the last increment. */
  readonly archiveObjects: number;
  /** Items the backups hold at the point in time, before the consistency pass. */
  readonly backedUp: number;
  readonly restored: number;
  readonly restoredByKind: KindCounts;
  /** What the consistency pass changed (each item listed), and the entities it took to another version. */
  readonly changes: readonly CutChange[];
  readonly repaired: readonly RepairedEntity[];
  readonly preserved: readonly PreservedEntity[];
  /** Items of the restored table byte-equal (logical JSON) to the backup's. */
  readonly equal: number;
  /** The consistency check of the restored table (its table checks). */
  readonly check: CheckReport;
  readonly seconds: {
    readonly verify: number;
    readonly load: number;
    readonly compare: number;
    readonly check: number;
    readonly total: number;
  };
  readonly itemsPerSecond: number;
}

const BATCH = 25;

/**
 * Restores a backup into a new table, never over a live one: refuses the source table and a table that holds
 * items, verifies the whole backup before creating anything (a damaged backup restores nothing), loads every item,
 * makes the cut consistent, then compares the table item by item with the backup and runs the consistency checker
 * on it (table checks).
 */
export async function restoreBackup(
  deps: RestoreDeps,
  backupId: string,
  targetTable: string,
  options: RestoreOptions = {},
): Promise<RestoreReport> {
  const started = Date.now();
  const chain = await chainTo(deps.bucket, backupId);
  const full = chain[0]!;
  const last = chain.at(-1)!;
  if (targetTable === last.table || targetTable === deps.config.tableName)
    throw new RestoreRefused('TARGET_IS_SOURCE', `${targetTable} is the live table: a restore goes into a new one`);
  const until =
    options.until !== undefined ? pointInTime(options.until) : chain.length > 1 ? last.consistentUpTo : undefined;
  if (until !== undefined && !(Date.parse(until) >= Date.parse(full.finishedAt)))
    throw new RestoreRefused(
      'UNTIL_OUT_OF_RANGE',
      `${until} is before the full backup ${full.backupId} finished (${full.finishedAt}): restore an earlier one`,
    );
  const exists = await tableExists(deps.db, targetTable);
  if (exists && (await holdsItems(deps.db, targetTable)))
    throw new RestoreRefused('TARGET_NOT_EMPTY', `table ${targetTable} exists and holds items`);

  // Everything is verified before anything is created: a damaged backup, increment or archive object restores nothing.
  const items = new Map<string, Record<string, unknown>>();
  const records: ArchiveRecord[] = [];
  for (const manifest of chain)
    await verifyBackup(deps, manifest.backupId, (lines) => {
      if (manifest.kind === 'full') for (const item of lines) items.set(itemKey(item), item);
      else records.push(...(lines as unknown as ArchiveRecord[]));
    });
  let archiveObjects = 0;
  if (until !== undefined && until > last.consistentUpTo) {
    // Every commit up to `until` has reached the archive once the archive's lag has passed since (the archiver's
    // iterator-age alarm is what says it fell behind).
    const reach = Date.now() - (options.archiveLagMs ?? 60_000);
    if (reach < Date.parse(until))
      throw new RestoreRefused(
        'UNTIL_OUT_OF_RANGE',
        `the backups hold commits up to ${last.consistentUpTo} and the archive up to ${new Date(reach).toISOString()}: ${until} is past both`,
      );
    const tail = await archiveKeys(deps.bucket, last.table, last.archive.upTo);
    for (const key of tail) records.push(...(await readArchiveObject(deps, key)));
    archiveObjects = tail.length;
  }
  const applied = until !== undefined ? applyRecords(items, records, until) : { applied: 0, after: 0 };
  const backedUp = [...items.values()];
  const verified = Date.now();

  const cut = consistentCut(backedUp, deps.registry, { consistentUpTo: until ?? full.consistentUpTo });
  if (!exists) await createTable(deps.db, targetTable, options.stream ?? false);
  await writeAll(deps.db, targetTable, cut.items, options.writers ?? 8);
  const loaded = Date.now();

  const equal = await compare(deps.db, targetTable, backedUp, cut.items, cut.changes, options.segments ?? 4);
  const compared = Date.now();

  const check = await runCheck(checkerDeps({ ...deps.config, tableName: targetTable }, deps.db), {
    segments: options.segments ?? 4,
  });
  const done = Date.now();

  const restoredByKind = noItems();
  for (const item of cut.items) restoredByKind[itemKind(item, deps.registry)]++;
  const s = (ms: number) => Math.round(ms) / 1000;
  return {
    backupId,
    chain: chain.map((m) => m.backupId),
    source: last.table,
    table: targetTable,
    consistentUpTo: until ?? full.consistentUpTo,
    recordsApplied: applied.applied,
    recordsAfter: applied.after,
    archiveObjects,
    backedUp: backedUp.length,
    restored: cut.items.length,
    restoredByKind,
    changes: cut.changes,
    repaired: cut.repaired,
    preserved: cut.preserved,
    equal,
    check,
    seconds: {
      verify: s(verified - started),
      load: s(loaded - verified),
      compare: s(compared - loaded),
      check: s(done - compared),
      total: s(done - started),
    },
    itemsPerSecond: Math.round(cut.items.length / Math.max((loaded - verified) / 1000, 0.001)),
  };
}

/** An ISO instant in the one form items carry (milliseconds, UTC), so instants compare as strings. */
function pointInTime(at: string): string {
  const ms = Date.parse(at);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(at))
    throw new RestoreRefused('UNTIL_OUT_OF_RANGE', `${at} is not an ISO 8601 date and time`);
  return new Date(ms).toISOString();
}

/**
 * The backups a restore of `backupId` reads: the nearest full backup before it, then every increment up to it,
 * each the predecessor the next was chained to (verification proves the links).
 */
async function chainTo(bucket: BackupBucket, backupId: string): Promise<BackupManifest[]> {
  const chain = [(await readManifest(bucket, backupId)).manifest];
  while (chain[0]!.kind === 'incremental') {
    const link = chain[0]!.previous;
    const before = link ? await bucket.get(manifestKey(link.backupId)) : undefined;
    if (!link || !before)
      throw new RestoreRefused(
        'INCREMENT_WITHOUT_BASE',
        `the increment ${chain[0]!.backupId} has no backup before it${link ? ` (${link.backupId} is gone)` : ''}: there is no full backup to start from`,
      );
    chain.unshift((await readManifest(bucket, link.backupId)).manifest);
  }
  return chain;
}

async function tableExists(db: DynamoDBDocumentClient, table: string): Promise<boolean> {
  try {
    await db.send(new DescribeTableCommand({ TableName: table }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || (error as { name?: string }).name === 'ResourceNotFoundException')
      return false;
    throw error;
  }
}

async function holdsItems(db: DynamoDBDocumentClient, table: string): Promise<boolean> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        Limit: 100,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    if ((out.Items ?? []).length > 0) return true;
    start = out.LastEvaluatedKey;
  } while (start);
  return false;
}

/** The table's definition (shared/persistence/tableDefinition.ts) and TTL, once it is ACTIVE. */
async function createTable(db: DynamoDBDocumentClient, table: string, stream: boolean): Promise<void> {
  await db.send(new CreateTableCommand(createTableInput(table, stream)));
  for (let attempt = 1; ; attempt++) {
    const out = await db.send(new DescribeTableCommand({ TableName: table }));
    if (out.Table?.TableStatus === 'ACTIVE') break;
    if (attempt > 600) throw new Error(`table ${table} did not become ACTIVE`);
    await sleep(1000);
  }
  await db.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: TABLE_KEY.ttlAttribute, Enabled: true },
    }),
  );
}

/** BatchWrite, 25 items a request, `writers` at once, unprocessed items retried with backoff. */
async function writeAll(
  db: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
  writers: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < items.length) {
        let batch = items.slice(next, next + BATCH);
        next += BATCH;
        for (let attempt = 1; batch.length > 0; attempt++) {
          const out = await db.send(
            new BatchWriteCommand({ RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
          );
          batch = (out.UnprocessedItems?.[table] ?? []).map((r) => r.PutRequest!.Item!);
          if (batch.length > 0) {
            if (attempt >= 20) throw new Error(`${batch.length} items of ${table} stayed unprocessed`);
            await sleep(backoffMs(attempt, 50, 5000));
          }
        }
      }
    }),
  );
}

/**
 * The restored table against the backup, item by item (logical JSON, keys sorted): every backed-up item the
 * consistency pass did not change is there byte-equal, every changed one is as the pass made it, and nothing else.
 */
async function compare(
  db: DynamoDBDocumentClient,
  table: string,
  backedUp: readonly Record<string, unknown>[],
  expected: readonly Record<string, unknown>[],
  changes: readonly CutChange[],
  segments: number,
): Promise<number> {
  const restored = new Map<string, string>();
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) restored.set(itemKey(item), itemJson(item));
        start = out.LastEvaluatedKey;
      } while (start);
    }),
  );
  const changed = new Set(changes.map((c) => `${c.key.pk}|${c.key.sk}`));
  const wrong: string[] = [];
  let equal = 0;
  for (const item of backedUp) {
    const key = itemKey(item);
    if (changed.has(key)) continue;
    if (restored.get(key) === itemJson(item)) equal++;
    else wrong.push(`${key} ${restored.has(key) ? 'differs from the backup' : 'is missing'}`);
  }
  for (const item of expected) {
    const key = itemKey(item);
    if (changed.has(key) && restored.get(key) !== itemJson(item))
      wrong.push(`${key} is not as the consistency pass made it`);
  }
  const known = new Set(expected.map(itemKey));
  for (const key of restored.keys()) if (!known.has(key)) wrong.push(`${key} is not in the backup`);
  if (wrong.length > 0)
    throw new RestoreRefused(
      'RESTORE_MISMATCH',
      `the restored table ${table} differs from the backup in ${wrong.length} items: ${wrong.slice(0, 5).join('; ')}`,
    );
  return equal;
}
