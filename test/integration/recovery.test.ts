import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbClient } from '../../shared/clients.js';
import { History } from '../../shared/engine/history.js';
import { player } from '../../shared/domain/player/index.js';
import { signatureHeader } from '../../shared/payments/signature.js';
import { periodOf } from '../../shared/readside/index.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { startRedis, type LocalRedis } from '../../local/redis.js';
import { startProjectionPipeline, type ProjectionPipeline } from '../../local/projectionPipeline.js';
import { startApiHarness, outcomeOf, type ApiHarness } from './api/harness.js';
import { boardsIn, ranked, truthOf, until } from './readside/truth.js';

/**
 * G6 through the admin API: history at any version or time (with and without snapshots), diffs, rollbacks with
 * their impact analysis (a trade's counterparty, a payment, level and realm), quarantine, and the read side
 * following. Expected states are the states the table held after each command, recorded as the commands ran,
 * never a fold computed by the code under test.
 */
let stack: LocalStack;
let redis: LocalRedis;
let h: ApiHarness;
let projection: ProjectionPipeline;
let db: DynamoDBDocumentClient;

/** The state item as the table holds it now. */
async function stateItem(playerId: string): Promise<{ version: number; state: Record<string, any> }> {
  const out = await db.send(
    new GetCommand({ TableName: h.config.tableName, Key: { pk: `P#${playerId}`, sk: 'STATE' }, ConsistentRead: true }),
  );
  return out.Item as { version: number; state: Record<string, any> };
}

/** Every state a player passed through, by version, as read from the table after each command. */
const seen = new Map<string, Map<number, Record<string, any>>>();
async function record(playerId: string): Promise<number> {
  const item = await stateItem(playerId);
  const states = seen.get(playerId) ?? new Map();
  states.set(item.version, item.state);
  seen.set(playerId, states);
  return item.version;
}

let keys = 0;
async function serve(playerId: string, command: Record<string, unknown>): Promise<any> {
  const r = await h.call('POST', `/v1/players/${playerId}/commands`, {
    auth: h.service,
    body: command,
    headers: { 'idempotency-key': `k${++keys}`, prefer: 'wait=10' },
  });
  expect(r.status).toBeLessThan(300);
  await record(playerId);
  return r.body;
}

async function create(playerId: string): Promise<void> {
  const r = await h.call('POST', '/v1/players', {
    auth: h.service,
    body: { playerId, name: `Keeper ${playerId}` },
    headers: { prefer: 'wait=10' },
  });
  expect(r.body.status).toBe('applied');
  await record(playerId);
}

const admin = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  h.call(method, path, { auth: h.admin, ...(body !== undefined ? { body } : {}), headers });

/** The read side equals the table (views and every board, periodic ones included), computed independently. */
async function readSideSettles(players: string[]): Promise<void> {
  await until(async () => {
    const truth = await truthOf(db, h.config.tableName, players);
    const boards = await boardsIn(h.readSide!.redis);
    for (const [key, expected] of ranked(truth)) {
      const actual = (boards.get(key) ?? []).filter(([id]) => players.includes(id));
      if (JSON.stringify(actual) !== JSON.stringify(expected)) return false;
    }
    for (const [key, entries] of boards)
      if (!truth.boards.has(key) && entries.some(([id]) => players.includes(id))) return false;
    for (const [id, t] of truth.players) {
      const view = await h.call('GET', `/v1/players/${id}`, { auth: h.service });
      if (view.body.version !== t.version || view.body.gold !== t.gold || view.body.experience !== t.experience)
        return false;
    }
    return true;
  }, 'the read side equals the table');
}

beforeAll(async () => {
  [stack, redis] = await Promise.all([
    startLocalStack({ stream: true, tableName: 'recovery', queueName: 'recovery' }),
    startRedis(),
  ]);
  h = await startApiHarness({ stack, redisUrl: redis.url });
  projection = await startProjectionPipeline(h.config, { pollIntervalMs: 50 });
  db = dynamoDbClient(h.config);
});
afterAll(async () => {
  await projection?.stop();
  await h?.stop();
  await Promise.all([stack?.stop(), redis?.stop()]);
});

