import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { startApiHarness, type ApiHarness } from './harness.js';

let h: ApiHarness;
let redis: LocalRedis;
let tokens: Record<
  'anonymous' | 'forged' | 'expired' | 'garbage' | 'me' | 'other' | 'service' | 'admin',
  string | undefined
>;
let myCommandId: string;

beforeAll(async () => {
  // With the read side, as deployed: leaderboards answer (empty here: no projector runs).
  redis = await startRedis();
  h = await startApiHarness({ redisUrl: redis.url });
  const forge = (secret: string, exp: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('me')
      .setIssuer('gamekeep-local')
      .setAudience('gamekeep')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
  tokens = {
    anonymous: undefined,
    forged: await forge('not-the-secret-at-all-0123456789', Math.floor(Date.now() / 1000) + 600),
    expired: await forge(h.config.jwtSecret!, Math.floor(Date.now() / 1000) - 60),
    garbage: 'not-a-token',
    me: await h.player('me'),
    other: await h.player('other'),
    service: h.service,
    admin: h.admin,
  };
  for (const [id, auth] of [
    ['me', tokens.me],
    ['other', tokens.other],
  ] as const)
    expect(
      (await h.call('POST', '/v1/players', { auth, body: { name: `Hero ${id}` }, headers: { prefer: 'wait=10' } })).body
        .status,
    ).toBe('applied');
  const r = await h.call('POST', '/v1/players/me/commands', {
    auth: tokens.me,
    body: { type: 'ConsumeEnergy', amount: 1, reason: 'duel' },
    headers: { 'idempotency-key': 'k-1', prefer: 'wait=10' },
  });
  myCommandId = r.body.commandId;
});
afterAll(async () => {
  await h?.stop();
  await redis?.stop();
});

type Who = keyof typeof tokens;
interface Case {
  readonly route: string;
  readonly method: string;
  readonly path: () => string;
  readonly body?: (who: Who) => unknown;
  readonly headers?: Record<string, string>;
  /** Expected status per caller; the unlisted bad credentials always get 401. */
  readonly expect: Partial<Record<Who, number>>;
  readonly writes?: boolean;
}

let key = 0;
const cases: Case[] = [
  {
    route: 'POST /v1/players',
    method: 'POST',
    path: () => '/v1/players',
    body: (who) => (who === 'me' ? { name: 'Me Again' } : { playerId: `svc-made-${++key}`, name: `Made ${key}` }),
    expect: { me: 202, other: 403, service: 202, admin: 403 },
    writes: true,
  },
  {
    route: 'POST /v1/players/{playerId}/commands',
    method: 'POST',
    path: () => '/v1/players/me/commands',
    body: () => ({ type: 'ConsumeEnergy', amount: 1, reason: 'duel' }),
    expect: { me: 202, other: 403, service: 202, admin: 403 },
    writes: true,
  },
  {
    route: 'GET /v1/commands/{commandId}',
    method: 'GET',
    path: () => `/v1/commands/${myCommandId}`,
    expect: { me: 200, other: 404, service: 200, admin: 200 },
  },
  {
    route: 'GET /v1/players/{playerId}',
    method: 'GET',
    path: () => '/v1/players/me',
    expect: { me: 200, other: 403, service: 200, admin: 200 },
  },
  {
    route: 'GET /v1/players/{playerId}/events',
    method: 'GET',
    path: () => '/v1/players/me/events',
    expect: { me: 200, other: 403, service: 200, admin: 200 },
  },
  {
    route: 'GET /v1/leaderboards/{board}',
    method: 'GET',
    path: () => '/v1/leaderboards/level?around=me',
    expect: { me: 200, other: 200, service: 200, admin: 200 },
  },
  {
    route: 'POST /v1/admin/players/{playerId}/adjustments',
    method: 'POST',
    path: () => '/v1/admin/players/me/adjustments',
    body: () => ({ currency: 'gold', delta: 5, reason: 'goodwill', ticket: `T-${++key}` }),
    expect: { me: 403, other: 403, service: 403, admin: 202 },
    writes: true,
  },
  {
    route: 'POST /v1/admin/players/{playerId}/items',
    method: 'POST',
    path: () => '/v1/admin/players/me/items',
    body: () => ({ change: 'grant', item: 'qi-pill', quantity: 1, reason: 'goodwill', ticket: `T-${++key}` }),
    expect: { me: 403, other: 403, service: 403, admin: 202 },
    writes: true,
  },
  {
    route: 'GET /v1/admin/approvals',
    method: 'GET',
    path: () => '/v1/admin/approvals',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
  {
    route: 'GET /v1/admin/approvals/{approvalId}',
    method: 'GET',
    path: () => `/v1/admin/approvals/ap-${'0'.repeat(32)}`,
    expect: { me: 403, other: 403, service: 403, admin: 404 },
  },
  {
    route: 'POST /v1/admin/approvals/{approvalId}/approve',
    method: 'POST',
    path: () => `/v1/admin/approvals/ap-${'0'.repeat(32)}/approve`,
    body: () => ({}),
    expect: { me: 403, other: 403, service: 403, admin: 404 },
    writes: true,
  },
  {
    route: 'POST /v1/admin/approvals/{approvalId}/decline',
    method: 'POST',
    path: () => `/v1/admin/approvals/ap-${'0'.repeat(32)}/decline`,
    body: () => ({ reason: 'no' }),
    expect: { me: 403, other: 403, service: 403, admin: 404 },
    writes: true,
  },
  {
    route: 'POST /v1/admin/bulk-grants',
    method: 'POST',
    path: () => '/v1/admin/bulk-grants',
    // Above the approval threshold: stored for a second operator, so no run goes on in the background.
    body: () => ({
      players: ['me'],
      grant: { currency: 'gold', amount: 200_000 },
      reason: 'outage',
      ticket: `T-${++key}`,
    }),
    expect: { me: 403, other: 403, service: 403, admin: 202 },
    writes: true,
  },
  {
    route: 'GET /v1/admin/bulk-grants',
    method: 'GET',
    path: () => '/v1/admin/bulk-grants',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
  {
    route: 'GET /v1/admin/bulk-grants/{bulkGrantId}',
    method: 'GET',
    path: () => `/v1/admin/bulk-grants/bg-${'0'.repeat(32)}`,
    expect: { me: 403, other: 403, service: 403, admin: 404 },
  },
  {
    route: 'GET /v1/admin/payments/unmatched',
    method: 'GET',
    path: () => '/v1/admin/payments/unmatched',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
  {
    route: 'GET /v1/admin/stats',
    method: 'GET',
    path: () => '/v1/admin/stats',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
  {
    route: 'POST /v1/admin/rewards/runs',
    method: 'POST',
    path: () => '/v1/admin/rewards/runs',
    body: () => ({ date: '2026-01-01' }),
    expect: { me: 403, other: 403, service: 403, admin: 200 },
    writes: true,
  },
  {
    route: 'GET /v1/admin/players',
    method: 'GET',
    path: () => '/v1/admin/players?name=hero%20me',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
  {
    route: 'GET /v1/admin/players/{playerId}',
    method: 'GET',
    path: () => '/v1/admin/players/me',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
  // Past the role check, banning a player who does not exist is 404: nobody here is banned by the matrix.
  {
    route: 'POST /v1/admin/players/{playerId}/ban',
    method: 'POST',
    path: () => '/v1/admin/players/nobody/ban',
    body: () => ({ reason: 'botting', ticket: `T-${++key}` }),
    expect: { me: 403, other: 403, service: 403, admin: 404 },
    writes: true,
  },
  {
    route: 'POST /v1/admin/players/{playerId}/unban',
    method: 'POST',
    path: () => '/v1/admin/players/nobody/unban',
    body: () => ({ reason: 'appeal', ticket: `T-${++key}` }),
    expect: { me: 403, other: 403, service: 403, admin: 404 },
    writes: true,
  },
  {
    route: 'GET /v1/admin/audit',
    method: 'GET',
    path: () => '/v1/admin/audit?playerId=me',
    expect: { me: 403, other: 403, service: 403, admin: 200 },
  },
];

describe('caller classes on every route', () => {
  for (const c of cases) {
    it(`${c.route}: allowed and refused callers`, async () => {
      await h.pipeline!.drained();
      for (const who of Object.keys(tokens) as Who[]) {
        const expected = c.expect[who] ?? 401;
        // Earlier accepted calls are still being applied: let them land before counting.
        if (c.writes) await h.pipeline!.drained();
        const before = await h.itemCount();
        const r = await h.call(c.method, c.path(), {
          ...(tokens[who] ? { auth: tokens[who] } : {}),
          ...(c.body ? { body: c.body(who) } : {}),
          headers: { 'idempotency-key': `auth-${++key}`, ...c.headers },
        });
        expect({ who, status: r.status }).toEqual({ who, status: expected });
        if (expected >= 400) {
          expect(r.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
          if (c.writes) await h.pipeline!.drained();
          expect({ who, items: await h.itemCount() }).toEqual({ who, items: before });
        }
      }
    });
  }

  it('lets health and the OpenAPI document through without credentials, and ignores bad ones there', async () => {
    expect((await h.call('GET', '/v1/health', { auth: 'garbage' })).status).toBe(200);
    expect((await h.call('GET', '/v1/openapi.json')).status).toBe(200);
  });
});

describe('a player can never grant themselves anything', () => {
  const serverAuthoritative: Record<string, unknown>[] = [
    { type: 'CreatePlayer', name: 'Twin' },
    { type: 'CreditPurchase', provider: 'acme', orderId: 'o-1', sku: 'stones-100' },
    { type: 'GrantReward', taskId: 'daily:2026-01-01', gold: 1_000_000 },
    { type: 'SpendCurrency', currency: 'gold', amount: 1, reason: 'shop' },
    { type: 'AddExperience', amount: 1_000_000, source: 'cheat' },
    { type: 'RestoreEnergy', amount: 100, reason: 'cheat' },
    { type: 'GrantItem', itemId: 'greater-qi-pill', quantity: 99, source: 'cheat' },
    { type: 'Trade', tradeId: 't-1', counterpartyId: 'other', give: { gold: 1 }, receive: { gold: 900 } },
    { type: 'AdjustBalance', currency: 'gold', delta: 1_000_000, operator: 'me', reason: 'cheat', ticket: 'T-1' },
  ];

  it('refuses every server-authoritative command with 403 and writes nothing', async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    for (const command of serverAuthoritative) {
      const r = await h.call('POST', '/v1/players/me/commands', {
        auth: tokens.me,
        body: command,
        headers: { 'idempotency-key': `cheat-${command.type}` },
      });
      expect({ type: command.type, status: r.status, code: r.body.error?.code }).toEqual({
        type: command.type,
        status: 403,
        code: 'FORBIDDEN',
      });
    }
    const adjust = await h.call('POST', '/v1/admin/players/me/adjustments', {
      auth: tokens.me,
      body: { currency: 'gold', delta: 1_000_000, reason: 'cheat', ticket: 'T-9' },
    });
    expect(adjust.status).toBe(403);
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
  });

  it('refuses a command for another player with 403, even a player-safe one', async () => {
    const r = await h.call('POST', '/v1/players/other/commands', {
      auth: tokens.me,
      body: { type: 'UseItem', itemId: 'qi-pill', quantity: 1 },
      headers: { 'idempotency-key': 'x' },
    });
    expect(r.status).toBe(403);
  });

  it('lets a game service send the server-authoritative commands', async () => {
    const r = await h.call('POST', '/v1/players/me/commands', {
      auth: tokens.service,
      body: { type: 'GrantItem', itemId: 'qi-pill', quantity: 2, source: 'quest' },
      headers: { 'idempotency-key': 'svc-grant', prefer: 'wait=10' },
    });
    expect(r.body).toMatchObject({ status: 'applied' });
    const events = (auth: string | undefined) =>
      h.call('GET', `/v1/players/me/events?afterVersion=${r.body.version - 1}`, { auth });
    // The player sees which kind of caller acted, not which host (issue 8, defect 7).
    expect((await events(tokens.me)).body.items[0].source).toEqual({ kind: 'service', actor: 'service' });
    expect((await events(tokens.service)).body.items[0].source).toEqual({
      kind: 'service',
      actor: 'local-game-server',
    });
  });
});
