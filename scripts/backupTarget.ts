/**
 * Where `npm run backup`, `restore` and `verify-backup` keep backups: on the local stack, the s3rver `npm start`
 * runs over .gamekeep/s3 (or one started for the command's duration, over the same folder) and the key file
 * .gamekeep/backup.key (created on first use, mode 0600); on AWS, `--bucket` and `--kms-key` (or the stack's
 * GAMEKEEP_BACKUP_BUCKET and GAMEKEEP_BACKUP_KMS_KEY).
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalS3, type LocalS3 } from '../local/s3.js';
import {
  BackupBucket,
  BackupDamaged,
  RestoreRefused,
  kmsBackupKey,
  localBackupKey,
  s3Client,
  type BackupKey,
} from '../shared/backup/index.js';
import { dynamoDbClient } from '../shared/clients.js';
import type { Config } from '../shared/config.js';
import { gamekeepHome, targetStack } from './localSecrets.js';
import { usageError } from './commandLine.js';

export const BACKUP_TARGET_OPTIONS = {
  bucket: { type: 'string' },
  'kms-key': { type: 'string' },
} as const;

export interface BackupTarget {
  readonly config: Config;
  readonly local: boolean;
  readonly db: DynamoDBDocumentClient;
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  close(): Promise<void>;
}

export async function openBackupTarget(
  usage: string,
  options: { bucket?: string; 'kms-key'?: string },
): Promise<BackupTarget> {
  const { config, local } = targetStack();
  let s3: LocalS3 | undefined;
  let client: S3Client;
  let key: BackupKey;
  if (local && config.s3Endpoint && config.backupBucket && config.backupKeyFile) {
    // `npm start` runs the stand-in: one s3rver over the folder at a time.
    client = s3Client(config);
    key = localBackupKey(config.backupKeyFile);
  } else if (local) {
    s3 = await startLocalS3({
      directory: join(gamekeepHome, 's3'),
      ...(options.bucket ? { bucket: options.bucket } : {}),
    });
    client = s3.client();
    key = localBackupKey(join(gamekeepHome, 'backup.key'));
  } else {
    const kmsKey = options['kms-key'] ?? config.backupKmsKey;
    if (!(options.bucket ?? config.backupBucket) || !kmsKey)
      usageError(
        usage,
        'without a local stack (npm start), --bucket and --kms-key (or GAMEKEEP_BACKUP_BUCKET and GAMEKEEP_BACKUP_KMS_KEY) name the backups of a deployed one',
      );
    client = s3Client(config);
    key = kmsBackupKey(kmsKey);
  }
  const db = dynamoDbClient(config);
  return {
    config,
    local,
    db,
    bucket: new BackupBucket(client, s3?.bucket ?? options.bucket ?? config.backupBucket!),
    key,
    async close() {
      client.destroy();
      db.destroy();
      await s3?.stop();
    },
  };
}

/** What a backup command says when a backup is damaged or a restore refused: printed (JSON with `--json`), exit 1. */
export function refused(error: unknown, json: boolean, fields: Record<string, unknown> = {}): number {
  if (!(error instanceof BackupDamaged || error instanceof RestoreRefused)) throw error;
  if (json) console.log(JSON.stringify({ ...fields, error: { code: error.code, message: error.message } }));
  else console.error(error.message);
  return 1;
}

/** Runs a backup command to its exit code; an unexpected failure prints its message and exits 2. */
export function runBackupCommand(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(2);
    },
  );
}
