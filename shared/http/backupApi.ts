import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import type { BackupStore } from '../backup/backupStore.js';
import { DRILL_ID, drillReport, isDrillId, lastDrill, newDrillId, type DrillReport } from '../backup/drill.js';
import { BackupDamaged } from '../backup/errors.js';
import { lastVerification, runningVerification, type BackupJob } from '../backup/jobs.js';
import { BACKUP_ID, isBackupId, newBackupId, type BackupManifest } from '../backup/manifest.js';
import { latestManifest, readManifest } from '../backup/verifyBackup.js';
import type { Caller } from './caller.js';
import { HttpError, json, notFound } from './errors.js';
import { parseBody, parseQuery, pathParameters } from './input.js';
import { requirePermission } from './operatorRoles.js';
import { noQuery } from './schemas.js';

/**
 * The operators' backup routes (docs/recovery.md, "Backups"): take a backup, list them with their last
 * verification and the last drill, verify one, run a drill and read its report. The work runs in the backup worker
 * (in this process locally); this side only reads the bucket, so the API function can never damage a backup.
 */

export const backupIdSchema = z.string().regex(BACKUP_ID, 'must be a backup id like b20261202T061502123Z-1a2b3c4d');
export const drillIdSchema = z.string().regex(DRILL_ID, 'must be a drill id');

export const backupStartBody = z
  .strictObject({
    /** full (the default): every item; incremental: what the event archive received since the last backup. */
    kind: z.enum(['full', 'incremental']).optional(),
    /** A full backup's retention tier: daily (90 days, the default) or weekly (180 days). */
    tier: z.enum(['daily', 'weekly']).optional(),
  })
  .refine((b) => b.kind !== 'incremental' || b.tier === undefined, {
    message: 'tier is for full backups: an increment is kept in the hourly tier',
    path: ['tier'],
  });
/** Verifications and drills take nothing but may be sent an empty object. */
export const emptyBody = z.strictObject({});
export const backupListQuery = z
  .strictObject({
    limit: z
      .string()
      .regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')
      .transform(Number)
      .pipe(z.int().min(1).max(100))
      .optional(),
    /** The cursor: backups older than this one (the previous page's `next`). */
    after: backupIdSchema.optional(),
    /** This backup alone (an empty list while it is being taken). */
    backupId: backupIdSchema.optional(),
  })
  .refine((q) => q.after === undefined || q.backupId === undefined, {
    message: 'after and backupId exclude each other',
  });

