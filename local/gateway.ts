import { localRebuildRunner } from './rebuildRunner.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { LOCAL_OPERATOR_ARN, LOCAL_SERVICE_ARN } from '../shared/http/caller.js';
import { matchRoute, routeKey, servesOperators, type FunctionName } from '../shared/http/routes.js';
import { lambdaContext } from './lambdaContext.js';
import type { ConsoleAssets } from './consoleAssets.js';
import type { Config } from '../shared/config.js';
import { createApiHandler, type ApiDependencies } from '../functions/api/handler.js';
import { createPaymentWebhookHandler } from '../functions/payment-webhook/handler.js';
import { createAdminApiHandler } from '../functions/admin-api/handler.js';

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | undefined | undefined>;

export interface GatewayOptions {
  readonly handlers: Readonly<Record<FunctionName, HttpHandler>>;
  readonly jwtSecret: string;
  readonly serviceToken: string;
  readonly adminToken: string;
  /**
   * The operators' OpenID provider (local/oidcProvider.ts): bearer JWTs it issued are verified against its keys,
   * as the admin routes' JWT authorizer does on AWS. Without it, operator JWTs are refused.
   */
  readonly operatorIssuer?: string;
  /** The audience of operator access tokens: the admin API's resource at the provider. */
  readonly operatorAudience?: string;
  /** The web console's files under /console (local/consoleAssets.ts); without it, /console is no route. */
  readonly console?: ConsoleAssets;
  readonly port?: number;
  readonly host?: string;
}

export interface LocalGateway {
  readonly url: string;
  readonly server: Server;
  stop(): Promise<void>;
}

/** API Gateway's own payload ceiling; the handlers enforce the API's much lower 64 KB limit themselves. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;
export const JWT_ISSUER = 'gamekeep-local';
export const JWT_AUDIENCE = 'gamekeep';
export const OPERATOR_AUDIENCE = 'gamekeep-admin';

/**
 * Does locally what the two HTTP APIs do on AWS: matches the route, authorizes (an HS256 player JWT becomes the
 * JWT authorizer's claims, and so does an operator's JWT on an admin route; the service and admin tokens stand in
 * for IAM principals), builds a real APIGatewayProxyEventV2 and invokes the same Lambda handler. Bad credentials
 * never reach a handler.
 */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const secret = new TextEncoder().encode(options.jwtSecret);
  const operatorKeys = options.operatorIssuer ? remoteKeys(options.operatorIssuer) : undefined;
  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      console.error('[gateway]', error);
      if (!res.headersSent)
        send(res, {
          statusCode: 500,
          body: JSON.stringify({ error: { code: 'INTERNAL', message: 'internal error' } }),
        });
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const method = (req.method ?? 'GET').toUpperCase();
    if (options.console?.(req, res, url.pathname)) return;
    const body = await readBody(req);
    if (body === 'too-large') return send(res, errorResult(413, 'PAYLOAD_TOO_LARGE', 'request body too large'));
    const match = matchRoute(method, url.pathname);
    if (match === undefined) return send(res, errorResult(404, 'NOT_FOUND', `no route ${method} ${url.pathname}`));
    if (match === 'method-not-allowed')
      return send(res, errorResult(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}`));
    const { route, pathParameters } = match;

    let authorizer: Record<string, unknown> | undefined;
    if (route.authorized) {
      const header = headerValue(req, 'authorization');
      const token = header && /^Bearer ([^\s]+)$/i.exec(header)?.[1];
      if (!token) return send(res, errorResult(401, 'UNAUTHORIZED', 'missing bearer token'));
      if (sameSecret(token, options.serviceToken)) authorizer = iam(LOCAL_SERVICE_ARN);
      else if (sameSecret(token, options.adminToken)) authorizer = iam(LOCAL_OPERATOR_ARN);
      else if (operatorKeys && issuerOf(token) === options.operatorIssuer) {
        // Only the operator API's routes have the operators' authorizer: elsewhere the players' refuses the issuer.
        if (!servesOperators(route)) return send(res, errorResult(401, 'UNAUTHORIZED', 'invalid token'));
        try {
          const { payload } = await jwtVerify(token, await operatorKeys(), {
            algorithms: ['RS256', 'ES256'],
            issuer: options.operatorIssuer,
            audience: options.operatorAudience ?? OPERATOR_AUDIENCE,
            requiredClaims: ['sub', 'exp'],
          });
          authorizer = jwtAuthorizer(payload);
        } catch {
          return send(res, errorResult(401, 'UNAUTHORIZED', 'invalid token'));
        }
      } else {
        try {
          const { payload } = await jwtVerify(token, secret, {
            algorithms: ['HS256'],
            issuer: JWT_ISSUER,
            audience: JWT_AUDIENCE,
            requiredClaims: ['sub', 'exp'],
          });
          authorizer = jwtAuthorizer(payload);
        } catch {
          return send(res, errorResult(401, 'UNAUTHORIZED', 'invalid token'));
        }
      }
    }

    const event = buildEvent(req, url, method, routeKey(route), pathParameters, body, authorizer);
    const handler = options.handlers[route.fn];
    const result = await handler(event, lambdaContext(`gamekeep-${route.fn}`, 30_000));
    send(res, result ?? { statusCode: 200 });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A player token as the dev identity provider would issue it: HS256, sub = the player. */
export async function mintPlayerToken(jwtSecret: string, playerId: string, ttlSeconds = 24 * 3600): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(playerId)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(jwtSecret));
}

/**
 * The JWT authorizer's context: every claim a string, an array claim as `[a b]` (as API Gateway renders
 * `cognito:groups`), and the `scope` claim's scopes.
 */
function jwtAuthorizer(payload: JWTPayload): Record<string, unknown> {
  const claims = Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [
      k,
      typeof v === 'string'
        ? v
        : Array.isArray(v)
          ? `[${v.join(' ')}]`
          : typeof v === 'object'
            ? JSON.stringify(v)
            : String(v),
    ]),
  );
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  return { jwt: { claims, scopes: scopes.length > 0 ? scopes : null } };
}

function issuerOf(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

/** The issuer's signing keys, from the `jwks_uri` its discovery document names (looked up once it answers). */
function remoteKeys(issuer: string): () => Promise<ReturnType<typeof createRemoteJWKSet>> {
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  return () => {
    keys ??= fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${issuer} discovery answered ${res.status}`);
        const { jwks_uri } = (await res.json()) as { jwks_uri?: string };
        if (!jwks_uri) throw new Error(`${issuer} names no jwks_uri`);
        return createRemoteJWKSet(new URL(jwks_uri));
      })
      .catch((error: unknown) => {
        keys = undefined;
        throw error;
      });
    return keys;
  };
}

