import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../../shared/payments/signature.js';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/**
 * 10,000 generated requests across every route, each a valid request with at least one thing broken (malformed
 * JSON, wrong types, huge or negative numbers, unicode and key-like ids, unknown fields, bad credentials…): none
 * may answer 5xx or 2xx, every refusal has the error shape, and the table holds exactly what it held before.
 * The API runs with its read side (a redis-server), as deployed: player reads go through the cache.
 */
const REQUESTS = 10_000;
const PER_RUN = 25;

let h: ApiHarness;
let redis: LocalRedis;
let me: string;
let stranger: string;

beforeAll(async () => {
  redis = await startRedis();
  h = await startApiHarness({ redisUrl: redis.url });
  me = await h.player('fz');
  stranger = await h.player('someone-else');
  expect(
    (await h.call('POST', '/v1/players', { auth: me, body: { name: 'Fuzz' }, headers: { prefer: 'wait=10' } })).body
      .status,
  ).toBe('applied');
});
afterAll(async () => {
  await h?.stop();
  await redis?.stop();
});

type Json = Record<string, unknown>;
interface Template {
  readonly method: 'GET' | 'POST';
  readonly path: (id: string) => string;
  readonly auth: () => string | undefined;
  readonly body?: Json;
  readonly idFields?: readonly string[];
  readonly numberFields?: readonly string[];
  readonly query?: Record<string, string>;
  readonly signed?: boolean;
  readonly idempotent?: boolean;
  /** The path parameter a request keeps unless the mutation breaks it (a player id by default). */
  readonly pathId?: string;
  /** Query parameters that take ids: broken with a bad id rather than a bad number. */
  readonly idQuery?: readonly string[];
  /** Every caller class may use the route, so there is no wrong scope to try. */
  readonly anyCaller?: boolean;
}

const templates: Record<string, Template> = {
  createPlayer: {
    method: 'POST',
    path: () => '/v1/players',
    auth: () => me,
    body: { name: 'Fuzz Twin' },
    idFields: ['playerId'],
  },
  command: {
    method: 'POST',
    path: (id) => `/v1/players/${id}/commands`,
    auth: () => me,
    body: { type: 'UseItem', itemId: 'spirit-herb', quantity: 1 },
    idFields: ['itemId'],
    numberFields: ['quantity'],
    idempotent: true,
  },
  serviceCommand: {
    method: 'POST',
    path: (id) => `/v1/players/${id}/commands`,
    auth: () => h.service,
    body: { type: 'GrantItem', itemId: 'qi-pill', quantity: 2, source: 'quest' },
    idFields: ['itemId', 'source'],
    numberFields: ['quantity'],
    idempotent: true,
  },
  adjustment: {
    method: 'POST',
    path: (id) => `/v1/admin/players/${id}/adjustments`,
    auth: () => h.admin,
    body: { currency: 'gold', delta: 5, reason: 'fuzz', ticket: 'T-1' },
    idFields: ['ticket'],
    numberFields: ['delta'],
  },
  webhook: {
    method: 'POST',
    path: () => '/v1/webhooks/payments/acme',
    auth: () => undefined,
    body: { eventId: 'e-1', orderId: 'o-1', playerId: 'fz', sku: 'stones-100', amount: 99, currency: 'USD' },
    idFields: ['eventId', 'orderId', 'playerId', 'sku'],
    numberFields: ['amount'],
    signed: true,
  },
  rewardRun: {
    method: 'POST',
    path: () => '/v1/admin/rewards/runs',
    auth: () => h.admin,
    body: { date: '2026-05-05' },
  },
  player: { method: 'GET', path: (id) => `/v1/players/${id}`, auth: () => me, query: { minVersion: '1' } },
  events: {
    method: 'GET',
    path: (id) => `/v1/players/${id}/events`,
    auth: () => me,
    query: { afterVersion: '0', limit: '10' },
  },
  command_status: { method: 'GET', path: () => `/v1/commands/c${'0'.repeat(40)}`, auth: () => me },
  unmatched: { method: 'GET', path: () => '/v1/admin/payments/unmatched', auth: () => h.admin, query: { limit: '10' } },
  leaderboard: {
    method: 'GET',
    path: (board) => `/v1/leaderboards/${board}`,
    pathId: 'experience-daily',
    auth: () => me,
    query: { period: '2026-11-24', limit: '10', around: 'fz' },
    idQuery: ['around'],
    anyCaller: true,
  },
  stats: { method: 'GET', path: () => '/v1/admin/stats', auth: () => h.admin },
};

