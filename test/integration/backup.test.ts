import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbClient } from '../../shared/clients.js';
import { entityRegistry } from '../../shared/entities.js';
import { createTableInput } from '../../shared/persistence/tableDefinition.js';
import {
  BackupBucket,
  BackupDamaged,
  chunkKey,
  consistentCut,
  localBackupKey,
  manifestKey,
  rawAesBackupKey,
  RestoreRefused,
  restoreBackup,
  takeBackup,
  verifyBackup,
  type BackupKey,
  type BackupManifest,
} from '../../shared/backup/index.js';
import { startLocalS3, type LocalS3 } from '../../local/s3.js';
import { outcomeOf, startApiHarness, type ApiHarness } from './api/harness.js';

/**
 * Full backups against the real stand-ins (DynamoDB Local, fauxqs, s3rver on disk): a backup restores into a new
 * table item for item with the checker clean, one taken while commands flow restores to a consistent cut, and every
 * kind of damage is refused by verify and by restore, which then writes nothing.
 */
let h: ApiHarness;
let db: DynamoDBDocumentClient;
let s3: LocalS3;
let s3Dir: string;
let bucket: BackupBucket;
const key: BackupKey = rawAesBackupKey(randomBytes(32));
const players = ['bk-1', 'bk-2', 'bk-3', 'bk-4', 'bk-5', 'bk-6'];
const suffix = randomBytes(3).toString('hex');

const backupDeps = () => ({ db, tableName: h.config.tableName, registry: entityRegistry(), bucket, key });
const restoreDeps = (k: BackupKey = key) => ({ config: h.config, db, registry: entityRegistry(), bucket, key: k });
const player = entityRegistry().get('player')!;

async function send(playerId: string, command: Record<string, unknown>, idempotencyKey: string): Promise<void> {
  const r = await h.call('POST', `/v1/players/${playerId}/commands`, {
    auth: h.service,
    body: command,
    headers: { 'idempotency-key': idempotencyKey, prefer: 'wait=10' },
  });
  const outcome = r.body.status === 'applied' ? r.body : await outcomeOf(h, r.body.commandId, h.service);
  expect(outcome.status, JSON.stringify(outcome)).toBe('applied');
}

async function create(playerId: string): Promise<void> {
  const r = await h.call('POST', '/v1/players', {
    auth: h.service,
    body: { playerId, name: `Kept ${playerId}` },
    headers: { prefer: 'wait=10' },
  });
  expect(r.body.status).toBe('applied');
}

async function scanAll(table: string): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of out.Items ?? []) items.set(`${String(item.pk)}|${String(item.sk)}`, item);
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

async function tableAbsent(table: string): Promise<boolean> {
  return db.send(new DescribeTableCommand({ TableName: table })).then(
    () => false,
    (error: { name?: string }) => error.name === 'ResourceNotFoundException',
  );
}

/** Every entity's state equals the fold of its events (the engine's evolve, from the first), computed here. */
function foldsAgree(items: Map<string, Record<string, unknown>>): string[] {
  const wrong: string[] = [];
  const byPk = new Map<string, Record<string, unknown>[]>();
  for (const item of items.values())
    if (String(item.pk).startsWith('P#')) byPk.set(String(item.pk), [...(byPk.get(String(item.pk)) ?? []), item]);
  for (const [pk, group] of byPk) {
    const state = group.find((i) => i.sk === 'STATE');
    const events = group
      .filter((i) => String(i.sk).startsWith('E#'))
      .sort((a, b) => Number(a.version) - Number(b.version));
    let folded: unknown = player.initialState();
    for (const [i, e] of events.entries()) {
      if (e.version !== i + 1) wrong.push(`${pk}: version ${i + 1} missing`);
      for (const ev of e.events as { type: string }[]) folded = player.evolve(folded, ev);
      for (const [other, v] of Object.entries((e.related as Record<string, number> | undefined) ?? {}))
        if (items.get(`P#${other}|E#${String(v).padStart(10, '0')}`)?.commandId !== e.commandId)
          wrong.push(`${pk} v${String(e.version)}: its other side ${other} v${v} is not there`);
    }
    if (!state || state.version !== events.length)
      wrong.push(`${pk}: state at ${String(state?.version)}, ${events.length} events`);
    else if (!isDeepStrictEqual(state.state, folded)) wrong.push(`${pk}: the state is not the fold of its events`);
  }
  return wrong;
}

const damageOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (error: unknown) => (error instanceof BackupDamaged ? error.code : `unexpected ${String(error)}`),
  );

beforeAll(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), 'gamekeep-s3-'));
  [h, s3] = await Promise.all([startApiHarness(), startLocalS3({ directory: s3Dir })]);
  db = dynamoDbClient(h.config);
  bucket = new BackupBucket(s3.client(), s3.bucket);
  for (const id of players) {
    await create(id);
    await send(id, { type: 'AddExperience', amount: 150, source: 'quest' }, 'xp');
    await send(id, { type: 'SpendCurrency', currency: 'gold', amount: 25, reason: 'shop' }, 'spend');
  }
  await send('bk-1', { type: 'GrantItem', itemId: 'qi-pill', quantity: 3, source: 'quest' }, 'pill');
  await send(
    'bk-1',
    {
      type: 'Trade',
      tradeId: 'bk-trade-1',
      counterpartyId: 'bk-2',
      give: { items: [{ itemId: 'qi-pill', quantity: 1 }] },
      receive: { gold: 40 },
    },
    'trade',
  );
});

afterAll(async () => {
  bucket?.s3.destroy();
  await h?.stop();
  await s3?.stop();
  db?.destroy();
  rmSync(s3Dir, { recursive: true, force: true });
});

