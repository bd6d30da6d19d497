import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sleep } from '../backoff.js';
import type { Config } from '../config.js';
import { checkExitCode } from '../checker/index.js';
import type { EntityRegistry } from '../engine/registry.js';
import { EVENT_SK_PREFIX } from '../persistence/tableLayout.js';
import type { BackupBucket } from './backupBucket.js';
import type { BackupKey } from './encryption.js';
import { archiveKeys, arrivalOf, commitTimeOf, readArchiveObject } from './eventArchive.js';
import { compactTime, itemJson, itemKey } from './manifest.js';
import { restoreBackup, type RestoreReport } from './restoreBackup.js';
import { takeBackup } from './takeBackup.js';
import { takeIncrement } from './takeIncrement.js';

export interface DrillDeps {
  readonly config: Config;
  readonly db: DynamoDBDocumentClient;
  readonly registry: EntityRegistry;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  readonly now?: () => Date;
}

export interface DrillOptions {
  readonly drillId?: string;
  /** As for increments: how long after its commit a write is surely archived (default 60 s). */
  readonly archiveLagMs?: number;
  readonly settleMs?: number;
  readonly segments?: number;
  /** Called as the drill moves from step to step (the CLI shows it). */
  readonly onStep?: (step: DrillStep) => void;
}

export type DrillStep = 'backup' | 'increment' | 'restore' | 'compare-source' | 'archive-lag' | 'cleanup';

/** One row of seed 004's RTO/RPO table, filled with what this drill measured. */
export interface RecoveryFigure {
  readonly failure: string;
  readonly strategy: string;
  readonly rto: string;
  readonly rpo: string;
}

export interface DrillReport {
  readonly drillId: string;
  /** `running` until the drill's report replaces the marker written as it starts. */
  readonly status: 'running' | 'passed' | 'failed';
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly source: string;
  readonly scratchTable: string;
  readonly fullBackupId?: string;
  readonly incrementId?: string;
  /** The point in time restored (the increment's `consistentUpTo`). */
  readonly cut?: string;
  readonly restore?: Pick<
    RestoreReport,
    'restored' | 'backedUp' | 'equal' | 'seconds' | 'itemsPerSecond' | 'recordsApplied'
  >;
  /** The restore's consistency check: its counts by class. */
  readonly check?: {
    readonly checkId: string;
    readonly counts: RestoreReport['check']['counts'];
    readonly clean: boolean;
  };
  /** The source's events committed up to the cut, against the scratch table's: lost must be 0. */
  readonly rpo?: {
    readonly sourceEvents: number;
    readonly restoredEvents: number;
    readonly eventsLost: number;
    readonly lostKeys: readonly string[];
  };
  /** Commit to archive, for the records archived since the drill's full backup started. */
  readonly archiveLag?: {
    readonly records: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  readonly figures: readonly RecoveryFigure[];
  readonly failure?: string;
}

export const DRILL_ID = /^d\d{8}T\d{9}Z-[0-9a-f]{6}$/;
export const isDrillId = (id: string): boolean => DRILL_ID.test(id);
export const newDrillId = (at: Date): string => `d${compactTime(at)}-${randomBytes(3).toString('hex')}`;
export const drillReportKey = (drillId: string): string => `drills/${drillId}.json`;
/** Scratch tables are named so the drill's permissions reach them and nothing else (`<table>-drill-*`). */
export const scratchTableOf = (table: string, drillId: string): string => `${table}-drill-${drillId.slice(-6)}`;

/**
 * A restore drill (restic's `check --read-data` carried to the end): a full backup and an increment of the live
 * table, restored into a scratch table at the increment's cut, verified on the way (chunks, chain, item-by-item
 * comparison, the consistency checker), then held against the source itself: every event the source committed up
 * to the cut must be in the scratch table byte for byte. The scratch table is removed whatever happens; the report
 * (seed 004's RTO/RPO table, measured) is kept in the bucket as `drills/<drillId>.json`.
 */
export async function runDrill(deps: DrillDeps, options: DrillOptions = {}): Promise<DrillReport> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const drillId = options.drillId ?? newDrillId(started);
  if (!isDrillId(drillId)) throw new RangeError(`${drillId} is not a drill id`);
  const source = deps.config.tableName;
  const scratchTable = scratchTableOf(source, drillId);
  const step = (s: DrillStep) => options.onStep?.(s);
  const lag = {
    archiveLagMs: options.archiveLagMs ?? 60_000,
    ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
  };
  const base = { drillId, startedAt: started.toISOString(), source, scratchTable };
  let partial: Partial<DrillReport> = {};
  let report: DrillReport;
  await keepReport(deps.bucket, { ...base, status: 'running', figures: [] });
  try {
    step('backup');
    const full = await takeBackup(
      { ...deps, tableName: source },
      options.segments ? { segments: options.segments } : {},
    );
    partial = { fullBackupId: full.backupId };
    step('increment');
    const increment = await takeIncrement({ ...deps, tableName: source }, lag);
    partial = { ...partial, incrementId: increment.backupId, cut: increment.consistentUpTo };
    step('restore');
    const restored = await restoreBackup(deps, increment.backupId, scratchTable, {
      ...lag,
      ...(options.segments ? { segments: options.segments } : {}),
    });
    const clean = checkExitCode(restored.check) === 0;
    partial = {
      ...partial,
      restore: {
        restored: restored.restored,
        backedUp: restored.backedUp,
        equal: restored.equal,
        seconds: restored.seconds,
        itemsPerSecond: restored.itemsPerSecond,
        recordsApplied: restored.recordsApplied,
      },
      check: { checkId: restored.check.checkId, counts: restored.check.counts, clean },
    };
    step('compare-source');
    const rpo = await eventsLost(deps.db, source, scratchTable, increment.consistentUpTo);
    step('archive-lag');
    const archiveLag = await archiveLagSince(deps, source, full.archive.after, started);
    const failure = !clean
      ? `the consistency check of the restored table has findings (${JSON.stringify(restored.check.counts)})`
      : rpo.eventsLost > 0
        ? `${rpo.eventsLost} events the source committed before the cut are not in the restore`
        : undefined;
    report = {
      ...base,
      ...partial,
      status: failure ? 'failed' : 'passed',
      finishedAt: now().toISOString(),
      rpo,
      ...(archiveLag ? { archiveLag } : {}),
      figures: figuresOf(restored, rpo.eventsLost, archiveLag),
      ...(failure ? { failure } : {}),
    };
  } catch (error) {
    report = {
      ...base,
      ...partial,
      status: 'failed',
      finishedAt: now().toISOString(),
      figures: [],
      failure: error instanceof Error ? error.message : String(error),
    };
  } finally {
    step('cleanup');
    await dropTable(deps.db, scratchTable);
  }
  await keepReport(deps.bucket, report);
  return report;
}