const keyLikeIds = [
  'a#STATE',
  'P#fz',
  'C#c00',
  '#',
  'fz#E#0000000001',
  '../fz',
  'fz/../../x',
  ' fz',
  'fz\n',
  '\u0000',
  'ｆｚ',
  'é',
  '🦀',
  'x'.repeat(200),
  '',
];
/** Header values must stay printable ASCII for fetch to send them at all. */
const badHeaderKeys = [
  'a#STATE',
  'P#fz',
  '#',
  '../fz',
  '-leading-dash',
  'has space',
  'x'.repeat(129),
  'key;wait=1',
  '"quoted"',
];
const badId = fc.oneof(
  fc.constantFrom(...keyLikeIds),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((s) => `${s}#`),
);
const badNumber = fc.oneof(
  fc.constantFrom(0, 1.5, -0.5, 1e300, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1_000_000_001),
  fc.constantFrom('5', '', null, true, [], {}, '1e3'),
  fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
);
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const badQueryValue = fc.constantFrom(
  '-1',
  'abc',
  '1.5',
  '1e3',
  '99999999999999',
  '',
  '0x10',
  ' 1',
  '%23',
  'a#STATE',
  '0'.repeat(20),
);
const badDate = fc.constantFrom('2026-13-01', '26-01-01', 'today', '2026/01/01', '', '2026-01-01T00:00:00Z');
const badName = fc.constantFrom('', ' ', 'a  b', 'x'.repeat(25), 'a#b', 'Fuzz\u0000', '<script>', 'a/b');

const mutation = fc.constantFrom(
  'malformed-json',
  'wrong-type',
  'bad-number',
  'bad-id',
  'unknown-field',
  'missing-field',
  'not-object',
  'bad-path-id',
  'bad-query',
  'unknown-query',
  'bad-credentials',
  'wrong-scope',
  'bad-idempotency-key',
  'huge',
);

interface Request {
  readonly name: string;
  readonly mutation: string;
  readonly method: string;
  readonly path: string;
  readonly auth: string | undefined;
  readonly raw: string | undefined;
  readonly headers: Record<string, string>;
}

