import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHttpHandlers, startGateway, type LocalGateway } from '../../../local/gateway.js';
import { startLocalS3, type LocalS3 } from '../../../local/s3.js';
import { BackupBucket, chunkKey, scratchTableOf } from '../../../shared/backup/index.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import { startApiHarness, type Answer, type ApiHarness, type CallOptions } from './harness.js';

/**
 * Issue 12, item 7: the backup routes through the real local gateway, over s3rver on a temp folder and a local key
 * file. The jobs run in the admin API's process (no backup worker locally), as under `npm start`.
 */
let h: ApiHarness;
let s3: LocalS3;
let dir: string;
let client: S3Client;
let bucket: BackupBucket;
let db: DynamoDBDocumentClient;
let player: string;
const players = ['br-1', 'br-2', 'br-3'];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gamekeep-backup-routes-'));
  s3 = await startLocalS3({ directory: join(dir, 's3') });
  h = await startApiHarness({
    config: { backupBucket: s3.bucket, s3Endpoint: s3.endpoint, backupKeyFile: join(dir, 'backup.key') },
  });
  client = s3.client();
  bucket = new BackupBucket(client, s3.bucket);
  db = dynamoDbClient(h.config);
  player = await h.player('br-1');
  for (const playerId of players) {
    const r = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId, name: `Kept ${playerId}` },
      headers: { prefer: 'wait=10' },
    });
    expect(r.body.status).toBe('applied');
  }
  const r = await h.call('POST', '/v1/players/br-2/commands', {
    auth: h.service,
    body: { type: 'AddExperience', amount: 40, source: 'quest' },
    headers: { 'idempotency-key': 'br-xp-1', prefer: 'wait=10' },
  });
  expect(r.body.status).toBe('applied');
});

afterAll(async () => {
  await h?.stop();
  client?.destroy();
  db?.destroy();
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const admin = (method: string, path: string, o: CallOptions = {}) => h.call(method, path, { auth: h.admin, ...o });

/** Polls until `done` holds of the answer (at most `seconds`). */
async function until(read: () => Promise<Answer>, done: (a: Answer) => boolean, seconds = 60): Promise<Answer> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const a = await read();
    if (done(a) || Date.now() > end) return a;
    await pause(250);
  }
}

const listed = (backupId: string) =>
  until(
    () => admin('GET', `/v1/admin/backups?backupId=${backupId}`),
    (a) => a.body.backups?.length === 1,
  );

async function verified(backupId: string): Promise<any> {
  const started = await admin('POST', `/v1/admin/backups/${backupId}/verifications`);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body).toMatchObject({ backupId, status: 'running', ok: false });
  expect(started.headers.get('location')).toBe(`/v1/admin/backups?backupId=${backupId}`);
  const id = started.body.verificationId;
  const done = await until(
    () => admin('GET', `/v1/admin/backups?backupId=${backupId}`),
    (a) =>
      a.body.backups[0]?.lastVerification?.verificationId === id &&
      a.body.backups[0].lastVerification.status !== 'running',
  );
  return done.body.backups[0].lastVerification;
}

async function takeBackup(body: unknown = {}): Promise<any> {
  const started = await admin('POST', '/v1/admin/backups', { body });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.headers.get('location')).toBe(`/v1/admin/backups?backupId=${started.body.backupId}`);
  const page = await listed(started.body.backupId);
  expect(page.body.backups, 'the backup is listed once whole').toHaveLength(1);
  return { started: started.body, backup: page.body.backups[0] };
}

/** Refused as `status` with `code`, and nothing written: no object in the bucket, no item in the table. */
async function refused(status: number, code: string, method: string, path: string, o: CallOptions = {}) {
  const objects = await bucket.keys('');
  const items = await h.itemCount();
  const r = await h.call(method, path, { auth: h.admin, ...o });
  expect({ path, status: r.status, code: r.body?.error?.code }).toEqual({ path, status, code });
  await pause(300);
  expect(await bucket.keys('')).toEqual(objects);
  expect(await h.itemCount()).toBe(items);
}