const keepReport = (bucket: BackupBucket, report: DrillReport): Promise<void> =>
  bucket.put(drillReportKey(report.drillId), Buffer.from(`${JSON.stringify(report, null, 2)}\n`), {
    contentType: 'application/json',
    tier: 'daily',
  });

/** A drill's report as kept in the bucket (undefined: no such drill, or it is still running). */
export async function drillReport(bucket: BackupBucket, drillId: string): Promise<DrillReport | undefined> {
  if (!isDrillId(drillId)) return undefined;
  const bytes = await bucket.get(drillReportKey(drillId));
  return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as DrillReport) : undefined;
}

/** The newest drill's report, for the console's "last drill" and the CLI's `backups` listing. */
export async function lastDrill(bucket: BackupBucket): Promise<DrillReport | undefined> {
  const keys = (await bucket.keys('drills/')).filter((k) => k.endsWith('.json'));
  const last = keys.at(-1);
  return last ? drillReport(bucket, last.slice('drills/'.length, -'.json'.length)) : undefined;
}

/** Every event item of the source committed up to `cut`, looked up in the restore: missing or different is lost. */
async function eventsLost(
  db: DynamoDBDocumentClient,
  source: string,
  restored: string,
  cut: string,
): Promise<{ sourceEvents: number; restoredEvents: number; eventsLost: number; lostKeys: string[] }> {
  const events = async (table: string) => {
    const out = new Map<string, string>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          ConsistentRead: true,
          FilterExpression: 'begins_with(sk, :e) AND committedAt <= :cut',
          ExpressionAttributeValues: { ':e': EVENT_SK_PREFIX, ':cut': cut },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) out.set(itemKey(item), itemJson(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  };
  const [want, have] = await Promise.all([events(source), events(restored)]);
  const lostKeys = [...want].filter(([k, json]) => have.get(k) !== json).map(([k]) => k);
  return {
    sourceEvents: want.size,
    restoredEvents: have.size,
    eventsLost: lostKeys.length,
    lostKeys: lostKeys.slice(0, 20),
  };
}

/** Commit-to-archive lag of every record in the archive objects written since `after`. */
async function archiveLagSince(
  deps: Pick<DrillDeps, 'bucket' | 'key'>,
  table: string,
  after: string,
  since: Date,
): Promise<DrillReport['archiveLag'] | undefined> {
  const lags: number[] = [];
  for (const key of await archiveKeys(deps.bucket, table, after)) {
    const arrived = arrivalOf(key).getTime();
    for (const r of await readArchiveObject(deps, key)) {
      const committed = Date.parse(commitTimeOf(r));
      if (committed >= since.getTime() - 60_000) lags.push(Math.max(0, arrived - committed));
    }
  }
  if (lags.length === 0) return undefined;
  lags.sort((a, b) => a - b);
  const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]!;
  return { records: lags.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: lags.at(-1)! };
}

function figuresOf(
  restored: RestoreReport,
  lost: number,
  lag: DrillReport['archiveLag'] | undefined,
): RecoveryFigure[] {
  const s = restored.seconds;
  return [
    {
      failure: 'Table lost, corrupted or wrongly changed (logical restore)',
      strategy: 'full backup + increments into a new table, verified, compared, checked',
      rto: `${s.total} s for ${restored.restored} items (verify ${s.verify} s, load ${s.load} s at ${restored.itemsPerSecond} items/s, compare ${s.compare} s, check ${s.check} s)`,
      rpo: `${lost} events lost at the cut${lag ? `; newer commits are archived after ${lag.p50Ms} ms (p50), ${lag.p99Ms} ms (p99)` : ''}`,
    },
  ];
}

async function dropTable(db: DynamoDBDocumentClient, table: string): Promise<void> {
  try {
    await db.send(new DeleteTableCommand({ TableName: table }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return;
    throw error;
  }
  for (let attempt = 0; attempt < 300; attempt++) {
    const gone = await db.send(new DescribeTableCommand({ TableName: table })).then(
      () => false,
      (error: { name?: string }) => error.name === 'ResourceNotFoundException',
    );
    if (gone) return;
    await sleep(1000);
  }
}
