import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHttpHandlers, startGateway, type LocalGateway } from '../../../local/gateway.js';
import { startOidcProvider, type LocalOidcProvider } from '../../../local/oidcProvider.js';
import { REDIRECT_URI, signIn } from '../../support/operatorSignIn.js';
import { startApiHarness, type Answer, type ApiHarness, type CallOptions } from './harness.js';

/**
 * Roles checked on the server for every admin action: operators signed in at the local OpenID provider call the
 * admin routes through a gateway that verifies their JWTs, each refused action is a 403 that writes nothing, and
 * IAM automation (the admin token) keeps every right.
 */
type Who = 'viewer' | 'support' | 'gm' | 'ops' | 'admin' | 'service' | 'player';

let h: ApiHarness;
let dir: string;
let op: LocalOidcProvider;
let gateway: LocalGateway;
const tokens = {} as Record<Who, string>;
let idToken: string;
let key = 0;

beforeAll(async () => {
  h = await startApiHarness();
  dir = mkdtempSync(join(tmpdir(), 'gamekeep-roles-'));
  op = await startOidcProvider({ dir, config: h.config, redirectUris: [REDIRECT_URI] });
  // The harness's own gateway knows no operator issuer; this one, on the same functions' code and table, does.
  gateway = await startGateway({
    handlers: localHttpHandlers(h.config),
    jwtSecret: h.config.jwtSecret!,
    serviceToken: h.service,
    adminToken: h.admin,
    operatorIssuer: op.issuer,
  });
  for (const { username, password } of op.createdAccounts) {
    const signedIn = await signIn(op.issuer, username, password);
    expect(signedIn.status).toBe('signed-in');
    tokens[username as Who] = signedIn.tokens!.access_token;
    idToken = signedIn.tokens!.id_token;
  }
  tokens.admin = h.admin;
  tokens.service = h.service;
  tokens.player = await h.player('hero');

  const created = await h.call('POST', '/v1/players', {
    auth: h.service,
    body: { playerId: 'hero', name: 'Hero' },
    headers: { prefer: 'wait=10' },
  });
  expect(created.body.status).toBe('applied');
  for (const ticket of ['T-1', 'T-2'])
    expect(
      (
        await call('admin', 'POST', '/v1/admin/players/hero/adjustments', {
          body: { currency: 'gold', delta: 100, reason: 'setup', ticket },
          headers: { prefer: 'wait=10' },
        })
      ).status,
    ).toBe(200);
});
afterAll(async () => {
  await gateway?.stop();
  await op?.stop();
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function call(who: Who | string, method: string, path: string, o: CallOptions = {}): Promise<Answer> {
  const auth = (tokens as Record<string, string>)[who] ?? who;
  return fetchAnswer(`${gateway.url}${path}`, method, { ...o, auth });
}

/** Calls as `who` and expects `status`; a refusal must leave the table as it was, queue included. */
async function expectAnswer(who: Who, status: number, method: string, path: string, o: CallOptions = {}) {
  await h.pipeline!.drained();
  const before = await h.itemCount();
  const r = await call(who, method, path, {
    ...o,
    headers: { 'idempotency-key': `roles-${++key}`, ...o.headers },
  });
  expect({ who, method, path, status: r.status, body: r.status === status ? undefined : r.body }).toEqual({
    who,
    method,
    path,
    status,
    body: undefined,
  });
  if (status >= 400) {
    expect(r.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    // Anything enqueued would leave a command record once applied or rejected.
    await h.pipeline!.drained();
    expect({ who, path, items: await h.itemCount() }).toEqual({ who, path, items: before });
  }
  return r;
}

const adjustment = (delta: number) => ({ body: { currency: 'gold', delta, reason: 'goodwill', ticket: `A-${++key}` } });

describe('operators by role on the admin routes', () => {
  it('lets every role read: history, diffs, payments, dead letters, check reports', async () => {
    for (const who of ['viewer', 'support', 'gm', 'ops', 'admin'] as const) {
      const past = await expectAnswer(who, 200, 'GET', '/v1/admin/players/hero/history?atVersion=1');
      expect(past.body).toMatchObject({ version: 1, state: { gold: 1000 } });
      await expectAnswer(who, 200, 'GET', '/v1/admin/players/hero/diff?from=1&to=3');
      await expectAnswer(who, 200, 'GET', '/v1/admin/payments/disputed');
      await expectAnswer(who, 200, 'GET', '/v1/admin/dead-letters');
    }
    for (const who of ['player', 'service'] as const)
      await expectAnswer(who, 403, 'GET', '/v1/admin/players/hero/history?atVersion=1');
  });

  it('refuses a viewer any write, with 403 and nothing written', async () => {
    const refused = await expectAnswer('viewer', 403, 'POST', '/v1/admin/players/hero/adjustments', adjustment(1));
    expect(refused.body.error).toEqual({
      code: 'FORBIDDEN',
      message: 'operator viewer (viewer) may not adjust balances: it takes the support or gm role',
    });
    await expectAnswer('viewer', 403, 'POST', '/v1/admin/players/hero/rollbacks', {
      body: { toVersion: 1, reason: 'r', ticket: 'T-9', dryRun: true },
    });
    await expectAnswer('viewer', 403, 'POST', '/v1/admin/checks', { body: {} });
    await expectAnswer('viewer', 403, 'POST', '/v1/admin/payments/acme/o-1/dismiss', {
      body: { reason: 'r', ticket: 'T-9' },
    });
  });

  it('lets support adjust within its limit per action, refuses beyond it, and names the operator in the ledger', async () => {
    await expectAnswer('support', 202, 'POST', '/v1/admin/players/hero/adjustments', adjustment(1000));
    await expectAnswer('support', 202, 'POST', '/v1/admin/players/hero/adjustments', adjustment(-1000));
    for (const delta of [1001, -1001]) {
      const over = await expectAnswer('support', 403, 'POST', '/v1/admin/players/hero/adjustments', adjustment(delta));
      expect(over.body.error.code).toBe('OVER_ADJUSTMENT_LIMIT');
    }
    await h.pipeline!.drained();
    const events = await call('admin', 'GET', '/v1/players/hero/events');
    expect(
      events.body.items.filter((i: any) => i.source.actor === 'support').map((i: any) => i.events[0].delta),
    ).toEqual([1000, -1000]);
    // Payments are support's (reaching the route: no such payment); rollbacks and checks are not.
    await expectAnswer('support', 404, 'POST', '/v1/admin/payments/acme/o-1/dismiss', {
      body: { reason: 'r', ticket: 'T-9' },
    });
    await expectAnswer('support', 403, 'POST', '/v1/admin/players/hero/rollbacks', {
      body: { toVersion: 1, reason: 'r', ticket: 'T-9', dryRun: true },
    });
    await expectAnswer('support', 403, 'POST', '/v1/admin/players/hero/quarantine', {
      body: { reason: 'r', ticket: 'T-9' },
    });
  });

  it('lets a gm adjust without a limit, roll back, quarantine and release', async () => {
    await expectAnswer('gm', 202, 'POST', '/v1/admin/players/hero/adjustments', adjustment(50_000));
    await h.pipeline!.drained();
    const preview = await expectAnswer('gm', 200, 'POST', '/v1/admin/players/hero/rollbacks', {
      body: { toVersion: 3, reason: 'wrong adjustments', ticket: 'T-10', dryRun: true },
    });
    expect(preview.body.balanced).toBe(true);
    await expectAnswer('gm', 202, 'POST', '/v1/admin/players/hero/rollbacks', {
      body: { toVersion: 3, reason: 'wrong adjustments', ticket: 'T-10' },
    });
    await h.pipeline!.drained();
    const now = await call('admin', 'GET', '/v1/players/hero');
    expect(now.body.gold).toBe(1200);
    await expectAnswer('gm', 202, 'POST', '/v1/admin/players/hero/quarantine', {
      body: { reason: 'r', ticket: 'T-11' },
    });
    await expectAnswer('gm', 202, 'POST', '/v1/admin/players/hero/release', { body: { reason: 'r', ticket: 'T-11' } });
    // The machinery is ops'.
    await expectAnswer('gm', 403, 'POST', '/v1/admin/checks', { body: {} });
    await expectAnswer('gm', 403, 'POST', '/v1/admin/dead-letters/m-1/replay');
    await expectAnswer('gm', 403, 'POST', '/v1/admin/payments/reconciliations');
    await expectAnswer('gm', 403, 'POST', '/v1/admin/players/hero/repairs', {
      body: { expectedVersion: 1, reason: 'r', ticket: 'T-12' },
    });
  });

  it('lets ops run checks and the machinery, and refuses it money', async () => {
    await expectAnswer('ops', 403, 'POST', '/v1/admin/players/hero/adjustments', adjustment(1));
    await expectAnswer('ops', 403, 'POST', '/v1/admin/payments/acme/o-1/credit', {
      body: { reason: 'r', ticket: 'T-9' },
    });
    await expectAnswer('ops', 403, 'POST', '/v1/admin/players/hero/rollbacks', {
      body: { toVersion: 1, reason: 'r', ticket: 'T-9', dryRun: true },
    });
    const check = await expectAnswer('ops', 202, 'POST', '/v1/admin/checks', { body: {} });
    await expectAnswer('viewer', 200, 'GET', `/v1/admin/checks/${check.body.checkId}`);
    await expectAnswer('ops', 200, 'POST', '/v1/admin/payments/reconciliations');
    // Past the role check, the route's own answers: no such dead letter, no rebuild function here.
    await expectAnswer('ops', 404, 'POST', '/v1/admin/dead-letters/m-1/replay');
    await expectAnswer('ops', 503, 'POST', '/v1/admin/rebuilds', { body: {} });
  });

  it('keeps IAM automation (the admin token) allowed everything', async () => {
    await h.pipeline!.drained();
    const { version } = (await call('admin', 'GET', '/v1/players/hero')).body;
    await expectAnswer('admin', 202, 'POST', '/v1/admin/players/hero/adjustments', adjustment(50_000));
    await h.pipeline!.drained();
    await expectAnswer('admin', 200, 'POST', '/v1/admin/players/hero/rollbacks', {
      body: { toVersion: version, reason: 'r', ticket: 'T-13', dryRun: true },
    });
    await expectAnswer('admin', 202, 'POST', '/v1/admin/checks', { body: {} });
    await expectAnswer('admin', 200, 'POST', '/v1/admin/payments/reconciliations');
    await expectAnswer('admin', 404, 'POST', '/v1/admin/payments/acme/o-1/dismiss', {
      body: { reason: 'r', ticket: 'T-9' },
    });
  });
});

describe('operator tokens at the gateway', () => {
  it('are refused on player routes, as the players’ authorizer refuses their issuer', async () => {
    for (const [method, path] of [
      ['GET', '/v1/players/hero'],
      ['GET', '/v1/players/hero/events'],
      ['POST', '/v1/players/hero/commands'],
    ] as const) {
      const r = await expectAnswer('gm', 401, method, path, {
        body: { type: 'ConsumeEnergy', amount: 1, reason: 'duel' },
      });
      expect(r.body.error.code).toBe('UNAUTHORIZED');
    }
  });

  it('read the leaderboards (the console’s Leaderboards page), as the operator API serves them on AWS', async () => {
    // This harness runs no Redis: past the gateway the read side answers that it has no boards (a refused token is
    // 401 UNAUTHORIZED, as on the player routes above). The console's browser tests read the boards for real.
    const r = await expectAnswer('viewer', 503, 'GET', '/v1/leaderboards/level');
    expect(r.body.error.code).toBe('LEADERBOARDS_UNAVAILABLE');
  });

  it('are refused by a gateway that knows no operator issuer, and when tampered with or meant for another audience', async () => {
    const r = await fetchAnswer(`${h.url}/v1/admin/players/hero/history?atVersion=1`, 'GET', { auth: tokens.gm });
    expect(r.status).toBe(401);
    const [header, payload, signature] = tokens.gm.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, groups: ['gm', 'ops'] })).toString('base64url')}.${signature}`;
    await expectAnswer(forged as Who, 401, 'POST', '/v1/admin/checks', { body: {} });
    // The ID token's audience is the console, not the admin API.
    await expectAnswer(idToken as Who, 401, 'GET', '/v1/admin/players/hero/history?atVersion=1');
  });
});

// --- Signing in, as the console will ---------------------------------------------------------------------------

async function fetchAnswer(url: string, method: string, o: CallOptions): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth) headers.authorization = `Bearer ${o.auth}`;
  const body = o.body !== undefined && method !== 'GET' ? JSON.stringify(o.body) : undefined;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
