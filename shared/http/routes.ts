import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * The routes of HTTP API v1 and the function serving each: the CDK wires exactly these, the local gateway
 * matches them the way API Gateway does, the OpenAPI document lists them, and each function routes with them
 * (`routeHandlers`: the compiler insists every route of a function has its handler, and no other).
 */
export type FunctionName = 'api' | 'payment-webhook' | 'admin-api';

/** public: the players' API (JWT authorizer, or none); internal: IAM (game services and operators). */
export type Audience = 'public' | 'internal' | 'both';

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly fn: FunctionName;
  /** Whether the gateway requires credentials before invoking (API Gateway's authorizer on the route). */
  readonly authorized: boolean;
  readonly audience: Audience;
}

/**
 * The routes an operator reaches with their sign-in (the console's token: the operator API's JWT authorizer on AWS,
 * the operators' provider locally): every admin route, and the players' leaderboards, which operators read too.
 */
export function servesOperators(route: Pick<Route, 'method' | 'path'>): boolean {
  return route.path.startsWith('/v1/admin/') || (route.method === 'GET' && route.path === '/v1/leaderboards/{board}');
}

export const routes = [
  { method: 'GET', path: '/v1/health', fn: 'api', authorized: false, audience: 'both' },
  { method: 'GET', path: '/v1/openapi.json', fn: 'api', authorized: false, audience: 'both' },
  { method: 'POST', path: '/v1/players', fn: 'api', authorized: true, audience: 'both' },
  { method: 'POST', path: '/v1/players/{playerId}/commands', fn: 'api', authorized: true, audience: 'both' },
  { method: 'GET', path: '/v1/commands/{commandId}', fn: 'api', authorized: true, audience: 'both' },
  { method: 'GET', path: '/v1/players/{playerId}', fn: 'api', authorized: true, audience: 'both' },
  { method: 'GET', path: '/v1/players/{playerId}/events', fn: 'api', authorized: true, audience: 'both' },
  { method: 'GET', path: '/v1/leaderboards/{board}', fn: 'api', authorized: true, audience: 'both' },
  {
    method: 'POST',
    path: '/v1/webhooks/payments/{provider}',
    fn: 'payment-webhook',
    authorized: false,
    audience: 'public',
  },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/adjustments',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/items',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  // Two-person approval (docs/console.md): requests above the threshold, approved or declined by a second operator.
  { method: 'GET', path: '/v1/admin/approvals', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/approvals/{approvalId}', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'POST',
    path: '/v1/admin/approvals/{approvalId}/approve',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/approvals/{approvalId}/decline',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  // Bulk grants: a resumable fan-out in the background, once per (bulk grant, player).
  { method: 'POST', path: '/v1/admin/bulk-grants', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/bulk-grants', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'GET',
    path: '/v1/admin/bulk-grants/{bulkGrantId}',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  { method: 'GET', path: '/v1/admin/payments/unmatched', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/payments/disputed', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/payments/queued', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'GET',
    path: '/v1/admin/payments/{provider}/{orderId}',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/payments/{provider}/{orderId}/credit',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/payments/{provider}/{orderId}/dismiss',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/payments/reconciliations',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  { method: 'POST', path: '/v1/admin/rewards/runs', fn: 'admin-api', authorized: true, audience: 'internal' },
  // The command DLQ: look (nothing consumed), replay into the command queue, discard with an audit item.
  { method: 'GET', path: '/v1/admin/dead-letters', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'POST',
    path: '/v1/admin/dead-letters/{messageId}/replay',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/dead-letters/{messageId}/discard',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  // Recovery (docs/recovery.md): history, diff, rollback, quarantine.
  {
    method: 'GET',
    path: '/v1/admin/players/{playerId}/history',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  { method: 'GET', path: '/v1/admin/players/{playerId}/diff', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/rollbacks',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/quarantine',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/release',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/repairs',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  { method: 'POST', path: '/v1/admin/checks', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'POST', path: '/v1/admin/rebuilds', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/checks/{checkId}', fn: 'admin-api', authorized: true, audience: 'internal' },
  // Backups and drills (docs/recovery.md): the work runs in the backup worker, the admin API only reads the bucket.
  { method: 'POST', path: '/v1/admin/backups', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/backups', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'POST',
    path: '/v1/admin/backups/{backupId}/verifications',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  { method: 'POST', path: '/v1/admin/drills', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/drills/{drillId}', fn: 'admin-api', authorized: true, audience: 'internal' },
  // The console's players and audit (docs/console.md): lookup by name or id, bans, the searchable audit.
  { method: 'GET', path: '/v1/admin/players', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'GET', path: '/v1/admin/players/{playerId}', fn: 'admin-api', authorized: true, audience: 'internal' },
  { method: 'POST', path: '/v1/admin/players/{playerId}/ban', fn: 'admin-api', authorized: true, audience: 'internal' },
  {
    method: 'POST',
    path: '/v1/admin/players/{playerId}/unban',
    fn: 'admin-api',
    authorized: true,
    audience: 'internal',
  },
  { method: 'GET', path: '/v1/admin/audit', fn: 'admin-api', authorized: true, audience: 'internal' },
  // Served by the API function: the counters are those of the processes that serve player reads (and reach Redis).
  { method: 'GET', path: '/v1/admin/stats', fn: 'api', authorized: true, audience: 'internal' },
] as const satisfies readonly Route[];

type RouteOf<F extends FunctionName> = Extract<(typeof routes)[number], { fn: F }>;
/** `GET /v1/health`, … : the route keys a function serves. */
export type RouteKeyOf<F extends FunctionName> =
  RouteOf<F> extends infer R
    ? R extends { method: infer M extends string; path: infer P extends string }
      ? `${M} ${P}`
      : never
    : never;

export type RouteHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** A function's routes with their handlers, as `@middy/http-router` takes them. */
export function routeHandlers<F extends FunctionName>(
  fn: F,
  handlers: Record<RouteKeyOf<F>, RouteHandler>,
): { method: Route['method']; path: string; handler: RouteHandler }[] {
  return (routes as readonly Route[])
    .filter((r) => r.fn === fn)
    .map((r) => ({ method: r.method, path: r.path, handler: handlers[routeKey(r) as RouteKeyOf<F>] }));
}

export const routeKey = (r: Pick<Route, 'method' | 'path'>): string => `${r.method} ${r.path}`;

/** Matches a request path against the route templates; `{name}` takes one non-empty segment, decoded. */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; pathParameters: Record<string, string> } | 'method-not-allowed' | undefined {
  const segments = path.split('/');
  let pathMatched = false;
  for (const route of routes) {
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < template.length && ok; i++) {
      const t = template[i]!;
      const s = segments[i]!;
      if (t.startsWith('{')) {
        let value: string;
        try {
          value = decodeURIComponent(s);
        } catch {
          value = s;
        }
        if (value === '') ok = false;
        else params[t.slice(1, -1)] = value;
      } else if (t !== s) ok = false;
    }
    if (!ok) continue;
    pathMatched = true;
    if (route.method === method) return { route, pathParameters: params };
  }
  return pathMatched ? 'method-not-allowed' : undefined;
}