describe('history', () => {
  it('answers the state at every version and time, with snapshots, around a corrupt one, and diffs', async () => {
    await create('hist');
    const times = new Map<number, string>();
    for (let i = 0; i < 229; i++) {
      await serve(
        'hist',
        i % 3 === 0
          ? { type: 'AddExperience', amount: 7, source: 'quest' }
          : {
              type: 'SpendCurrency',
              currency: 'gold',
              amount: 1,
              reason: 'shop',
            },
      );
      if (i % 50 === 0) times.set((await stateItem('hist')).version, new Date().toISOString());
    }
    expect((await stateItem('hist')).version).toBe(230);
    const snapshots = await Promise.all(
      [100, 200].map((v) =>
        db.send(
          new GetCommand({
            TableName: h.config.tableName,
            Key: { pk: 'P#hist', sk: `S#${String(v).padStart(10, '0')}` },
            ConsistentRead: true,
          }),
        ),
      ),
    );
    expect(snapshots.map((s) => s.Item?.version)).toEqual([100, 200]);
    expect(snapshots[1]!.Item!.state).toEqual(seen.get('hist')!.get(200));

    for (const v of [1, 2, 99, 100, 101, 150, 200, 201, 230]) {
      const r = await admin('GET', `/v1/admin/players/hist/history?atVersion=${v}`);
      expect(r.status, `version ${v}`).toBe(200);
      expect(r.body.version).toBe(v);
      expect(r.body.state).toEqual(seen.get('hist')!.get(v));
      expect(typeof r.body.committedAt).toBe('string');
    }
    for (const [v, at] of times) {
      const r = await admin('GET', `/v1/admin/players/hist/history?atTime=${encodeURIComponent(at)}`);
      expect(r.body.version).toBeGreaterThanOrEqual(v);
      expect(r.body.state).toEqual(seen.get('hist')!.get(r.body.version));
    }

    // A snapshot changed behind the engine's back is detected by its hash and folded around.
    const history = new History(h.store, player);
    expect((await history.atVersion('hist', 230)).fromSnapshot).toBe(200);
    await db.send(
      new UpdateCommand({
        TableName: h.config.tableName,
        Key: { pk: 'P#hist', sk: `S#${String(200).padStart(10, '0')}` },
        UpdateExpression: 'SET #s.gold = :g',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':g': 999_999 },
      }),
    );
    const around = await history.atVersion('hist', 230);
    expect(around.fromSnapshot).toBe(100);
    expect(around.skippedSnapshots).toEqual([200]);
    expect(around.state).toEqual(seen.get('hist')!.get(230));
    expect((await admin('GET', '/v1/admin/players/hist/history?atVersion=230')).body.state).toEqual(
      seen.get('hist')!.get(230),
    );

    const diff = await admin('GET', '/v1/admin/players/hist/diff?from=1&to=4');
    expect(diff.status).toBe(200);
    const before = seen.get('hist')!.get(1)!;
    const after = seen.get('hist')!.get(4)!;
    expect(diff.body.changes).toEqual(
      expect.arrayContaining([
        { path: 'gold', before: before.gold, after: after.gold },
        { path: 'experience', before: before.experience, after: after.experience },
      ]),
    );
    expect(diff.body.changes.every((c: { path: string }) => ['gold', 'experience'].includes(c.path))).toBe(true);
  });

  it('refuses bad queries with a 4xx and nothing written', async () => {
    const items = await h.itemCount();
    for (const q of ['', '?atVersion=1&atTime=2026-01-01T00:00:00Z', '?atVersion=-1', '?atTime=yesterday', '?x=1'])
      expect((await admin('GET', `/v1/admin/players/hist/history${q}`)).status, q).toBe(400);
    expect((await admin('GET', '/v1/admin/players/hist/history?atVersion=999')).status).toBe(422);
    expect((await admin('GET', '/v1/admin/players/nobody/history?atVersion=1')).status).toBe(404);
    expect((await admin('GET', '/v1/admin/players/hist/diff?from=1')).status).toBe(400);
    expect((await h.call('GET', '/v1/admin/players/hist/history?atVersion=1', { auth: h.service })).status).toBe(403);
    expect(await h.itemCount()).toBe(items);
  });
});