describe('full backups', () => {
  it('restore into a new table equal to the source item for item, with the checker clean', async () => {
    const manifest = await takeBackup(backupDeps(), { chunkItems: 7 });
    expect(manifest.chunks.length).toBeGreaterThan(2);
    expect(manifest.counts.state).toBe(players.length);
    expect(manifest.counts.event).toBe(players.length * 3 + 2 + 1); // create, xp, spend; pill; the trade's two sides
    expect(manifest.counts.claim).toBeGreaterThanOrEqual(players.length + 1); // every name, and the trade

    const target = `restored-${suffix}`;
    const report = await restoreBackup(restoreDeps(), manifest.backupId, target);
    expect(report.changes).toEqual([]);
    expect(report.repaired).toEqual([]);
    expect(report.equal).toBe(manifest.items);
    expect(report.restoredByKind).toEqual(manifest.counts);
    expect(report.check.findings).toEqual([]);
    expect(report.check.entitiesChecked).toBe(players.length);

    // Compared here independently of the restore's own comparison (the checker's run record aside).
    const source = await scanAll(h.config.tableName);
    const restored = await scanAll(target);
    for (const k of restored.keys()) if (k.startsWith('CHECK#') && !source.has(k)) restored.delete(k);
    expect(restored.size).toBe(source.size);
    for (const [k, item] of source) expect(restored.get(k), k).toEqual(item);

    // Never over the live table, nor over a table with items.
    await expect(restoreBackup(restoreDeps(), manifest.backupId, h.config.tableName)).rejects.toMatchObject({
      code: 'TARGET_IS_SOURCE',
    });
    await expect(restoreBackup(restoreDeps(), manifest.backupId, target)).rejects.toBeInstanceOf(RestoreRefused);
    await expect(restoreBackup(restoreDeps(), manifest.backupId, target)).rejects.toMatchObject({
      code: 'TARGET_NOT_EMPTY',
    });
  });

  it('survives the S3 stand-in stopping: objects are on disk, and the backup verifies after a restart', async () => {
    const manifest = await takeBackup(backupDeps(), { chunkItems: 10 });
    bucket.s3.destroy();
    await s3.stop();
    s3 = await startLocalS3({ directory: s3Dir });
    bucket = new BackupBucket(s3.client(), s3.bucket);
    const report = await verifyBackup({ bucket, key }, manifest.backupId);
    expect(report.items).toBe(manifest.items);
    expect(report.chunks).toBe(manifest.chunks.length);
  });

  it('keeps the local key in a file readable by its owner only, the same key on every use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gamekeep-key-'));
    try {
      const file = join(dir, 'backup.key');
      const first = localBackupKey(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const manifest = await takeBackup({ ...backupDeps(), key: first }, { chunkItems: 50 });
      expect((await verifyBackup({ bucket, key: localBackupKey(file) }, manifest.backupId)).items).toBe(manifest.items);
      await expect(verifyBackup({ bucket, key }, manifest.backupId)).rejects.toMatchObject({ code: 'WRONG_KEY' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('taken while commands flow, restores to a consistent cut: no half transaction, every state the fold of its events', async () => {
    const flow = Array.from({ length: 8 }, (_, i) => `fl-${i}`);
    for (const id of flow) await create(id);
    const before = await scanAll(h.config.tableName);

    // Eight concurrent senders through the queue and the command processor, while the backup runs.
    let stop = false;
    let sent = 0;
    const senders = flow.map(async (id, i) => {
      for (let n = 0; n < 60 && !stop; n++) {
        const command =
          n % 3 === 0
            ? {
                type: 'Trade',
                tradeId: `fl-t-${i}-${n}`,
                counterpartyId: flow[(i + 1 + (n % 7)) % 8],
                give: { gold: 1 },
                receive: {},
              }
            : n % 3 === 1
              ? { type: 'AddExperience', amount: 10, source: 'quest' }
              : { type: 'SpendCurrency', currency: 'gold', amount: 1, reason: 'shop' };
        const r = await h.call('POST', `/v1/players/${id}/commands`, {
          auth: h.service,
          body: command,
          headers: { 'idempotency-key': `flow-${n}` },
        });
        expect(r.status).toBe(202);
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    });

    // And, deterministically, a trade committed between two Scan pages: its sender's partition not read yet, its
    // counterparty's read already, so the backup holds one side of it.
    const complete = new Set<string>();
    const seen = new Set<string>();
    const split: { sender: string; counterparty: string; tradeId: string }[] = [];
    const manifest: BackupManifest = await takeBackup(backupDeps(), {
      chunkItems: 40,
      segments: 1,
      pageSize: 10,
      afterPage: async (page) => {
        for (const item of page) {
          seen.add(String(item.pk));
          if (item.sk === 'STATE') complete.add(String(item.pk));
        }
        if (split.length >= 2) return;
        const counterparty = [...complete].find((pk) => pk.startsWith('P#bk-'))?.slice(2);
        const sender = players.find((id) => !seen.has(`P#${id}`) && id !== counterparty);
        if (!counterparty || !sender) return;
        const tradeId = `split-${split.length}`;
        await send(
          sender,
          { type: 'Trade', tradeId, counterpartyId: counterparty, give: { gold: 3 }, receive: {} },
          tradeId,
        );
        split.push({ sender, counterparty, tradeId });
      },
    });
    stop = true;
    await Promise.all(senders);
    await h.pipeline!.drained(60_000);
    expect(split.length).toBeGreaterThan(0);
    expect(sent).toBeGreaterThan(0);

    const target = `flowing-${suffix}`;
    const report = await restoreBackup(restoreDeps(), manifest.backupId, target);
    expect(report.preserved).toEqual([]);
    expect(report.check.findings).toEqual([]);
    for (const s of split) {
      const repaired = report.repaired.find((r) => r.entityId === s.sender);
      expect(repaired, `${s.sender} taken back before its split trade`).toBeDefined();
      expect(repaired!.droppedVersions.length).toBeGreaterThan(0);
      expect(repaired!.restoredVersion).toBeLessThan(repaired!.backedUpVersion);
      // The trade's claim went with it (it was read after the events, in the second pass).
      expect(report.changes.some((c) => c.key.pk === `TRADE#${s.tradeId}` && c.action === 'dropped')).toBe(true);
    }
    const restored = await scanAll(target);
    expect(foldsAgree(restored)).toEqual([]);
    for (const s of split) expect(restored.has(`TRADE#${s.tradeId}|TRADE`)).toBe(false);
    // Everything committed before the backup started is there, as it was.
    for (const [k, item] of before)
      if (String(item.pk).startsWith('P#') && String(item.sk).startsWith('E#'))
        expect(restored.get(k), k).toEqual(item);
  });

  it('refuses each kind of damage in verify and in restore, which writes nothing', async () => {
    const previous = await takeBackup(backupDeps(), { chunkItems: 6 });
    const manifest = await takeBackup(backupDeps(), { chunkItems: 6 });
    expect(manifest.previous?.backupId).toBe(previous.backupId);
    const id = manifest.backupId;
    expect((await verifyBackup({ bucket, key }, id)).items).toBe(manifest.items);

    const chunk = chunkKey(id, 1);
    const original = (await bucket.get(chunk))!;
    const previousManifest = (await bucket.get(manifestKey(previous.backupId)))!;
    const thisManifest = (await bucket.get(manifestKey(id)))!;
    const emptyTarget = `empty-${suffix}`;
    await db.send(new CreateTableCommand(createTableInput(emptyTarget, false)));

    const damages: {
      name: string;
      code: string;
      damage: () => Promise<void>;
      repair: () => Promise<void>;
      key?: BackupKey;
    }[] = [
      {
        name: 'a truncated chunk',
        code: 'CHUNK_TRUNCATED',
        damage: () => bucket.put(chunk, original.subarray(0, original.length - 17)),
        repair: () => bucket.put(chunk, original),
      },
      {
        name: 'a flipped byte',
        code: 'CHUNK_HASH_MISMATCH',
        damage: () => {
          const flipped = Buffer.from(original);
          flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
          return bucket.put(chunk, flipped);
        },
        repair: () => bucket.put(chunk, original),
      },
      {
        name: 'a deleted chunk',
        code: 'CHUNK_MISSING',
        damage: async () => {
          await bucket.s3.send(new DeleteObjectCommand({ Bucket: bucket.bucket, Key: chunk }));
        },
        repair: () => bucket.put(chunk, original),
      },
      {
        name: 'a wrong key',
        code: 'WRONG_KEY',
        damage: async () => undefined,
        repair: async () => undefined,
        key: rawAesBackupKey(randomBytes(32)),
      },
      {
        name: 'a broken chain link (the previous manifest rewritten)',
        code: 'CHAIN_BROKEN',
        damage: () =>
          bucket.put(
            manifestKey(previous.backupId),
            Buffer.from(
              Buffer.from(previousManifest).toString().replace(previous.finishedAt, new Date(0).toISOString()),
            ),
          ),
        repair: () => bucket.put(manifestKey(previous.backupId), previousManifest),
      },
      {
        name: 'an edited manifest',
        code: 'MANIFEST_HASH_MISMATCH',
        damage: () =>
          bucket.put(
            manifestKey(id),
            Buffer.from(
              Buffer.from(thisManifest)
                .toString()
                .replace(/"items": \d+/, '"items": 1'),
            ),
          ),
        repair: () => bucket.put(manifestKey(id), thisManifest),
      },
    ];
    for (const [i, d] of damages.entries()) {
      await d.damage();
      const k = d.key ?? key;
      expect(await damageOf(verifyBackup({ bucket, key: k }, id)), d.name).toBe(d.code);
      const target = `damaged-${i}-${suffix}`;
      expect(await damageOf(restoreBackup(restoreDeps(k), id, target)), d.name).toBe(d.code);
      expect(await tableAbsent(target), `${d.name}: no table created`).toBe(true);
      expect(await damageOf(restoreBackup(restoreDeps(k), id, emptyTarget)), d.name).toBe(d.code);
      expect((await scanAll(emptyTarget)).size, `${d.name}: nothing written`).toBe(0);
      await d.repair();
    }
    // Repaired, the same backup verifies and restores: each refusal above was the damage's.
    expect((await verifyBackup({ bucket, key }, id)).items).toBe(manifest.items);
    const report = await restoreBackup(restoreDeps(), id, emptyTarget);
    expect(report.check.findings).toEqual([]);
  });
});

describe('the consistency pass of a restore', () => {
  const partitionOf = async (playerId: string) =>
    [...(await scanAll(h.config.tableName)).values()].filter((i) => i.pk === `P#${playerId}`);
  /** The player's command records and claims. */
  const others = async (playerId: string) =>
    [...(await scanAll(h.config.tableName)).values()].filter(
      (i) => !String(i.pk).startsWith('P#') && i.entityId === playerId,
    );

  beforeAll(async () => {
    for (const id of ['cp-1', 'cp-2']) {
      await create(id);
      await send(id, { type: 'AddExperience', amount: 150, source: 'quest' }, 'xp');
      await send(id, { type: 'SpendCurrency', currency: 'gold', amount: 25, reason: 'shop' }, 'spend');
    }
  });

  it('brings a state item behind its events forward to their fold: the very state item the engine wrote', async () => {
    const items = await partitionOf('cp-1');
    const state = items.find((i) => i.sk === 'STATE')!;
    const behind = items.map((i) => (i === state ? { ...state, version: Number(state.version) - 1, state: {} } : i));
    const cut = consistentCut([...behind, ...(await others('cp-1'))], entityRegistry(), {
      consistentUpTo: new Date().toISOString(),
    });
    expect(cut.repaired.map((r) => [r.entityId, r.backedUpVersion, r.restoredVersion])).toEqual([
      ['cp-1', Number(state.version) - 1, state.version],
    ]);
    expect(cut.items.find((i) => i.pk === 'P#cp-1' && i.sk === 'STATE')).toEqual(state);
    expect(cut.changes).toEqual([
      { key: { pk: 'P#cp-1', sk: 'STATE' }, action: 'rewritten', reason: expect.any(String) },
    ]);
  });

  it('takes an entity back to the last version before a gap, with its records and claims, when the gap is recent', async () => {
    const items = (await partitionOf('cp-2')).filter((i) => i.sk !== `E#${String(2).padStart(10, '0')}`);
    const version = Number(items.find((i) => i.sk === 'STATE')!.version);
    const cut = consistentCut([...items, ...(await others('cp-2'))], entityRegistry(), {
      consistentUpTo: new Date().toISOString(),
    });
    expect(cut.repaired).toMatchObject([{ entityId: 'cp-2', backedUpVersion: version, restoredVersion: 1 }]);
    const state = cut.items.find((i) => i.pk === 'P#cp-2' && i.sk === 'STATE')!;
    const first = items.find((i) => i.sk === `E#${String(1).padStart(10, '0')}`)!;
    let folded: unknown = player.initialState();
    for (const e of first.events as { type: string }[]) folded = player.evolve(folded, e);
    expect(state).toMatchObject({ version: 1, state: folded, lastCommandId: first.commandId });
    expect(cut.items.filter((i) => i.pk === 'P#cp-2' && String(i.sk).startsWith('E#')).length).toBe(1);
    // The records of the dropped versions go; the name claim (version 1) stays.
    const kept = cut.items.filter((i) => String(i.pk).startsWith('C#') && i.status === 'applied');
    expect(kept.map((i) => i.version)).toEqual([1]);
    expect(cut.changes.filter((c) => c.key.pk.startsWith('C#'))).toHaveLength(version - 1);
    expect(cut.items.some((i) => String(i.pk).startsWith('NAME#'))).toBe(true);
  });

  it('leaves damage older than any transaction a backup can split as it is, for the checker to report', async () => {
    const items = [
      ...(await partitionOf('cp-2')).filter((i) => i.sk !== `E#${String(2).padStart(10, '0')}`),
      ...(await others('cp-2')),
    ];
    // A high-water mark an hour on: every item is older than the 15-minute window.
    const cut = consistentCut(items, entityRegistry(), {
      consistentUpTo: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(cut.preserved).toMatchObject([{ entityId: 'cp-2' }]);
    expect(cut.changes).toEqual([]);
    expect(cut.items).toHaveLength(items.length);
  });
});