describe('the backup routes', () => {
  it('refuse bad input, unknown ids and callers that are not operators, writing nothing', async () => {
    // Before any backup: an increment has nothing to start from.
    await refused(409, 'INCREMENT_WITHOUT_BASE', 'POST', '/v1/admin/backups', { body: { kind: 'incremental' } });
    for (const body of [{ kind: 'weekly' }, { kind: 'incremental', tier: 'weekly' }, { tier: 'monthly' }, { x: 1 }])
      await refused(400, 'INVALID_REQUEST', 'POST', '/v1/admin/backups', { body });
    await refused(400, 'INVALID_JSON', 'POST', '/v1/admin/backups', { raw: '{"kind":' });
    await refused(400, 'INVALID_REQUEST', 'POST', '/v1/admin/drills', { body: { fast: true } });
    await refused(400, 'INVALID_REQUEST', 'GET', '/v1/admin/backups?limit=0');
    await refused(400, 'INVALID_REQUEST', 'GET', '/v1/admin/backups?after=yesterday');
    await refused(400, 'INVALID_REQUEST', 'GET', '/v1/admin/backups?sort=oldest');
    for (const id of ['b20260101T000000000Z-00000000', 'not-a-backup'])
      await refused(404, 'BACKUP_NOT_FOUND', 'POST', `/v1/admin/backups/${id}/verifications`);
    for (const id of ['d20260101T000000000Z-000000', 'nope'])
      await refused(404, 'DRILL_NOT_FOUND', 'GET', `/v1/admin/drills/${id}`);
    for (const [auth, status, code] of [
      [player, 403, 'FORBIDDEN'],
      [h.service, 403, 'FORBIDDEN'],
      [undefined, 401, 'UNAUTHORIZED'],
    ] as const) {
      const o = auth ? { auth } : { auth: '' };
      await refused(status, code, 'POST', '/v1/admin/backups', { ...o, body: {} });
      await refused(status, code, 'GET', '/v1/admin/backups', o);
      await refused(status, code, 'POST', '/v1/admin/drills', o);
      await refused(status, code, 'GET', '/v1/admin/drills/d20260101T000000000Z-000000', o);
    }
    expect(await bucket.keys('')).toEqual([]);
  });

  it('answer 503 BACKUPS_UNAVAILABLE on a stack that keeps no backups', async () => {
    const { backupBucket: _bucket, s3Endpoint: _endpoint, backupKeyFile: _key, ...bare } = h.config;
    const gateway: LocalGateway = await startGateway({
      handlers: localHttpHandlers(bare),
      jwtSecret: h.config.jwtSecret!,
      serviceToken: h.service,
      adminToken: h.admin,
    });
    try {
      for (const [method, path] of [
        ['POST', '/v1/admin/backups'],
        ['GET', '/v1/admin/backups'],
        ['POST', '/v1/admin/backups/b20260101T000000000Z-00000000/verifications'],
        ['POST', '/v1/admin/drills'],
        ['GET', '/v1/admin/drills/d20260101T000000000Z-000000'],
      ] as const) {
        const r = await fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${h.admin}` } });
        expect({ path, status: r.status, code: ((await r.json()) as any).error.code }).toEqual({
          path,
          status: 503,
          code: 'BACKUPS_UNAVAILABLE',
        });
      }
    } finally {
      await gateway.stop();
    }
  });

  let first: any;
  it('take a full backup: 202 with its id, then listed with its counts', async () => {
    const items = await h.itemCount();
    const { started, backup } = await takeBackup();
    expect(started).toEqual({
      backupId: expect.stringMatching(/^b\d{8}T/),
      kind: 'full',
      tier: 'daily',
      status: 'started',
    });
    expect(backup).toMatchObject({
      backupId: started.backupId,
      kind: 'full',
      tier: 'daily',
      table: h.config.tableName,
      items,
      counts: { state: players.length },
      previous: null,
      lastVerification: null,
    });
    expect(backup.counts.event).toBeGreaterThanOrEqual(players.length + 1);
    expect(backup.chunks).toBeGreaterThanOrEqual(1);
    expect(backup.bytes).toBeGreaterThan(0);
    first = backup;
  });

  it('verify it: passed, in the listing', async () => {
    const v = await verified(first.backupId);
    expect(v).toMatchObject({ backupId: first.backupId, status: 'passed', ok: true, items: first.items });
    expect(v.chunks).toBe(first.chunks);
  });

  it('verify a damaged chunk: failed with CHUNK_HASH_MISMATCH, in the listing', async () => {
    const key = chunkKey(first.backupId, 0);
    const original = (await bucket.get(key))!;
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    await bucket.put(key, damaged);
    try {
      const v = await verified(first.backupId);
      expect(v).toMatchObject({ status: 'failed', ok: false, error: { code: 'CHUNK_HASH_MISMATCH' } });
    } finally {
      await bucket.put(key, original);
    }
    expect((await verified(first.backupId)).status).toBe('passed');
  });

  it('list newest first, chained, a page at a time', async () => {
    const { backup: second } = await takeBackup({ tier: 'weekly' });
    expect(second).toMatchObject({ kind: 'full', tier: 'weekly', previous: first.backupId, lastVerification: null });
    const all = await admin('GET', '/v1/admin/backups');
    expect(all.body.backups.map((b: any) => b.backupId)).toEqual([second.backupId, first.backupId]);
    expect(all.body.next).toBeNull();
    expect(all.body.backups[1].lastVerification).toMatchObject({ status: 'passed' });
    const one = await admin('GET', '/v1/admin/backups?limit=1');
    expect(one.body.backups.map((b: any) => b.backupId)).toEqual([second.backupId]);
    expect(one.body.next).toBe(second.backupId);
    const rest = await admin('GET', `/v1/admin/backups?limit=1&after=${one.body.next}`);
    expect(rest.body.backups.map((b: any) => b.backupId)).toEqual([first.backupId]);
    expect(rest.body.next).toBeNull();
  });

  it('run a drill: 202, then its report passes with no event lost and the scratch table gone', async () => {
    const started = await admin('POST', '/v1/admin/drills');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const { drillId } = started.body;
    expect(started.body).toEqual({ drillId: expect.stringMatching(/^d\d{8}T/), status: 'started' });
    expect(started.headers.get('location')).toBe(`/v1/admin/drills/${drillId}`);
    // The increment waits out the archive's lag (60 s) after the drill's full backup.
    const done = await until(
      () => admin('GET', `/v1/admin/drills/${drillId}`),
      (a) => a.status === 200 && a.body.status !== 'running',
      200,
    );
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body, done.body.failure).toMatchObject({
      drillId,
      status: 'passed',
      source: h.config.tableName,
      rpo: { eventsLost: 0 },
      check: { clean: true },
    });
    expect(done.body.restore.restored).toBeGreaterThan(0);
    expect(done.body.figures).toHaveLength(1);
    expect(done.body.figures[0]).toMatchObject({
      rto: expect.stringContaining(' s for '),
      rpo: expect.stringContaining('0 events lost'),
    });
    const scratch = scratchTableOf(h.config.tableName, drillId);
    await expect(db.send(new DescribeTableCommand({ TableName: scratch }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    const page = await admin('GET', '/v1/admin/backups');
    expect(page.body.lastDrill).toMatchObject({ drillId, status: 'passed', eventsLost: 0 });
    expect(page.body.backups.map((b: any) => b.backupId)).toContain(done.body.fullBackupId);
    expect(page.body.backups[0]).toMatchObject({
      backupId: done.body.incrementId,
      kind: 'incremental',
      tier: 'hourly',
    });
  }, 240_000);
});