describe('rollback', () => {
  it('previews a trade, refuses to break it silently, and rolls both sides back together', async () => {
    await Promise.all([create('ann'), create('bo')]);
    await serve('ann', { type: 'AddExperience', amount: 40, source: 'quest' });
    const annBefore = await record('ann');
    const boBefore = await record('bo');
    // A trade both sides of which are in the log: ann gives gold, bo gives the pills it first earns.
    await serve('bo', { type: 'GrantItem', itemId: 'qi-pill', quantity: 2, source: 'quest' });
    const trade = await serve('ann', {
      type: 'Trade',
      tradeId: 't-2',
      counterpartyId: 'bo',
      give: { gold: 300 },
      receive: { items: [{ itemId: 'qi-pill', quantity: 2 }] },
    });
    expect(trade.status).toBe('applied');
    await record('bo');
    await serve('ann', { type: 'AddExperience', amount: 5, source: 'quest' });
    const annNow = (await stateItem('ann')).version;
    const boNow = (await stateItem('bo')).version;

    const alone = await admin('POST', '/v1/admin/players/ann/rollbacks', {
      toVersion: annBefore,
      reason: 'duped trade',
      ticket: 'T-1',
      dryRun: true,
    });
    expect(alone.status).toBe(200);
    expect(alone.body.balanced).toBe(false);
    expect(alone.body.entity.undone.map((u: any) => u.version)).toEqual(
      Array.from({ length: annNow - annBefore }, (_, i) => annBefore + 1 + i),
    );
    expect(alone.body.untouched.map((u: any) => u.entityId)).toEqual(['bo']);
    expect(alone.body.entity.deltas.gold).toBe(300);
    expect(alone.body.entity.deltas['inventory.qi-pill']).toBe(-2);
    const refused = await admin('POST', '/v1/admin/players/ann/rollbacks', {
      toVersion: annBefore,
      reason: 'duped trade',
      ticket: 'T-1',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('ROLLBACK_BREAKS_TRADE');

    const both = await admin('POST', '/v1/admin/players/ann/rollbacks', {
      toVersion: annBefore,
      reason: 'duped trade',
      ticket: 'T-1',
      includeRelated: true,
      dryRun: true,
    });
    expect(both.body.balanced).toBe(true);
    expect(both.body.related.map((r: any) => [r.entityId, r.toVersion])).toEqual([['bo', boNow - 1]]);

    const sent = await admin('POST', '/v1/admin/players/ann/rollbacks', {
      toVersion: annBefore,
      reason: 'duped trade',
      ticket: 'T-1',
      includeRelated: true,
    });
    expect(sent.status).toBe(202);
    const outcome = await outcomeOf(h, sent.body.commandId, h.admin);
    expect(outcome.status).toBe('applied');
    const [ann, bo] = await Promise.all([stateItem('ann'), stateItem('bo')]);
    expect(ann.version).toBe(annNow + 1);
    expect(ann.state).toEqual(seen.get('ann')!.get(annBefore));
    expect(bo.version).toBe(boNow + 1);
    expect(bo.state).toEqual(seen.get('bo')!.get(boNow - 1));
    expect(boBefore).toBeLessThan(boNow);
    // History is not rewritten: the trade is still in both logs, followed by the compensating event.
    const events = await h.call('GET', '/v1/players/ann/events?limit=100', { auth: h.service });
    expect(events.body.items.some((e: any) => e.commandType === 'Trade')).toBe(true);
    const last = events.body.items.at(-1);
    expect(last.events[0]).toMatchObject({
      type: 'RolledBack',
      toVersion: annBefore,
      operator: expect.any(String),
      ticket: 'T-1',
    });
    // The owner sees what changed, not who or why.
    const own = await h.call('GET', '/v1/players/ann/events?limit=100', { auth: await h.player('ann') });
    expect(own.body.items.at(-1).events[0].operator).toBeUndefined();
    expect(own.body.items.at(-1).events[0].type).toBe('RolledBack');

    // The same request again is the same command: nothing more happens.
    const again = await admin('POST', '/v1/admin/players/ann/rollbacks', {
      toVersion: annBefore,
      reason: 'duped trade',
      ticket: 'T-1',
      includeRelated: true,
    });
    expect([409, 422]).toContain(again.status);
    expect((await stateItem('ann')).version).toBe(annNow + 1);
    await readSideSettles(['ann', 'bo']);
  });

  it('rolls one side back only with an acknowledged imbalance', async () => {
    await Promise.all([create('cy'), create('di')]);
    await serve('di', { type: 'GrantItem', itemId: 'qi-pill', quantity: 1, source: 'quest' });
    const cyBefore = await record('cy');
    await serve('cy', {
      type: 'Trade',
      tradeId: 't-3',
      counterpartyId: 'di',
      give: { gold: 100 },
      receive: { items: [{ itemId: 'qi-pill', quantity: 1 }] },
    });
    const r = await admin('POST', '/v1/admin/players/cy/rollbacks', {
      toVersion: cyBefore,
      reason: 'cy was hacked; di keeps the gold',
      ticket: 'T-2',
      acknowledgeImbalance: true,
    });
    expect(r.status).toBe(202);
    expect((await outcomeOf(h, r.body.commandId, h.admin)).status).toBe('applied');
    expect((await stateItem('cy')).state).toEqual(seen.get('cy')!.get(cyBefore));
    expect((await stateItem('di')).state.gold).toBe(seen.get('di')!.get(1)!.gold + 100);
    const events = await h.call('GET', '/v1/players/cy/events?limit=100', { auth: h.service });
    expect(events.body.items.at(-1).events[0].acknowledgedImbalance).toBe('cy was hacked; di keeps the gold');
  });

  it('undoes a payment for good: a replay of the notice credits nothing', async () => {
    await create('payer');
    const before = await record('payer');
    const notice = JSON.stringify({
      eventId: 'evt-rb-1',
      orderId: 'rb-order-1',
      playerId: 'payer',
      sku: 'stones-100',
      amount: 99,
      currency: 'USD',
    });
    const deliver = () =>
      h.call('POST', '/v1/webhooks/payments/acme', {
        raw: notice,
        headers: {
          'content-type': 'application/json',
          'gamekeep-signature': signatureHeader(['acme-secret-1'], notice),
        },
      });
    expect((await deliver()).status).toBe(200);
    await until(async () => (await stateItem('payer')).state.spiritStones === 100, 'the payment is credited');
    const r = await admin('POST', '/v1/admin/players/payer/rollbacks', {
      toVersion: before,
      reason: 'chargeback',
      ticket: 'T-3',
    });
    expect(r.status).toBe(202);
    expect((await outcomeOf(h, r.body.commandId, h.admin)).status).toBe('applied');
    expect((await stateItem('payer')).state.spiritStones).toBe(0);
    const version = (await stateItem('payer')).version;
    expect((await deliver()).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await stateItem('payer')).state.spiritStones).toBe(0);
    expect((await stateItem('payer')).version).toBe(version);
  });

  it('takes back a level-up and a realm advance, on the absolute and the periodic boards', async () => {
    await create('eve');
    const before = await record('eve');
    await serve('eve', { type: 'AddExperience', amount: 200_000, source: 'quest' });
    const up = await stateItem('eve');
    expect(up.state.level).toBeGreaterThan(seen.get('eve')!.get(before)!.level);
    expect(up.state.realm).not.toBe(seen.get('eve')!.get(before)!.realm);
    await readSideSettles(['eve']);
    const today = periodOf('experience-daily', new Date());
    expect(await h.readSide!.redis.zscore(`gk:lb:{experience-daily:${today}}`, 'eve')).toBe('-200000');
    const r = await admin('POST', '/v1/admin/players/eve/rollbacks', {
      toVersion: before,
      reason: 'exploit',
      ticket: 'T-4',
    });
    expect((await outcomeOf(h, r.body.commandId, h.admin)).status).toBe('applied');
    expect((await stateItem('eve')).state).toEqual(seen.get('eve')!.get(before));
    await readSideSettles(['eve']);
    expect(await h.readSide!.redis.zscore(`gk:lb:{experience-daily:${today}}`, 'eve')).toBeNull();
  });

  it('keeps order under concurrent traffic: a rollback never undoes what its preview did not see', async () => {
    await create('busy');
    for (let i = 0; i < 5; i++) await serve('busy', { type: 'AddExperience', amount: 3, source: 'quest' });
    const target = 3;
    const traffic = Array.from({ length: 20 }, (_, i) =>
      h.call('POST', '/v1/players/busy/commands', {
        auth: h.service,
        body: { type: 'SpendCurrency', currency: 'gold', amount: 1, reason: 'shop' },
        headers: { 'idempotency-key': `busy-${i}` },
      }),
    );
    const rollback = admin('POST', '/v1/admin/players/busy/rollbacks', {
      toVersion: target,
      reason: 'test',
      ticket: 'T-5',
    });
    const [sent] = await Promise.all([rollback, ...traffic]);
    expect(sent.status).toBe(202);
    const outcome = await outcomeOf(h, sent.body.commandId, h.admin);
    await until(
      async () => (await stateItem('busy')).version >= 26 - (outcome.status === 'applied' ? 0 : 1),
      'all applied',
    );
    const events = await h.call('GET', '/v1/players/busy/events?limit=100', { auth: h.service });
    const items = events.body.items as any[];
    const spends = items.filter((e) => e.commandType === 'SpendCurrency').length;
    expect(spends).toBe(20);
    const final = await stateItem('busy');
    const initialGold = seen.get('busy')!.get(1)!.gold;
    if (outcome.status === 'applied') {
      const rb = items.find((e) => e.commandType === 'RollBack');
      const spentBefore = items.filter((e) => e.commandType === 'SpendCurrency' && e.version < rb.version).length;
      expect(rb.events[0].undone.length).toBe(rb.version - 1 - target);
      // Spends before the rollback were undone; those after it apply on the rolled-back state.
      expect(final.state.gold).toBe(initialGold - (20 - spentBefore));
    } else {
      expect(outcome.code).toBe('ROLLBACK_STALE');
      expect(final.state.gold).toBe(initialGold - 20);
    }
  });

  it('refuses rollbacks that cannot be right', async () => {
    const items = await h.itemCount();
    const bad = [
      { reason: 'r', ticket: 'T' },
      { toVersion: 1, toTime: '2026-01-01T00:00:00Z', reason: 'r', ticket: 'T' },
      { toVersion: 0, reason: 'r', ticket: 'T' },
      { toVersion: 1, reason: '', ticket: 'T' },
      { toVersion: 1, reason: 'r', ticket: 'T', extra: 1 },
    ];
    for (const body of bad) expect((await admin('POST', '/v1/admin/players/eve/rollbacks', body)).status).toBe(400);
    const current = (await stateItem('eve')).version;
    expect(
      (await admin('POST', '/v1/admin/players/eve/rollbacks', { toVersion: current, reason: 'r', ticket: 'T' })).body
        .error.code,
    ).toBe('NOTHING_TO_ROLL_BACK');
    // Going back across an earlier rollback is refused: its undone gains stay retracted.
    expect(
      (await admin('POST', '/v1/admin/players/eve/rollbacks', { toVersion: 1, reason: 'r', ticket: 'T', dryRun: true }))
        .body.error.code,
    ).toBe('ROLLBACK_ACROSS_ROLLBACK');
    expect(
      (await admin('POST', '/v1/admin/players/eve/rollbacks', { toVersion: 1, reason: 'r', ticket: 'T' }, {})).status,
    ).toBe(422);
    expect(await h.itemCount()).toBe(items);
  });
});

describe('quarantine', () => {
  it('refuses every command of a quarantined player until it is released, both audited', async () => {
    await create('quin');
    const q = await admin(
      'POST',
      '/v1/admin/players/quin/quarantine',
      { reason: 'suspected dupe', ticket: 'T-6' },
      { prefer: 'wait=10' },
    );
    expect(q.body.status).toBe('applied');
    const gold = (await stateItem('quin')).state.gold;
    const refused = await serve('quin', { type: 'SpendCurrency', currency: 'gold', amount: 5, reason: 'shop' });
    expect(refused).toMatchObject({ status: 'rejected', code: 'ENTITY_QUARANTINED' });
    // A trade with a quarantined counterparty is refused too.
    await create('quinn');
    const trade = await serve('quinn', {
      type: 'Trade',
      tradeId: 't-q',
      counterpartyId: 'quin',
      give: { gold: 1 },
      receive: { gold: 1 },
    });
    expect(trade).toMatchObject({ status: 'rejected', code: 'ENTITY_QUARANTINED' });
    expect((await stateItem('quin')).state.gold).toBe(gold);
    const again = await admin(
      'POST',
      '/v1/admin/players/quin/quarantine',
      { reason: 'again', ticket: 'T-7' },
      { prefer: 'wait=10' },
    );
    expect(again.body).toMatchObject({ status: 'rejected', code: 'ALREADY_QUARANTINED' });
    const released = await admin(
      'POST',
      '/v1/admin/players/quin/release',
      { reason: 'cleared', ticket: 'T-6' },
      { prefer: 'wait=10' },
    );
    expect(released.body.status).toBe('applied');
    expect(await serve('quin', { type: 'SpendCurrency', currency: 'gold', amount: 5, reason: 'shop' })).toMatchObject({
      status: 'applied',
    });
    expect((await stateItem('quin')).state.gold).toBe(gold - 5);
    const events = await h.call('GET', '/v1/players/quin/events?limit=100', { auth: h.service });
    expect(events.body.items.map((e: any) => e.events[0].type)).toEqual([
      'PlayerCreated',
      'EntityQuarantined',
      'EntityReleased',
      'CurrencySpent',
    ]);
    expect(events.body.items[1].events[0]).toMatchObject({ reason: 'suspected dupe', ticket: 'T-6' });
  });
});

describe('read-side rebuild', () => {
  it('POST /v1/admin/rebuilds rebuilds what Redis lost, from the table', async () => {
    await create('rebuilt');
    await readSideSettles(['rebuilt']);
    const redisClient = h.readSide!.redis;
    expect(await redisClient.zscore('gk:lb:{wealth}', 'rebuilt')).not.toBeNull();
    await redisClient.zrem('gk:lb:{wealth}', 'rebuilt');
    await redisClient.hdel('gk:lb:{wealth}:applied', 'rebuilt');
    expect((await h.call('POST', '/v1/admin/rebuilds', { auth: h.service })).status).toBe(403);
    expect((await admin('POST', '/v1/admin/rebuilds', { resume: 'yes' })).status).toBe(400);
    const r = await admin('POST', '/v1/admin/rebuilds', {});
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ status: 'started', resume: false });
    await until(async () => (await redisClient.zscore('gk:lb:{wealth}', 'rebuilt')) !== null, 'the entry is rebuilt');
    await readSideSettles(['rebuilt']);
  });
});
