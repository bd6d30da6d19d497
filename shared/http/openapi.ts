import { z } from 'zod';
import { routes, type Route } from './routes.js';
import * as s from './schemas.js';

/** JSON Schema of a zod schema as the caller sends it (the input side of transforms). */
const schema = (t: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(t, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const ok = (description: string, body?: z.ZodType) => ({ description, ...(body ? { content: { 'application/json': { schema: schema(body) } } } : {}) });
const pathParam = (name: string, t: z.ZodType) => ({ name, in: 'path', required: true, schema: schema(t) });
const queryParams = (t: z.ZodObject) =>
  Object.entries(t.shape).map(([name, field]) => ({ name, in: 'query', required: false, schema: schema(field as z.ZodType) }));
const idempotencyKey = (required: boolean) => ({ name: 'Idempotency-Key', in: 'header', required, schema: schema(s.idempotencyKeySchema) });
const prefer = { name: 'Prefer', in: 'header', required: false, schema: { type: 'string', pattern: '^wait=\\d{1,2}$' }, description: 'wait=N (N ≤ 10): answer with the outcome (200) once known, else 202' };
const jsonBody = (t: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(t) } } });
const refusals = {
  '400': error('invalid input'),
  '401': error('missing or invalid credentials'),
  '403': error('the caller may not do this'),
  '413': error('body over 64 KB'),
};

