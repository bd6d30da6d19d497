import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../shared/backup/backupStore.js';

/** The S3 stand-in: `s3rver` in this process, keeping every object in a folder, so backups survive a restart. */
export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  /** A client of the stand-in (path-style, its fixed credentials); the caller destroys it. */
  client(): S3Client;
  stop(): Promise<void>;
}

/** s3rver 3.x ships no types: the part of its surface used here. */
interface S3rverServer {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  directory: string;
  silent: boolean;
  resetOnClose: boolean;
}) => S3rverServer;

/** Starts s3rver on a free port (or `port`) over `directory`, with `bucket` created when absent. */
export async function startLocalS3(options: { directory: string; bucket?: string; port?: number }): Promise<LocalS3> {
  mkdirSync(options.directory, { recursive: true });
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const server = new S3rver({
    port: options.port ?? 0,
    address: '127.0.0.1',
    directory: options.directory,
    silent: true,
    resetOnClose: false,
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = options.bucket ?? 'gamekeep-backups';
  const client = (): S3Client => s3Client({ region: 'us-east-1', s3Endpoint: endpoint });
  try {
    const s3 = client();
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket })).catch(async () => {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      });
    } finally {
      s3.destroy();
    }
  } catch (error) {
    await server.close();
    throw error;
  }
  return { endpoint, bucket, client, stop: () => server.close() };
}
