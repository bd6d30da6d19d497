import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';
import type { EntityRegistry } from '../engine/registry.js';
import type { BackupBucket } from './backupBucket.js';
import { recordConfigVersion } from './configVersions.js';
import { runDrill, type DrillReport } from './drill.js';
import type { BackupKey } from './encryption.js';
import { BackupDamaged } from './errors.js';
import { backupPrefix, compactTime, type BackupManifest } from './manifest.js';
import { takeBackup } from './takeBackup.js';
import { takeIncrement } from './takeIncrement.js';
import { readManifest, verifyBackup } from './verifyBackup.js';

/** One unit of backup work: what the schedules and the admin API hand the backup worker. */
export type BackupJob =
  | { readonly job: 'full'; readonly tier?: 'daily' | 'weekly'; readonly backupId?: string }
  | { readonly job: 'incremental'; readonly archiveLagMs?: number; readonly backupId?: string }
  | { readonly job: 'verify'; readonly backupId: string; readonly verificationId: string }
  | { readonly job: 'drill'; readonly drillId?: string; readonly archiveLagMs?: number };

export type BackupJobResult =
  | { readonly job: 'full' | 'incremental'; readonly manifest: BackupManifest }
  | { readonly job: 'verify'; readonly verification: Verification }
  | { readonly job: 'drill'; readonly report: DrillReport };

/** A verification asked for through the API, kept beside its backup (`backups/<id>/verifications/<vid>.json`). */
export interface Verification {
  readonly verificationId: string;
  readonly backupId: string;
  readonly status: 'running' | 'passed' | 'failed';
  readonly ok: boolean;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly chunks?: number;
  readonly items?: number;
  readonly bytes?: number;
  readonly seconds?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface BackupJobDeps {
  readonly config: Config;
  readonly db: DynamoDBDocumentClient;
  readonly registry: EntityRegistry;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  readonly now?: () => Date;
}

const VERIFICATION_ID = /^v\d{8}T\d{9}Z-[0-9a-f]{6}$/;
export const isVerificationId = (id: string): boolean => VERIFICATION_ID.test(id);
export const newVerificationId = (at: Date): string => `v${compactTime(at)}-${randomBytes(3).toString('hex')}`;
const verificationKey = (backupId: string, verificationId: string) =>
  `${backupPrefix(backupId)}verifications/${verificationId}.json`;

export async function runBackupJob(deps: BackupJobDeps, job: BackupJob): Promise<BackupJobResult> {
  const tableName = deps.config.tableName;
  switch (job.job) {
    case 'full': {
      const manifest = await takeBackup(
        { ...deps, tableName },
        { tier: job.tier ?? 'daily', ...(job.backupId ? { backupId: job.backupId } : {}) },
      );
      await recordConfigVersion(deps.bucket, deps.config, deps.registry, deps.now?.());
      return { job: 'full', manifest };
    }
    case 'incremental':
      return {
        job: 'incremental',
        manifest: await takeIncrement(
          { ...deps, tableName },
          {
            ...(job.archiveLagMs !== undefined ? { archiveLagMs: job.archiveLagMs } : {}),
            ...(job.backupId ? { backupId: job.backupId } : {}),
          },
        ),
      };
    case 'verify':
      return { job: 'verify', verification: await verifyAndRecord(deps, job.backupId, job.verificationId) };
    case 'drill':
      return {
        job: 'drill',
        report: await runDrill(deps, {
          ...(job.drillId ? { drillId: job.drillId } : {}),
          ...(job.archiveLagMs !== undefined ? { archiveLagMs: job.archiveLagMs } : {}),
        }),
      };
  }
}

/** A verification as it starts: what the API answers, and what the worker records until it finishes. */
export function runningVerification(backupId: string, at: Date): Verification {
  return { verificationId: newVerificationId(at), backupId, status: 'running', ok: false, startedAt: at.toISOString() };
}

async function verifyAndRecord(deps: BackupJobDeps, backupId: string, verificationId: string): Promise<Verification> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now().toISOString();
  // Listed as running while the worker reads the backup.
  await keep(deps.bucket, { verificationId, backupId, status: 'running', ok: false, startedAt });
  let verification: Verification;
  try {
    const report = await verifyBackup(deps, backupId, undefined, now());
    verification = {
      verificationId,
      backupId,
      status: 'passed',
      ok: true,
      startedAt,
      finishedAt: now().toISOString(),
      chunks: report.chunks,
      items: report.items,
      bytes: report.bytes,
      seconds: report.seconds,
    };
  } catch (error) {
    if (!(error instanceof BackupDamaged)) throw error;
    verification = {
      verificationId,
      backupId,
      status: 'failed',
      ok: false,
      startedAt,
      finishedAt: now().toISOString(),
      error: { code: error.code, message: error.message },
    };
  }
  await keep(deps.bucket, verification);
  return verification;
}

export async function verificationOf(
  bucket: BackupBucket,
  backupId: string,
  verificationId: string,
): Promise<Verification | undefined> {
  if (!isVerificationId(verificationId)) return undefined;
  const bytes = await bucket.get(verificationKey(backupId, verificationId));
  return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as Verification) : undefined;
}

/** The newest verification of a backup (undefined: never verified through the API). */
export async function lastVerification(bucket: BackupBucket, backupId: string): Promise<Verification | undefined> {
  const keys = await bucket.keys(`${backupPrefix(backupId)}verifications/`);
  const last = keys.at(-1);
  return last ? verificationOf(bucket, backupId, last.slice(last.lastIndexOf('/') + 1, -'.json'.length)) : undefined;
}

async function keep(bucket: BackupBucket, verification: Verification): Promise<void> {
  const manifest = await readManifest(bucket, verification.backupId).catch(() => undefined);
  await bucket.put(
    verificationKey(verification.backupId, verification.verificationId),
    Buffer.from(`${JSON.stringify(verification, null, 2)}\n`),
    { contentType: 'application/json', ...(manifest ? { tier: manifest.manifest.tier } : {}) },
  );
}