const operations: Record<string, Record<string, unknown>> = {
  'GET /v1/health': { summary: 'Liveness', security: [], responses: { '200': ok('up', z.object({ status: z.literal('ok') })) } },
  'GET /v1/openapi.json': { summary: 'This document', security: [], responses: { '200': ok('OpenAPI 3.1') } },
  'POST /v1/players': {
    summary: 'Create a player (a player creates themself: playerId defaults to the token subject)',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [idempotencyKey(false), prefer],
    requestBody: jsonBody(s.createPlayerBody),
    responses: { '202': ok('queued', s.acceptedAnswer.extend({ playerId: s.playerIdSchema })), '200': ok('decided (Prefer: wait)'), '409': error('Idempotency-Key reused'), ...refusals },
  },
  'POST /v1/players/{playerId}/commands': {
    summary: 'Submit a command. Players: PurchaseItem, UseItem, ConsumeEnergy for themselves; game services: the server-authoritative commands',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), idempotencyKey(true), prefer],
    requestBody: jsonBody(s.commandBody),
    responses: { '202': ok('queued', s.acceptedAnswer), '200': ok('decided (Prefer: wait)', s.commandStatusAnswer), '409': error('Idempotency-Key reused with another payload'), ...refusals },
  },
  'GET /v1/commands/{commandId}': {
    summary: 'Outcome of a command',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('commandId', s.commandIdSchema)],
    responses: { '200': ok('status', s.commandStatusAnswer), '404': error('not visible to this caller'), ...refusals },
  },
  'GET /v1/players/{playerId}': {
    summary: 'Player view with its version: from the cache (Redis) or DynamoDB, never older than minVersion',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), ...queryParams(s.playerViewQuery)],
    responses: {
      '200': {
        ...ok('the player', s.playerViewAnswer),
        headers: { 'X-Cache': { description: 'cache: served by Redis; table: read from DynamoDB (strongly consistent)', schema: { type: 'string', enum: ['cache', 'table'] } } },
      },
      '404': error('no such player'),
      '409': {
        ...error('minVersion not reached (VERSION_NOT_REACHED); the message names the current version, 0 if the player does not exist yet'),
        headers: { 'X-Player-Version': { description: 'the version the player is at', schema: { type: 'integer' } } },
      },
      ...refusals,
    },
  },
  'GET /v1/players/{playerId}/events': {
    summary: 'Audit trail page; pass nextAfterVersion as afterVersion for the next page',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), ...queryParams(s.eventsQuery)],
    responses: { '200': ok('a page of event items and nextAfterVersion (null at the end)'), ...refusals },
  },
  'GET /v1/leaderboards/{board}': {
    summary: 'A leaderboard page: the top `limit` (default 10, at most 100) or the page around a player. Ties rank by player id; period (periodic boards only) defaults to the current UTC day or ISO week',
    security: [{ playerJwt: [] }, { iam: [] }],
    parameters: [pathParam('board', s.boardSchema), ...queryParams(s.leaderboardQuery)],
    responses: {
      '200': ok('entries best first (rank 1); with around, the player entry (null if not ranked)', s.leaderboardAnswer),
      '404': error('unknown board (UNKNOWN_BOARD)'),
      '503': {
        ...error('leaderboards unavailable (LEADERBOARDS_UNAVAILABLE): Redis unreachable or not configured; retry later'),
        headers: { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } },
      },
      ...refusals,
    },
  },
  'POST /v1/webhooks/payments/{provider}': {
    summary: 'Payment notification. Gamekeep-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">; provider "stripe" takes Stripe events signed with Stripe-Signature',
    security: [],
    parameters: [pathParam('provider', s.providerSchema), { name: 'Gamekeep-Signature', in: 'header', required: false, schema: { type: 'string' } }],
    requestBody: jsonBody(s.paymentNoticeBody),
    responses: {
      '200': ok('accepted, recorded as unmatched, or a duplicate', z.object({ status: z.enum(['queued', 'unmatched', 'ignored']), duplicate: z.boolean(), commandId: s.commandIdSchema.optional() })),
      '400': error('invalid notice (SKU or amount not in the catalog)'),
      '401': error('bad or stale signature'),
      '404': error('unknown provider'),
      '413': error('body over 64 KB'),
    },
  },
  'POST /v1/admin/players/{playerId}/adjustments': {
    summary: 'Operator balance adjustment (AdjustBalance); never below zero',
    security: [{ iam: [] }],
    parameters: [pathParam('playerId', s.playerIdSchema), idempotencyKey(false), prefer],
    requestBody: jsonBody(s.adjustmentBody),
    responses: { '202': ok('queued', s.acceptedAnswer), '200': ok('decided (Prefer: wait)', s.commandStatusAnswer), '409': error('ticket / key reused'), ...refusals },
  },
  'GET /v1/admin/payments/unmatched': {
    summary: 'Payments for players that do not exist, for operators to resolve',
    security: [{ iam: [] }],
    parameters: queryParams(s.unmatchedQuery),
    responses: { '200': ok('a page of unmatched payments and next (null at the end)'), ...refusals },
  },
  'GET /v1/admin/stats': {
    summary: 'Player-cache counters of the API process that answers (hits, misses, hit ratio, DynamoDB reads, Redis fallbacks); cache is null without Redis',
    security: [{ iam: [] }],
    responses: { '200': ok('counters since the process started', s.statsAnswer), ...refusals },
  },
  'POST /v1/admin/rewards/runs': {
    summary: "Trigger the daily reward run of a date (default today, UTC); grants once per player whatever happens",
    security: [{ iam: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: schema(s.rewardRunBody) } } },
    responses: { '202': ok('started or continued'), '200': ok('finished'), ...refusals },
  },
};

/** Routes of the table with no operation described here. */
export function undocumentedRoutes(): string[] {
  return routes.map((r) => `${r.method} ${r.path}`).filter((key) => !operations[key]);
}

/** The OpenAPI 3.1 document of API v1, generated from the route table and the schemas the handlers enforce. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes as readonly Route[]) {
    // A route added without its description still appears (a test insists every route is described).
    const op = operations[`${r.method} ${r.path}`] ?? { summary: `${r.method} ${r.path}`, responses: { '200': ok('ok'), ...refusals } };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = { operationId: operationId(r), ...op };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gamekeep HTTP API', version: '1.0.0', description: 'Errors are {"error": {"code", "message"}}; bad input is a 4xx and writes nothing.' },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start' }],
    paths,
    components: {
      schemas: { Error: schema(s.errorAnswer) },
      securitySchemes: {
        playerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'players: sub = playerId (HS256 locally)' },
        iam: { type: 'http', scheme: 'bearer', description: 'AWS: SigV4 (IAM) on the internal API; locally the service or admin token' },
      },
    },
  };
}

function operationId(r: Route): string {
  return (r.method.toLowerCase() + r.path.replace(/[{}]/g, '').split(/[/.]/).filter((p) => p && p !== 'v1').map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
}
