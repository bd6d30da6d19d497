import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import { runBulkGrant, type BulkGrantDeps } from '../../../shared/bulk/bulkGrants.js';
import { dynamoDbClient, sqsClient } from '../../../shared/clients.js';
import { CommandQueue } from '../../../shared/messaging/commandQueue.js';
import { startRestartableQueue, type RestartableQueue } from '../../support/restartableQueue.js';
import { signInOperators, type AdminClients, type SignedInOperators } from '../../support/signedInOperators.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/**
 * Bulk grants: one grant to listed players or to every player active on a day, a resumable fan-out idempotent per
 * (bulk grant, player), with progress and a final report. The queue is an emulator of the test's own, killed
 * mid-way as a crash of the stack would; the runs are driven here (the route's background start is recorded).
 */
const PLAYERS = Array.from({ length: 30 }, (_, i) => `bg-${String(i).padStart(2, '0')}`);
let queue: RestartableQueue;
let h: ApiHarness;
let ops: SignedInOperators;
let db: DynamoDBDocumentClient;
let deps: BulkGrantDeps;
let pipeline: CommandPipeline | undefined;
const started: string[] = [];

beforeAll(async () => {
  queue = await startRestartableQueue();
  h = await startApiHarness({ stack: queue.resources });
  ops = await signInOperators(h, { viewer: ['viewer'], support: ['support'], gm: ['gm'], gm2: ['gm'] }, {
    startBulkGrant: async (id: string) => void started.push(id),
  } as AdminClients);
  db = dynamoDbClient(h.config);
  deps = {
    db,
    tableName: h.config.tableName,
    queue: new CommandQueue(sqsClient(h.config), h.config.queueUrl!, 16),
    now: () => new Date(),
  };
  const created = await Promise.all(
    PLAYERS.map((playerId) =>
      h.call('POST', '/v1/players', { auth: h.service, body: { playerId, name: `Player ${playerId}` } }),
    ),
  );
  expect(created.every((r) => r.status === 202)).toBe(true);
  await h.pipeline!.drained();
  // From here on nothing commits until a test starts a pipeline of its own.
  await h.pipeline!.stop();
});
afterAll(async () => {
  try {
    await pipeline?.stop();
    await ops?.stop();
    await h?.stop();
    db?.destroy();
  } finally {
    await queue?.stop();
  }
});

const startPipeline = (): CommandPipeline =>
  (pipeline ??= startCommandPipeline({ ...queue.resources, config: h.config }, { concurrency: 2 }));

/** A bulk grant's events per player, read from the players' event items (not from the run's own records). */
async function grantsOf(bulkGrantId: string, players: readonly string[]): Promise<number[]> {
  return Promise.all(
    players.map(async (playerId) => {
      const out = await db.send(
        new QueryCommand({
          TableName: h.config.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :events)',
          ExpressionAttributeValues: { ':pk': `P#${playerId}`, ':events': 'E#' },
          ConsistentRead: true,
        }),
      );
      const events = (out.Items ?? []).flatMap((item) => item.events as { bulkGrantId?: string }[]);
      return events.filter((e) => e.bulkGrantId === bulkGrantId).length;
    }),
  );
}

/** Runs until done, in short invocations, two at once (as overlapping invocations would). */
async function runToDone(bulkGrantId: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const steps = await Promise.all(
      [0, 1].map(() => {
        const until = Date.now() + 4_000;
        return runBulkGrant(deps, bulkGrantId, () => until - Date.now(), {
          pageSize: 5,
          reserveMs: 500,
          concurrency: 2,
        });
      }),
    );
    if (steps.every((s) => s.status === 'done')) return;
  }
  throw new Error(`bulk grant ${bulkGrantId} is not done`);
}

