import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import { BackupBucket } from './backupBucket.js';
import { kmsBackupKey, localBackupKey, type BackupKey } from './encryption.js';

/** s3rver's one built-in account: it checks every request's SigV4 signature against it. */
const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The backup bucket's client: the stand-in's when `s3Endpoint` is set (path-style; checksums only where S3
 * requires them, since s3rver predates the SDK's default CRC32 trailers), else AWS's default chain. Only the
 * functions that back up, archive or restore load it.
 */
export function s3Client(config: Pick<Config, 'region' | 's3Endpoint'>): S3Client {
  return new S3Client({
    region: config.region,
    ...(config.s3Endpoint
      ? {
          endpoint: config.s3Endpoint,
          forcePathStyle: true,
          credentials: s3rverCredentials,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
}

/** Where a stack keeps its backups, and the key they are sealed with. */
export interface BackupStore {
  readonly bucket: BackupBucket;
  readonly key: BackupKey;
  close(): void;
}

/**
 * The stack's backup bucket and key from its config: KMS on AWS (`backupKmsKey`), the local key file otherwise
 * (`backupKeyFile`); undefined when the stack keeps no backups.
 */
export function backupStore(config: Config): BackupStore | undefined {
  if (!config.backupBucket) return undefined;
  const key = config.backupKmsKey
    ? kmsBackupKey(config.backupKmsKey)
    : config.backupKeyFile
      ? localBackupKey(config.backupKeyFile)
      : undefined;
  if (!key)
    throw new Error('the backup bucket is set without a key: GAMEKEEP_BACKUP_KMS_KEY or GAMEKEEP_BACKUP_KEY_FILE');
  const client = s3Client(config);
  return { bucket: new BackupBucket(client, config.backupBucket), key, close: () => client.destroy() };
}
