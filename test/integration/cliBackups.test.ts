import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteTableCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../local/s3.js';
import { BackupBucket, chunkKey } from '../../shared/backup/index.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { startApiHarness, type ApiHarness } from './api/harness.js';

/**
 * Issue 12, item 7: `gamekeep backup | backups | verify | drill` through the HTTP API, and `restore` and `prune`
 * run by the operator against the stack's table and bucket, each as a person runs it (the bin, a child process) in a
 * directory whose .gamekeep/stack.json names a harness-started gateway with its s3rver and key file, as `npm start`
 * writes it, with no GAMEKEEP_* or AWS_* variable in its environment.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'cli', 'bin.js');

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GAMEKEEP_|REDIS_URL|AWS_)/.test(k)));

function gamekeep(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: cleanEnv(), timeout: 300_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}
const json = (r: Run): any => JSON.parse(r.out);

let h: ApiHarness;
let s3: LocalS3;
let tmp: string;
let dir: string;
let client: S3Client;
let bucket: BackupBucket;
let db: DynamoDBDocumentClient;
let backupId: string;
const restored = `restored-${Date.now().toString(36)}`;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'gamekeep-cli-backups-'));
  s3 = await startLocalS3({ directory: join(tmp, 's3') });
  h = await startApiHarness({
    config: { backupBucket: s3.bucket, s3Endpoint: s3.endpoint, backupKeyFile: join(tmp, 'backup.key') },
  });
  client = s3.client();
  bucket = new BackupBucket(client, s3.bucket);
  db = dynamoDbClient(h.config);
  dir = join(tmp, 'operator');
  mkdirSync(join(dir, '.gamekeep'), { recursive: true });
  writeFileSync(
    join(dir, '.gamekeep', 'stack.json'),
    JSON.stringify({ ...h.config, apiPort: Number(new URL(h.url).port) }),
  );
  for (const playerId of ['cb-1', 'cb-2']) {
    const r = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId, name: `Kept ${playerId}` },
      headers: { prefer: 'wait=10' },
    });
    expect(r.body.status).toBe('applied');
  }
});

afterAll(async () => {
  await db?.send(new DeleteTableCommand({ TableName: restored })).catch(() => undefined);
  await h?.stop();
  client?.destroy();
  db?.destroy();
  await s3?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The keys of a table's items (`pk|sk`). */
async function keysOf(table: string): Promise<string[]> {
  const keys: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of out.Items ?? []) keys.push(`${String(item.pk)}|${String(item.sk)}`);
    start = out.LastEvaluatedKey;
  } while (start);
  return keys.sort();
}

