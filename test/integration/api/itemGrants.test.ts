import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInOperators, type SignedInOperators } from '../../support/signedInOperators.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/**
 * POST /v1/admin/players/{playerId}/items: operators' grants and revocations are commands through the pipeline,
 * their events naming the operator, the reason and the ticket; a revocation of more than the player holds is a
 * recorded rejection, never a negative inventory; callers without items.grant are refused and nothing is written.
 */
let h: ApiHarness;
let ops: SignedInOperators;
let player: string;
let key = 0;

beforeAll(async () => {
  h = await startApiHarness();
  ops = await signInOperators(h, { viewer: ['viewer'], support: ['support'], ops: ['ops'] });
  player = await h.player('hero');
  const created = await h.call('POST', '/v1/players', {
    auth: h.service,
    body: { playerId: 'hero', name: 'Hero' },
    headers: { prefer: 'wait=10' },
  });
  expect(created.body.status).toBe('applied');
});
afterAll(async () => {
  await ops?.stop();
  await h?.stop();
});

const change = (c: 'grant' | 'revoke', quantity: number, item = 'qi-pill') => ({
  body: { change: c, item, quantity, reason: 'lost in the outage', ticket: `IT-${++key}` },
  headers: { prefer: 'wait=10' },
});
const inventory = async () => (await h.call('GET', '/v1/players/hero', { auth: h.admin })).body.inventory;

describe('item grants and revocations by operators', () => {
  it('grants through the pipeline, with the operator, the reason and the ticket in the event', async () => {
    const r = await ops.call('support', 'POST', '/v1/admin/players/hero/items', change('grant', 3));
    expect(r).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect(await inventory()).toEqual({ 'qi-pill': 3 });
    const events = await h.call('GET', `/v1/players/hero/events?afterVersion=${r.body.version - 1}`, { auth: h.admin });
    expect(events.body.items[0]).toMatchObject({
      commandType: 'AdjustInventory',
      source: { kind: 'operator', actor: 'support' },
      events: [
        {
          type: 'InventoryAdjusted',
          itemId: 'qi-pill',
          delta: 3,
          operator: 'support',
          reason: 'lost in the outage',
          ticket: `IT-${key}`,
        },
      ],
    });
    // The player sees the grant, not the support team's notes.
    const own = await h.call('GET', `/v1/players/hero/events?afterVersion=${r.body.version - 1}`, { auth: player });
    expect(own.body.items[0].events).toEqual([{ type: 'InventoryAdjusted', itemId: 'qi-pill', delta: 3 }]);
  });

  it('records a revocation of more than the player holds as a rejection, and never goes negative', async () => {
    const over = await ops.call('support', 'POST', '/v1/admin/players/hero/items', change('revoke', 5));
    expect(over).toMatchObject({ status: 200, body: { status: 'rejected', code: 'INSUFFICIENT_ITEMS' } });
    expect(await inventory()).toEqual({ 'qi-pill': 3 });
    const some = await ops.call('support', 'POST', '/v1/admin/players/hero/items', change('revoke', 3));
    expect(some).toMatchObject({ status: 200, body: { status: 'applied' } });
    expect(await inventory()).toEqual({});
    const unknown = await ops.call('support', 'POST', '/v1/admin/players/hero/items', change('grant', 1, 'dragon'));
    expect(unknown.body).toMatchObject({ status: 'rejected', code: 'UNKNOWN_ITEM' });
    const nobody = await ops.call('support', 'POST', '/v1/admin/players/nobody/items', change('grant', 1));
    expect(nobody.body).toMatchObject({ status: 'rejected', code: 'PLAYER_NOT_FOUND' });
  });

  it('treats a retry (same Idempotency-Key) as one grant', async () => {
    const once = { ...change('grant', 2), headers: { prefer: 'wait=10', 'idempotency-key': 'grant-once' } };
    const first = await ops.call('support', 'POST', '/v1/admin/players/hero/items', once);
    const again = await ops.call('support', 'POST', '/v1/admin/players/hero/items', once);
    expect(again.body.commandId).toBe(first.body.commandId);
    expect(await inventory()).toEqual({ 'qi-pill': 2 });
  });

  it('refuses callers without items.grant and bad bodies, writing nothing', async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    for (const [who, status] of [
      ['viewer', 403],
      ['ops', 403],
      [player, 403],
      ['service', 403],
      ['not-a-token', 401],
    ] as const) {
      const r = await ops.call(who, 'POST', '/v1/admin/players/hero/items', change('grant', 1));
      expect({ who, status: r.status }).toEqual({ who, status });
      expect(r.body.error.code).toEqual(expect.any(String));
    }
    for (const body of [
      { change: 'grant', item: 'qi-pill', quantity: 0, reason: 'r', ticket: 'T-1' },
      { change: 'steal', item: 'qi-pill', quantity: 1, reason: 'r', ticket: 'T-1' },
      { change: 'grant', item: 'qi#pill', quantity: 1, reason: 'r', ticket: 'T-1' },
      { change: 'grant', item: 'qi-pill', quantity: 1, ticket: 'T-1' },
      { change: 'grant', item: 'qi-pill', quantity: 1, reason: 'r', ticket: 'T-1', operator: 'someone-else' },
    ]) {
      const r = await ops.call('support', 'POST', '/v1/admin/players/hero/items', { body });
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
    }
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
  });
});
