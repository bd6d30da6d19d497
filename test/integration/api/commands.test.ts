import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, outcomeOf, type ApiHarness } from './harness.js';

let h: ApiHarness;
let lin: string;

beforeAll(async () => {
  h = await startApiHarness();
  lin = await h.player('lin');
});
afterAll(() => h.stop());

describe('HTTP API v1 through the local gateway', () => {
  it('answers health and serves the OpenAPI 3.1 document without credentials', async () => {
    expect(await h.call('GET', '/v1/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const doc = await h.call('GET', '/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/v1/players/{playerId}/commands');
  });

  it('creates a player for the token subject and waits for the outcome with Prefer: wait', async () => {
    const created = await h.call('POST', '/v1/players', {
      auth: lin,
      body: { name: 'Lin Feng' },
      headers: { prefer: 'wait=10' },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ playerId: 'lin', status: 'applied', version: 1 });
    expect(created.headers.get('location')).toBe(`/v1/commands/${created.body.commandId}`);
    const again = await h.call('POST', '/v1/players', { auth: lin, body: { name: 'Lin Feng' } });
    expect(again.body).toMatchObject({ commandId: created.body.commandId, status: 'applied' });
  });

  it('queues a command with 202 and a Location, then reports it applied', async () => {
    const sent = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      body: { type: 'PurchaseItem', itemId: 'spirit-herb', quantity: 2 },
      headers: { 'idempotency-key': 'buy-herbs-1' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ commandId: expect.stringMatching(/^c[0-9a-f]{40}$/), status: 'queued' });
    expect(sent.headers.get('location')).toBe(`/v1/commands/${sent.body.commandId}`);
    expect(await outcomeOf(h, sent.body.commandId, lin)).toMatchObject({ status: 'applied', version: 2 });
    const view = await h.call('GET', '/v1/players/lin', { auth: lin });
    expect(view).toMatchObject({
      status: 200,
      body: { playerId: 'lin', version: 2, gold: 960, inventory: { 'spirit-herb': 2 } },
    });
    expect(view.body).not.toHaveProperty('exists');
  });

  it('treats a retry with the same Idempotency-Key as the same command, and another payload under it as 409', async () => {
    const body = { type: 'UseItem', itemId: 'spirit-herb', quantity: 1 };
    const first = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      body,
      headers: { 'idempotency-key': 'use-1', prefer: 'wait=10' },
    });
    expect(first.status).toBe(200);
    const retry = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      body,
      headers: { 'idempotency-key': 'use-1' },
    });
    expect(retry.body.commandId).toBe(first.body.commandId);
    const before = await h.itemCount();
    const reused = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      body: { type: 'UseItem', itemId: 'spirit-herb', quantity: 2 },
      headers: { 'idempotency-key': 'use-1' },
    });
    expect(reused).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    expect(await h.itemCount()).toBe(before);
  });

  it('reports a domain rejection as the outcome', async () => {
    const r = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      body: { type: 'PurchaseItem', itemId: 'iron-sword', quantity: 5 },
      headers: { 'idempotency-key': 'swords', prefer: 'wait=10' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS' });
  });

  it('requires an Idempotency-Key on commands, with a strict pattern', async () => {
    const body = { type: 'UseItem', itemId: 'spirit-herb', quantity: 1 };
    expect(await h.call('POST', '/v1/players/lin/commands', { auth: lin, body })).toMatchObject({
      status: 400,
      body: { error: { code: 'IDEMPOTENCY_KEY_REQUIRED' } },
    });
    expect(
      await h.call('POST', '/v1/players/lin/commands', { auth: lin, body, headers: { 'idempotency-key': 'a#STATE' } }),
    ).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_REQUEST' } },
    });
  });

  it('pages the audit trail with a cursor', async () => {
    const service = h.service;
    for (let i = 0; i < 3; i++)
      await h.call('POST', '/v1/players/lin/commands', {
        auth: service,
        body: { type: 'AddExperience', amount: 10, source: 'quest' },
        headers: { 'idempotency-key': `xp-${i}`, prefer: 'wait=10' },
      });
    const first = await h.call('GET', '/v1/players/lin/events?limit=2', { auth: lin });
    expect(first.status).toBe(200);
    expect(first.body.items.map((i: { version: number }) => i.version)).toEqual([1, 2]);
    expect(first.body.nextAfterVersion).toBe(2);
    expect(first.body.items[0]).toMatchObject({
      commandType: 'CreatePlayer',
      source: { kind: 'client', actor: 'lin' },
    });
    const all: number[] = [];
    for (let after: number | null = 0; after !== null; ) {
      const page: any = await h.call('GET', `/v1/players/lin/events?afterVersion=${after}&limit=2`, { auth: lin });
      all.push(...page.body.items.map((i: { version: number }) => i.version));
      after = page.body.nextAfterVersion;
    }
    const view = await h.call('GET', '/v1/players/lin', { auth: lin });
    expect(all).toEqual(Array.from({ length: view.body.version }, (_, i) => i + 1));
  });

  it('honours minVersion on the player view', async () => {
    const view = await h.call('GET', '/v1/players/lin', { auth: lin });
    expect((await h.call('GET', `/v1/players/lin?minVersion=${view.body.version}`, { auth: lin })).status).toBe(200);
    expect(await h.call('GET', `/v1/players/lin?minVersion=${view.body.version + 1}`, { auth: lin })).toMatchObject({
      status: 409,
      body: { error: { code: 'VERSION_NOT_REACHED' } },
    });
  });

  it('without Redis: reads the player from DynamoDB, answers leaderboards 503 and reports no cache', async () => {
    const view = await h.call('GET', '/v1/players/lin', { auth: lin });
    expect(view.headers.get('x-cache')).toBe('table');
    expect(await h.call('GET', '/v1/leaderboards/level', { auth: lin })).toMatchObject({
      status: 503,
      body: { error: { code: 'LEADERBOARDS_UNAVAILABLE' } },
    });
    expect((await h.call('GET', '/v1/leaderboards/nope', { auth: lin })).status).toBe(404);
    expect(await h.call('GET', '/v1/admin/stats', { auth: h.admin })).toMatchObject({
      status: 200,
      body: { cache: null },
    });
  });

  it('answers 404 for a player that does not exist and for unknown routes', async () => {
    expect(await h.call('GET', '/v1/players/nobody', { auth: h.service })).toMatchObject({
      status: 404,
      body: { error: { code: 'PLAYER_NOT_FOUND' } },
    });
    expect(await h.call('GET', '/v1/nothing')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('refuses bodies over 64 KB with 413 and writes nothing', async () => {
    const before = await h.itemCount();
    const r = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      raw: JSON.stringify({ type: 'UseItem', itemId: 'spirit-herb', quantity: 1, pad: 'x'.repeat(70_000) }),
      headers: { 'idempotency-key': 'big' },
    });
    expect(r).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    expect(await h.itemCount()).toBe(before);
  });

  it('rejects unknown fields, wrong types and malformed JSON with 400', async () => {
    const send = (raw: string) =>
      h.call('POST', '/v1/players/lin/commands', { auth: lin, raw, headers: { 'idempotency-key': 'bad-1' } });
    expect(await send('{"type":"UseItem","itemId":"spirit-herb","quantity":1,"extra":1}')).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_COMMAND' } },
    });
    expect(await send('{"type":"UseItem","itemId":"spirit-herb","quantity":"1"}')).toMatchObject({ status: 400 });
    expect(await send('{"type":"UseItem","itemId":"spirit-herb","quantity":-1}')).toMatchObject({ status: 400 });
    expect(await send('{"type":"UseItem","itemId":"a#STATE","quantity":1}')).toMatchObject({ status: 400 });
    expect(await send('{"type":')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_JSON' } } });
  });

  it('behaves like API Gateway at the edge: 405 for a wrong method, binary bodies passed base64-encoded', async () => {
    expect(await h.call('DELETE', '/v1/players/lin', { auth: lin })).toMatchObject({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED' } },
    });
    const binary = await h.call('POST', '/v1/players/lin/commands', {
      auth: lin,
      raw: Buffer.from(JSON.stringify({ type: 'ConsumeEnergy', amount: 1, reason: 'spar' })),
      headers: { 'content-type': 'application/octet-stream', 'idempotency-key': 'binary-1', prefer: 'wait=10' },
    });
    expect(binary).toMatchObject({ status: 200, body: { status: 'applied' } });
  });
});