describe('bulk grants', () => {
  it('are gm work: support, viewers and services are refused, and bad bodies, with nothing written', async () => {
    const body = { players: ['bg-00'], grant: { currency: 'gold', amount: 10 }, reason: 'outage', ticket: 'BG-0' };
    const before = await h.itemCount();
    for (const [who, status] of [
      ['support', 403],
      ['viewer', 403],
      ['service', 403],
      ['garbage', 401],
    ] as const)
      expect({ who, status: (await ops.call(who, 'POST', '/v1/admin/bulk-grants', { body })).status }).toEqual({
        who,
        status,
      });
    for (const bad of [
      { ...body, activeOn: '2026-01-01' },
      { ...body, players: [] },
      { ...body, players: ['bad#id'] },
      { ...body, grant: { currency: 'gold', amount: 0 } },
      { ...body, grant: { currency: 'gold', amount: 1, item: 'qi-pill' } },
      { players: undefined, activeOn: '2999-01-01', grant: body.grant, reason: 'r', ticket: 'T' },
    ])
      expect((await ops.call('gm', 'POST', '/v1/admin/bulk-grants', { body: bad })).status).toBe(400);
    expect(await h.itemCount()).toBe(before);
    expect(started).toEqual([]);
  });

  it('grants every listed player exactly once across a crash mid-way, and reports the unknown ones as skipped', async () => {
    const listed = [...PLAYERS, 'ghost', 'bg-00'];
    const r = await ops.call('gm', 'POST', '/v1/admin/bulk-grants', {
      body: { players: listed, grant: { currency: 'gold', amount: 10 }, reason: 'outage 7', ticket: 'BG-1' },
    });
    expect(r).toMatchObject({ status: 202, body: { status: 'running', bulkGrantId: expect.stringMatching(/^bg-/) } });
    const { bulkGrantId } = r.body;
    expect(started).toEqual([bulkGrantId]);
    // A retry is the same bulk grant.
    const again = await ops.call('gm', 'POST', '/v1/admin/bulk-grants', {
      body: { players: listed, grant: { currency: 'gold', amount: 10 }, reason: 'outage 7', ticket: 'BG-1' },
    });
    expect(again.body.bulkGrantId).toBe(bulkGrantId);

    // The first invocation dies after a few pages: what it sent is in the queue, nothing is committed yet.
    let calls = 0;
    const partial = await runBulkGrant(deps, bulkGrantId, () => (++calls <= 3 ? 60_000 : 0), {
      pageSize: 5,
      concurrency: 1,
      reserveMs: 1,
    });
    expect(partial).toMatchObject({ status: 'continue', phase: 'send' });
    expect(partial.sent).toBeGreaterThan(0);
    expect(partial.sent).toBeLessThan(PLAYERS.length + 1);
    const midway = await ops.call('viewer', 'GET', `/v1/admin/bulk-grants/${bulkGrantId}`);
    expect(midway.body).toMatchObject({ status: 'running', progress: { phase: 'send', total: 31, granted: 0 } });

    // The crash: the queue loses every message it held; the checkpoint says those pages were sent.
    await queue.kill();
    await queue.restart();
    startPipeline();
    await runToDone(bulkGrantId);

    expect(await grantsOf(bulkGrantId, PLAYERS)).toEqual(PLAYERS.map(() => 1));
    const done = await ops.call('viewer', 'GET', `/v1/admin/bulk-grants/${bulkGrantId}`);
    expect(done.body).toMatchObject({
      bulkGrantId,
      status: 'done',
      target: { players: 31 },
      requestedBy: 'gm',
      progress: { phase: 'done', total: 31, granted: 30, skipped: 1, failed: 0 },
      report: {
        granted: 30,
        skipped: [{ playerId: 'ghost', outcome: 'skipped', code: 'PLAYER_NOT_FOUND', message: expect.any(String) }],
        failed: [],
        truncated: false,
      },
    });
    // Each grant's event names the operator, the reason, the ticket and the bulk grant.
    const events = await h.call('GET', '/v1/players/bg-07/events?limit=100', { auth: h.admin });
    expect(events.body.items.at(-1).events).toEqual([
      {
        type: 'BalanceAdjusted',
        currency: 'gold',
        delta: 10,
        operator: 'gm',
        reason: 'outage 7',
        ticket: 'BG-1',
        bulkGrantId,
      },
    ]);
    // Done is done: running it again grants nothing more.
    await runToDone(bulkGrantId);
    expect(await grantsOf(bulkGrantId, PLAYERS)).toEqual(PLAYERS.map(() => 1));
    const listedGrants = await ops.call('viewer', 'GET', '/v1/admin/bulk-grants');
    expect(listedGrants.body.items.map((i: any) => i.bulkGrantId)).toContain(bulkGrantId);
  });

  it('grants the players active on a day once a second gm approves, with both identities in the events', async () => {
    startPipeline();
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const ask = (activeOn: string, ticket: string) =>
      ops.call('gm', 'POST', '/v1/admin/bulk-grants', {
        body: { activeOn, grant: { item: 'qi-pill', quantity: 2 }, reason: 'login rewards lost', ticket },
      });
    const pending = await ask(today, 'BG-2');
    expect(pending).toMatchObject({
      status: 202,
      body: { status: 'pending-approval', bulkGrantId: expect.any(String) },
    });
    const { bulkGrantId, approvalId } = pending.body;
    expect((await ops.call('viewer', 'GET', `/v1/admin/bulk-grants/${bulkGrantId}`)).body.status).toBe(
      'pending-approval',
    );
    expect(started).not.toContain(bulkGrantId);
    const self = await ops.call('gm', 'POST', `/v1/admin/approvals/${approvalId}/approve`, { body: {} });
    expect(self.body.error.code).toBe('SELF_APPROVAL');
    const approved = await ops.call('gm2', 'POST', `/v1/admin/approvals/${approvalId}/approve`, { body: {} });
    expect(approved).toMatchObject({ status: 200, body: { bulkGrantId, approval: { status: 'approved' } } });
    expect(started).toContain(bulkGrantId);
    await runToDone(bulkGrantId);
    // Every player was created today by a game service: all active.
    expect(await grantsOf(bulkGrantId, PLAYERS)).toEqual(PLAYERS.map(() => 1));
    const events = await h.call('GET', '/v1/players/bg-03/events?limit=100', { auth: h.admin });
    expect(events.body.items.at(-1).events[0]).toMatchObject({
      type: 'InventoryAdjusted',
      itemId: 'qi-pill',
      delta: 2,
      bulkGrantId,
      approval: { approvalId, requestedBy: 'gm', approvedBy: 'gm2' },
    });
    expect((await ops.call('viewer', 'GET', `/v1/admin/bulk-grants/${bulkGrantId}`)).body.progress).toMatchObject({
      total: PLAYERS.length,
      granted: PLAYERS.length,
    });

    // Nobody was active yesterday: approved, run, nothing granted.
    const none = await ask(yesterday, 'BG-3');
    await ops.call('gm2', 'POST', `/v1/admin/approvals/${none.body.approvalId}/approve`, { body: {} });
    await runToDone(none.body.bulkGrantId);
    expect(await grantsOf(none.body.bulkGrantId, PLAYERS)).toEqual(PLAYERS.map(() => 0));
    expect((await ops.call('viewer', 'GET', `/v1/admin/bulk-grants/${none.body.bulkGrantId}`)).body).toMatchObject({
      status: 'done',
      progress: { total: 0, granted: 0 },
    });
  });
});