function iam(userArn: string): Record<string, unknown> {
  return {
    iam: {
      accessKey: 'ASIALOCAL',
      accountId: '000000000000',
      callerId: 'AROALOCAL',
      cognitoIdentity: null,
      principalOrgId: null,
      userArn,
      userId: 'AROALOCAL',
    },
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The payload format 2.0 event: lower-case headers, repeated values joined by commas, text bodies as text. */
function buildEvent(
  req: IncomingMessage,
  url: URL,
  method: string,
  key: string,
  pathParameters: Record<string, string>,
  body: Buffer,
  authorizer: Record<string, unknown> | undefined,
): APIGatewayProxyEventV2 {
  // Built from entries so that a parameter named like `__proto__` stays a parameter the handler sees and refuses.
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries(req.headers).flatMap(([k, v]) =>
      v === undefined || k === 'cookie' ? [] : [[k, Array.isArray(v) ? v.join(',') : v]],
    ),
  );
  const joined = new Map<string, string>();
  for (const [k, v] of url.searchParams) joined.set(k, joined.has(k) ? `${joined.get(k)},${v}` : v);
  const query: Record<string, string> = Object.fromEntries(joined);
  const contentType = headers['content-type'] ?? '';
  const text = body.length > 0 && /json|text|x-www-form-urlencoded/i.test(contentType) && isUtf8(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      ...(authorizer ? { authorizer } : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function errorResult(statusCode: number, code: string, message: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code, message } }),
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  res.writeHead(result.statusCode ?? 200, {
    'content-type': 'application/json',
    ...(result.headers as Record<string, string> | undefined),
  });
  res.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
}

/**
 * The three HTTP functions of the stack, created the way their index.ts files create them on AWS. Pass the read
 * side to own its Redis connection (and close it); otherwise the API function makes one from `config.redisUrl`.
 */
export function localHttpHandlers(config: Config, clients: ApiDependencies = {}): Record<FunctionName, HttpHandler> {
  return {
    api: createApiHandler(config, clients),
    'payment-webhook': createPaymentWebhookHandler(config, clients),
    'admin-api': createAdminApiHandler(config, {
      ...(config.redisUrl ? { startRebuild: localRebuildRunner(config) } : {}),
      ...clients,
    }),
  };
}