describe('gamekeep backups on a local stack', () => {
  it('backup --wait takes a full backup through the API and shows it once whole', async () => {
    const r = await gamekeep(dir, '--json', 'backup', '--wait', '60');
    expect(r.code, r.err + r.out).toBe(0);
    const answer = json(r);
    expect(answer).toMatchObject({ kind: 'full', tier: 'daily', status: 'started' });
    expect(answer.backup).toMatchObject({ backupId: answer.backupId, items: await h.itemCount(), previous: null });
    backupId = answer.backupId;

    const text = await gamekeep(dir, 'backups');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(new RegExp(`${backupId}\\s+full\\s+daily`));
    expect(text.out).toContain('never');
    expect(text.out).toContain('last drill: none yet');
  });

  it('verify --wait passes a whole backup, and exits 1 with the damage code for a damaged one', async () => {
    const ok = await gamekeep(dir, '--json', 'verify', backupId, '--wait', '60');
    expect(ok.code, ok.err + ok.out).toBe(0);
    expect(json(ok)).toMatchObject({ backupId, status: 'passed', ok: true });

    const key = chunkKey(backupId, 0);
    const original = (await bucket.get(key))!;
    const damaged = Buffer.from(original);
    damaged[10] = damaged[10]! ^ 0xff;
    await bucket.put(key, damaged);
    try {
      const failed = await gamekeep(dir, 'verify', backupId, '--wait', '60');
      expect(failed.code, failed.out).toBe(1);
      expect(failed.err).toContain('CHUNK_HASH_MISMATCH');
    } finally {
      await bucket.put(key, original);
    }
    const listing = json(await gamekeep(dir, '--json', 'backups'));
    expect(listing.backups[0]).toMatchObject({ backupId, lastVerification: { status: 'failed' } });
    expect(listing.backups[0].lastVerification.error.code).toBe('CHUNK_HASH_MISMATCH');
  });

  it('refuses bad usage with exit 2', async () => {
    for (const args of [
      ['backup', '--incremental', '--weekly'],
      ['verify', 'nope'],
      ['drill', 'nope'],
      ['backups', '--limit', '0'],
      ['restore', backupId],
      ['restore', backupId, '--table', 'x'],
      ['restore', backupId, '--table', 'somewhere', '--until', 'yesterday'],
      // restore and prune reach the table and bucket themselves: an API URL does not say which.
      ['--api-url', 'https://abc.execute-api.eu-west-1.amazonaws.com', 'restore', backupId, '--table', 'somewhere'],
      ['--api-url', 'https://abc.execute-api.eu-west-1.amazonaws.com', 'prune', '--dry-run'],
    ])
      expect({ args, code: (await gamekeep(dir, ...args)).code }).toEqual({ args, code: 2 });
  });

  it('restore puts the backup into a new table, checked, and refuses the live one', async () => {
    const help = await gamekeep(dir, 'restore', '--help');
    expect(help.out.replace(/\s+/g, ' ')).toContain('runs with your AWS credentials');
    expect(help.out.replace(/\s+/g, ' ')).toContain('not through the API');

    const live = await gamekeep(dir, '--json', 'restore', backupId, '--table', h.config.tableName);
    expect(live.code, live.out).toBe(1);
    expect(json(live).error.code).toBe('TARGET_IS_SOURCE');

    const r = await gamekeep(dir, '--json', 'restore', backupId, '--table', restored);
    expect(r.code, r.err + r.out).toBe(0);
    const report = json(r);
    expect(report).toMatchObject({ backupId, table: restored, source: h.config.tableName });
    expect(report.equal).toBe(report.backedUp);
    // The restored table holds the source's items, and the report of the check run on it.
    expect(await keysOf(restored)).toEqual(
      [...(await keysOf(h.config.tableName)), `CHECK#${report.check.checkId}|RUN`].sort(),
    );
  });

  it('restore-check says which phase a restored table is in and what it lacks, and passes once it has it all', async () => {
    const before = await gamekeep(dir, '--json', 'restore-check', '--table', restored);
    expect(before.code, before.err + before.out).toBe(1);
    const report = json(before);
    expect(report.error.code, before.out).toBe('RESTORE_INCOMPLETE');
    const status = (r: any) => Object.fromEntries(r.checks.map((c: any) => [c.name, c.status]));
    // The restore made the items, the indexes and the TTL; the stream and PITR come back with the stack's deploy.
    expect(report.phase).toBe('restored');
    expect(status(report)).toMatchObject({
      table: 'ok',
      key: 'ok',
      indexes: 'ok',
      ttl: 'ok',
      stream: 'missing',
      // DynamoDB Local has no PITR and no tags: checked on AWS only, and said so here.
      pitr: 'unchecked',
      tags: 'unchecked',
      deletionProtection: 'ok',
      streamConsumers: 'unchecked',
    });
    const text = await gamekeep(dir, 'restore-check', '--table', restored);
    expect(text.out).toMatch(/stream\s+MISSING/);
    expect(text.out).toContain('docs/operations.md step 4');

    // What the final deploy does, done by hand here (the stream; PITR and tags where the stand-in has them): then
    // nothing is missing.
    await db.send(
      new UpdateTableCommand({
        TableName: restored,
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    const after = await gamekeep(dir, '--json', 'restore-check', '--table', restored, '--check');
    expect(after.code, after.err + after.out).toBe(0);
    expect(json(after)).toMatchObject({ phase: 'attached', check: { status: 'done', counts: { operator: 0 } } });
    expect(json(after).check.entitiesChecked).toBe(2);
    expect((await gamekeep(dir, 'restore-check', '--table', h.config.tableName, '--check')).code).toBe(2);

    // A restored table whose events were damaged is set up but not sound: the check says so.
    const player = await db.send(new GetCommand({ TableName: restored, Key: { pk: 'P#cb-1', sk: 'STATE' } }));
    expect(player.Item).toBeDefined();
    await db.send(new DeleteCommand({ TableName: restored, Key: { pk: 'P#cb-1', sk: 'E#0000000001' } }));
    const damaged = await gamekeep(dir, '--json', 'restore-check', '--table', restored, '--check');
    expect(damaged.code, damaged.out).toBe(1);
    expect(json(damaged)).toMatchObject({ phase: 'attached', error: { code: 'FINDINGS' } });
    expect(json(damaged).check.findings.length).toBeGreaterThan(0);

    const none = await gamekeep(dir, '--json', 'restore-check', '--table', 'no-such-table');
    expect(none.code).toBe(1);
    expect(json(none).phase).toBe('unusable');
  });

  it('prune --dry-run lists nothing past its tier and deletes nothing', async () => {
    const before = await bucket.keys('');
    const r = await gamekeep(dir, '--json', 'prune', '--dry-run');
    expect(r.code, r.err + r.out).toBe(0);
    expect(json(r)).toEqual({ backups: [], archiveObjects: 0, drillReports: 0, objectsDeleted: 0, dryRun: true });
    expect(await bucket.keys('')).toEqual(before);
    const text = await gamekeep(dir, 'prune', '--dry-run');
    expect(text.out).toContain('would delete 0 objects');
  });

  it('drill --wait runs a drill on the server and prints its RTO/RPO table', async () => {
    const r = await gamekeep(dir, 'drill', '--wait', '240');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/^drill d\S+ passed: table /);
    expect(r.out).toContain('events lost at the cut: 0 of');
    expect(r.out).toContain('RTO/RPO, measured:');
    expect(r.out).toMatch(/RTO\s+\d+(\.\d+)? s for \d+ items/);
    const drillId = /^drill (d\S+)/.exec(r.out)![1]!;

    const again = json(await gamekeep(dir, '--json', 'drill', drillId));
    expect(again).toMatchObject({ drillId, status: 'passed', rpo: { eventsLost: 0 } });
    const listing = await gamekeep(dir, 'backups');
    expect(listing.out).toContain(`last drill: ${drillId} passed`);
  }, 300_000);
});