export const verificationAnswer = z.object({
  verificationId: z.string(),
  backupId: z.string(),
  status: z.enum(['running', 'passed', 'failed']),
  ok: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  chunks: z.int().optional(),
  items: z.int().optional(),
  bytes: z.int().optional(),
  seconds: z.number().optional(),
  /** Why it failed: the damage code (CHUNK_HASH_MISMATCH, WRONG_KEY, CHAIN_BROKEN, …) and what was found. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export const backupAnswer = z.object({
  backupId: z.string(),
  kind: z.enum(['full', 'incremental']),
  tier: z.enum(['daily', 'weekly', 'hourly']),
  table: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  consistentUpTo: z.string(),
  /** Items (a full backup) or archive records (an increment). */
  items: z.int(),
  counts: z.record(z.string(), z.int()),
  chunks: z.int(),
  /** Stored (encrypted) bytes of its chunks. */
  bytes: z.int(),
  /** The backup it is chained to, null for the first of its table. */
  previous: z.string().nullable(),
  /** Its newest verification through the API; null when it was never verified so. */
  lastVerification: verificationAnswer.nullable(),
});
export const drillSummaryAnswer = z.object({
  drillId: z.string(),
  status: z.enum(['running', 'passed', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  cut: z.string().optional(),
  restored: z.int().optional(),
  restoreSeconds: z.number().optional(),
  eventsLost: z.int().optional(),
  failure: z.string().optional(),
});
export const backupPageAnswer = z.object({
  backups: z.array(backupAnswer),
  /** Pass as `after` for the next (older) page; null at the end. */
  next: z.string().nullable(),
  lastDrill: drillSummaryAnswer.nullable(),
});
export const backupStartedAnswer = z.object({
  backupId: z.string(),
  kind: z.enum(['full', 'incremental']),
  tier: z.enum(['daily', 'weekly', 'hourly']),
  status: z.literal('started'),
});
export const drillStartedAnswer = z.object({ drillId: z.string(), status: z.literal('started') });
const figure = z.object({ failure: z.string(), strategy: z.string(), rto: z.string(), rpo: z.string() });
export const drillReportAnswer = z.object({
  drillId: z.string(),
  status: z.enum(['running', 'passed', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  source: z.string(),
  scratchTable: z.string(),
  fullBackupId: z.string().optional(),
  incrementId: z.string().optional(),
  cut: z.string().optional(),
  restore: z
    .object({
      restored: z.int(),
      backedUp: z.int(),
      equal: z.int(),
      itemsPerSecond: z.number(),
      recordsApplied: z.int(),
      seconds: z.record(z.string(), z.number()),
    })
    .optional(),
  check: z.object({ checkId: z.string(), counts: z.record(z.string(), z.int()), clean: z.boolean() }).optional(),
  rpo: z
    .object({
      sourceEvents: z.int(),
      restoredEvents: z.int(),
      eventsLost: z.int(),
      lostKeys: z.array(z.string()),
    })
    .optional(),
  archiveLag: z.object({ records: z.int(), p50Ms: z.number(), p99Ms: z.number(), maxMs: z.number() }).optional(),
  /** Seed 004's RTO/RPO table, filled with what this drill measured. */
  figures: z.array(figure),
  failure: z.string().optional(),
});

export type BackupView = z.infer<typeof backupAnswer>;
export type DrillSummary = z.infer<typeof drillSummaryAnswer>;

export interface BackupApiDeps {
  /** The live table, the one backups are taken of. */
  readonly tableName: string;
  /** The stack's bucket and key; undefined when it keeps no backups; throws when they are misconfigured. */
  readonly store: () => BackupStore | undefined;
  /** Hands a job to the backup worker (on AWS an asynchronous invocation; locally this process, after the answer). */
  readonly run: (job: BackupJob) => Promise<void>;
  readonly now: () => Date;
}

type Result = Promise<APIGatewayProxyStructuredResultV2>;

const noBackup = (backupId: string) => notFound('BACKUP_NOT_FOUND', `no backup ${backupId}`);
const listing = (backupId: string) => `/v1/admin/backups?backupId=${backupId}`;

/** POST /v1/admin/backups {kind?, tier?}: 202 with the id the backup will have; it is listed once it is whole. */
export async function startBackup(deps: BackupApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'backups.run');
  parseQuery(event, noQuery);
  const body = event.body ? parseBody(event, backupStartBody) : {};
  const { bucket } = storeOf(deps);
  const kind = body.kind ?? 'full';
  if (kind === 'incremental' && !(await latestManifest(bucket, deps.tableName)))
    throw new HttpError(
      409,
      'INCREMENT_WITHOUT_BASE',
      `table ${deps.tableName} has no backup yet: an increment needs one to start from (take a full one first)`,
    );
  const backupId = newBackupId(deps.now(), randomBytes(4).toString('hex'));
  const tier = kind === 'full' ? (body.tier ?? 'daily') : 'hourly';
  await deps.run(
    kind === 'full' ? { job: 'full', tier: body.tier ?? 'daily', backupId } : { job: 'incremental', backupId },
  );
  return json(202, { backupId, kind, tier, status: 'started' }, { location: listing(backupId) });
}

/**
 * GET /v1/admin/backups?limit=&after=&backupId=: backups newest first (only whole ones: a backup is listed once its
 * manifest is written), each with its last verification, and the last drill's summary.
 */
export async function listBackupPage(deps: BackupApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'backups.read');
  const query = parseQuery(event, backupListQuery);
  const { bucket } = storeOf(deps);
  const limit = query.limit ?? 20;
  const ids = (await bucket.folders('backups/'))
    .filter(isBackupId)
    .reverse()
    .filter((id) => (query.backupId ? id === query.backupId : !query.after || id < query.after));
  const page: BackupView[] = [];
  let read = 0;
  while (page.length < limit && read < ids.length) {
    const batch = ids.slice(read, read + limit - page.length);
    read += batch.length;
    for (const view of await Promise.all(batch.map((id) => backupView(bucket, id)))) if (view) page.push(view);
  }
  const drill = await lastDrill(bucket);
  return json(200, {
    backups: page,
    next: read < ids.length ? (page.at(-1)?.backupId ?? null) : null,
    lastDrill: drill ? drillSummary(drill) : null,
  });
}

/**
 * POST /v1/admin/backups/{backupId}/verifications: re-reads the whole backup in the worker (every chunk's hash,
 * the manifest's seal, the chain, decryption); 202 with the verification as it starts. Its result becomes the
 * backup's `lastVerification` in the listing.
 */
export async function startVerification(deps: BackupApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'backups.run');
  parseQuery(event, noQuery);
  if (event.body) parseBody(event, emptyBody);
  const backupId = pathParameters(event).backupId ?? '';
  if (!isBackupId(backupId)) throw noBackup(backupId);
  const { bucket } = storeOf(deps);
  try {
    await readManifest(bucket, backupId);
  } catch (error) {
    if (!(error instanceof BackupDamaged)) throw error;
    // An unreadable manifest is verified too: the verification records the damage.
    if (error.code === 'BACKUP_NOT_FOUND') throw noBackup(backupId);
  }
  const verification = runningVerification(backupId, deps.now());
  await deps.run({ job: 'verify', backupId, verificationId: verification.verificationId });
  return json(202, verification, { location: listing(backupId) });
}

/** POST /v1/admin/drills: a full backup and an increment restored into a scratch table, verified, measured. */
export async function startDrill(deps: BackupApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'drills.run');
  parseQuery(event, noQuery);
  if (event.body) parseBody(event, emptyBody);
  storeOf(deps);
  const drillId = newDrillId(deps.now());
  await deps.run({ job: 'drill', drillId });
  return json(202, { drillId, status: 'started' }, { location: `/v1/admin/drills/${drillId}` });
}