const request = fc
  .record({
    name: fc.constantFrom(...Object.keys(templates)),
    mutation,
    id: badId,
    num: badNumber,
    any: anyValue,
    queryValue: badQueryValue,
    date: badDate,
    nameValue: badName,
    junk: fc.string({ unit: 'binary', maxLength: 60 }),
    pick: fc.nat(),
  })
  .map((g): Request | undefined => {
    const t = templates[g.name]!;
    let body: unknown = t.body ? structuredClone(t.body) : undefined;
    let raw: string | undefined;
    let playerId = t.pathId ?? 'fz';
    let auth = t.auth();
    const query = { ...t.query };
    const headers: Record<string, string> = t.idempotent ? { 'idempotency-key': `fuzz-${g.pick}` } : {};
    const fields = t.body ? Object.keys(t.body) : [];
    const pickFrom = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[g.pick % xs.length] : undefined);

    switch (g.mutation) {
      case 'malformed-json': {
        if (!t.body) return undefined;
        const text = JSON.stringify(body);
        raw =
          text.slice(0, g.pick % Math.max(1, text.length - 1)) +
          g.junk.replace(/^[\s\S]*$/, (j) => (isJson(text.slice(0, 0) + j) ? `${j}{` : j));
        // Not JSON and not empty (an empty body is a valid "run today" on the reward route).
        if (isJson(raw) || raw.trim() === '') raw = `${raw}{`;
        break;
      }
      case 'wrong-type': {
        const f = pickFrom(fields);
        if (!f) return undefined;
        const current = (body as Json)[f];
        (body as Json)[f] =
          typeof current === 'string' ? g.pick : typeof current === 'number' ? String(current) : [current];
        break;
      }
      case 'bad-number': {
        const f = pickFrom(t.numberFields ?? []);
        if (!f) return undefined;
        (body as Json)[f] = g.num;
        break;
      }
      case 'bad-id': {
        if (g.name === 'createPlayer') (body as Json).name = g.nameValue;
        else if (g.name === 'rewardRun') (body as Json).date = g.date;
        else {
          const f = pickFrom(t.idFields ?? []);
          if (!f) return undefined;
          (body as Json)[f] = g.id;
        }
        break;
      }
      case 'unknown-field':
        if (!t.body) return undefined;
        (body as Json)[
          `x${g.pick % 7}_${['__proto__', 'constructor', 'pk', 'sk', 'version', 'operator', 'extra'][g.pick % 7]}`
        ] = g.any;
        break;
      case 'missing-field': {
        // The reward run's date is optional (today), so dropping it is not an invalid request.
        const required = fields.filter((f) => !(g.name === 'rewardRun' && f === 'date'));
        const f = pickFrom(required);
        if (!f) return undefined;
        delete (body as Json)[f];
        break;
      }
      case 'not-object':
        if (!t.body) return undefined;
        body = [null, 42, 'text', [t.body], true][g.pick % 5];
        break;
      case 'bad-path-id':
        if (!t.path('X').includes('X')) return undefined;
        playerId = encodeURIComponent(g.id || '%');
        break;
      case 'bad-query': {
        const f = pickFrom(Object.keys(query));
        if (!f) return undefined;
        query[f] = t.idQuery?.includes(f) ? g.id : g.queryValue;
        break;
      }
      case 'unknown-query':
        if (t.method !== 'GET') return undefined;
        Object.defineProperty(query, ['sk', 'pk', 'x', '__proto__', 'limit[]'][g.pick % 5]!, {
          value: '1',
          enumerable: true,
          writable: true,
          configurable: true,
        });
        break;
      case 'bad-credentials':
        if (t.signed) return undefined;
        auth = [undefined, 'garbage', `${me}x`, `${me.split('.').slice(0, 2).join('.')}.AAAA`, `${h.service}0`][
          g.pick % 5
        ];
        break;
      case 'wrong-scope':
        if (t.signed || t.anyCaller) return undefined;
        // Right credentials for the wrong class, or another player's token on a player's route.
        auth = ['adjustment', 'rewardRun', 'unmatched', 'stats'].includes(g.name)
          ? [me, h.service][g.pick % 2]
          : g.name === 'serviceCommand'
            ? me
            : stranger;
        if (g.name === 'command_status') return undefined;
        if (g.name === 'createPlayer') body = { ...(body as Json), playerId: 'fz-other' };
        break;
      case 'bad-idempotency-key':
        if (!t.idempotent) return undefined;
        if (g.pick % 3 === 0) delete headers['idempotency-key'];
        else headers['idempotency-key'] = badHeaderKeys[g.pick % badHeaderKeys.length]!;
        break;
      case 'huge':
        if (!t.body) return undefined;
        (body as Json).pad = 'x'.repeat(70_000);
        break;
    }
    if (raw === undefined && body !== undefined) raw = JSON.stringify(body);
    if (t.signed) {
      // Signed with the right secret, so the refusal comes from the body, not from the signature.
      headers['gamekeep-signature'] = signatureHeader(h.webhookSecrets.acme!, raw ?? '');
    }
    const qs = new URLSearchParams(query).toString();
    return {
      name: g.name,
      mutation: g.mutation,
      method: t.method,
      path: `${t.path(playerId)}${qs ? `?${qs}` : ''}`,
      auth,
      raw,
      headers,
    };
  })
  .filter((r): r is Request => r !== undefined);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('fuzzing every route with invalid requests', () => {
  it(`answers ${REQUESTS} invalid requests with a 4xx, never a 5xx, and writes nothing`, async () => {
    await h.pipeline!.drained();
    const before = await h.itemCount();
    const statuses = new Map<number, number>();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: PER_RUN, maxLength: PER_RUN }), async (batch) => {
        const answers = await Promise.all(
          batch.map((r) =>
            h.call(r.method, r.path, {
              ...(r.auth ? { auth: r.auth } : {}),
              ...(r.raw !== undefined ? { raw: r.raw } : {}),
              headers: r.headers,
            }),
          ),
        );
        answers.forEach((a, i) => {
          sent++;
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          const r = batch[i]!;
          const summary = {
            route: r.name,
            mutation: r.mutation,
            path: r.path.slice(0, 120),
            body: r.raw?.slice(0, 200),
            status: a.status,
          };
          expect(a.status, JSON.stringify(summary)).toBeGreaterThanOrEqual(400);
          expect(a.status, JSON.stringify(summary)).toBeLessThan(500);
          expect(a.body?.error, JSON.stringify(summary)).toEqual({
            code: expect.any(String),
            message: expect.any(String),
          });
        });
      }),
      { numRuns: REQUESTS / PER_RUN },
    );
    expect(sent).toBe(REQUESTS);
    await h.pipeline!.drained();
    expect(await h.itemCount()).toBe(before);
    // Every class of refusal occurred.
    for (const status of [400, 401, 403, 413]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  });
});