/**
 * GET /v1/admin/drills/{drillId}: the report, `running` from the moment the worker starts the drill, then passed or
 * failed with its RTO/RPO figures. 404 before the worker started it, and for an unknown drill.
 */
export async function getDrillReport(deps: BackupApiDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'backups.read');
  parseQuery(event, noQuery);
  const drillId = pathParameters(event).drillId ?? '';
  if (!isDrillId(drillId)) throw notFound('DRILL_NOT_FOUND', `no drill ${drillId}`);
  const report = await drillReport(storeOf(deps).bucket, drillId);
  if (!report)
    throw notFound('DRILL_NOT_FOUND', `no drill ${drillId} (yet: a drill is listed once the worker starts it)`);
  return json(200, report);
}

/** The stack's backups, or 503: no bucket here (a stack without backups) or one without its key. */
function storeOf(deps: BackupApiDeps): BackupStore {
  let store: BackupStore | undefined;
  try {
    store = deps.store();
  } catch (error) {
    throw new HttpError(503, 'BACKUPS_UNAVAILABLE', `backups are misconfigured here: ${(error as Error).message}`);
  }
  if (!store)
    throw new HttpError(
      503,
      'BACKUPS_UNAVAILABLE',
      'this stack keeps no backups: no backup bucket is configured (GAMEKEEP_BACKUP_BUCKET)',
    );
  return store;
}

/** A backup as the listing shows it; undefined while it has no manifest (being taken, or died half-way). */
async function backupView(bucket: BackupStore['bucket'], backupId: string): Promise<BackupView | undefined> {
  const [manifest, verification] = await Promise.all([
    readManifest(bucket, backupId).then(
      (read): BackupManifest | undefined => read.manifest,
      (error: unknown) => {
        if (error instanceof BackupDamaged) return undefined;
        throw error;
      },
    ),
    lastVerification(bucket, backupId),
  ]);
  if (!manifest) return undefined;
  return {
    backupId: manifest.backupId,
    kind: manifest.kind,
    tier: manifest.tier,
    table: manifest.table,
    startedAt: manifest.startedAt,
    finishedAt: manifest.finishedAt,
    consistentUpTo: manifest.consistentUpTo,
    items: manifest.items,
    counts: manifest.counts,
    chunks: manifest.chunks.length,
    bytes: manifest.chunks.reduce((n, c) => n + c.bytes, 0),
    previous: manifest.previous?.backupId ?? null,
    lastVerification: verification ?? null,
  };
}

function drillSummary(report: DrillReport): DrillSummary {
  return {
    drillId: report.drillId,
    status: report.status,
    startedAt: report.startedAt,
    ...(report.finishedAt ? { finishedAt: report.finishedAt } : {}),
    ...(report.cut ? { cut: report.cut } : {}),
    ...(report.restore ? { restored: report.restore.restored, restoreSeconds: report.restore.seconds.total } : {}),
    ...(report.rpo ? { eventsLost: report.rpo.eventsLost } : {}),
    ...(report.failure ? { failure: report.failure } : {}),
  };
}
