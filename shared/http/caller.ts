import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Config } from '../config.js';
import type { SourceKind } from '../engine/envelope.js';
import { playerIdSchema } from '../domain/player/commandSchemas.js';
import { forbidden, unauthorized } from './errors.js';
import { OPERATOR_ROLES, type OperatorRole } from './operatorRoles.js';

/** Who is calling, as the API Gateway authorizer established it; `id` is safe for an envelope's actor. */
export type Caller =
  | { readonly kind: 'player'; readonly id: string }
  | { readonly kind: 'service'; readonly id: string }
  | { readonly kind: 'operator'; readonly id: string; readonly roles: readonly OperatorRole[] }
  | { readonly kind: 'anonymous' };

export type CallerKind = Caller['kind'];

/** Role names the internal API maps to a caller class when the config names none. */
export const DEFAULT_SERVICE_ROLES = ['gamekeep-game-service'] as const;
export const DEFAULT_OPERATOR_ROLES = ['gamekeep-operator'] as const;

/** How an operator's JWT (from the console's sign-in) is told from a player's. */
export interface OperatorTokenSettings {
  /** The operators' OpenID provider: the Cognito user pool on AWS, the local provider under `npm start`. */
  readonly operatorIssuer?: string;
  /** The console's audiences: `aud`, or `client_id`, which Cognito access tokens carry instead. */
  readonly operatorAudiences?: readonly string[];
}

/** The admin API's audience at the local OpenID provider. */
export const DEFAULT_OPERATOR_AUDIENCES = ['gamekeep-admin'] as const;

/** The IAM principals the local gateway stands in for (service and admin bearer tokens). */
export const LOCAL_SERVICE_ARN = 'arn:aws:sts::000000000000:assumed-role/gamekeep-game-service/local-game-server';
export const LOCAL_OPERATOR_ARN = 'arn:aws:sts::000000000000:assumed-role/gamekeep-operator/local-gm';

type Claims = Record<string, string | number | boolean | string[]>;

interface AuthorizerContext {
  readonly jwt?: { readonly claims?: Claims };
  readonly iam?: { readonly userArn?: string | null };
}

/**
 * Both HTTP APIs invoke the same functions: the public one with a JWT authorizer (players), the internal one with
 * IAM (game services, operators by role), and the admin routes also take operators' JWTs (their roles in `groups`).
 * The handler only reads what the authorizer established. IAM operators are automation: they hold every role.
 */
export function callerOf(
  event: APIGatewayProxyEventV2,
  config: Pick<Config, 'serviceRoles' | 'operatorRoles'> & OperatorTokenSettings,
): Caller {
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  const claims = authorizer?.jwt?.claims;
  const operator = claims && operatorOf(claims, config);
  if (operator) return operator;
  const sub = claims?.sub;
  if (sub !== undefined) {
    const playerId = playerIdSchema.safeParse(sub);
    if (!playerId.success) throw forbidden('the token subject is not a player id');
    return { kind: 'player', id: playerId.data };
  }
  const arn = authorizer?.iam?.userArn;
  if (arn) {
    const role = roleOf(arn);
    if (role && (config.operatorRoles ?? DEFAULT_OPERATOR_ROLES).includes(role.name))
      return { kind: 'operator', id: role.actor, roles: OPERATOR_ROLES };
    if (role && (config.serviceRoles ?? DEFAULT_SERVICE_ROLES).includes(role.name))
      return { kind: 'service', id: role.actor };
    throw forbidden('this principal is neither a game service nor an operator');
  }
  return { kind: 'anonymous' };
}

/**
 * An operator's token: issued by the operators' provider, or meant for the console (audience or client). Its roles
 * are the known ones among `groups` (`cognito:groups` from Cognito); a token with none is refused, never taken for
 * a player's. The actor is the e-mail, else the user name, else the subject.
 */
function operatorOf(claims: Claims, config: OperatorTokenSettings): Caller | undefined {
  const audiences: readonly string[] = config.operatorAudiences ?? DEFAULT_OPERATOR_AUDIENCES;
  const issued = config.operatorIssuer !== undefined && claims.iss === config.operatorIssuer;
  const forConsole = [...claimList(claims.aud), ...claimList(claims.client_id)].some((a) => audiences.includes(a));
  if (!issued && !forConsole) return undefined;
  // API Gateway's JWT authorizer accepts a Cognito ID token too (its aud is the client id); it names the operator
  // by e-mail where the access token names them by user name, so one person would be two actors in the audit.
  if (claims.token_use !== undefined && claims.token_use !== 'access')
    throw forbidden('operator API calls take the access token, not the ID token');
  const groups = claimList(claims.groups ?? claims['cognito:groups']);
  const roles = OPERATOR_ROLES.filter((r) => groups.includes(r));
  if (roles.length === 0) throw forbidden(`the operator token carries no role (groups ${OPERATOR_ROLES.join(', ')})`);
  const name = [claims.email, claims.username, claims['cognito:username'], claims.sub].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  const id = name && actorOf(name);
  if (!id) throw forbidden('the operator token names no operator');
  return { kind: 'operator', id, roles };
}

/**
 * A claim's values: API Gateway hands an array claim to the function as `[a b]`; a JSON array, a comma- or
 * space-separated list and a single value are read too.
 */
function claimList(value: Claims[string] | undefined): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map(String);
  const text = String(value).trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // API Gateway's `[a b]`, not JSON
    }
    return text
      .slice(1, -1)
      .split(/[\s,]+/)
      .filter(Boolean);
  }
  return text.split(/[\s,]+/).filter(Boolean);
}

/** `…:role/<name>` or `…:assumed-role/<name>/<session>`; the actor is the session (the person or host), else the role. */
function roleOf(arn: string): { name: string; actor: string } | undefined {
  const match = /:(?:assumed-role|role)\/(?:[^/]+\/)*?([\w+=,.@-]+)(?:\/([\w+=,.@-]+))?$/.exec(arn);
  if (!match?.[1]) return undefined;
  return { name: match[1], actor: actorOf(match[2] ?? match[1]) || match[1] };
}

/** A name made safe for an envelope's actor (the opaque id pattern): `alice@example.com` is `alice-example.com`. */
function actorOf(name: string): string {
  return name
    .replace(/[^A-Za-z0-9_.:-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
}

/** Refuses the call unless the caller is one of `kinds`: anonymous is 401, a known caller of another class 403. */
export function requireCaller<K extends CallerKind>(caller: Caller, ...kinds: K[]): Extract<Caller, { kind: K }> {
  if ((kinds as CallerKind[]).includes(caller.kind)) return caller as Extract<Caller, { kind: K }>;
  if (caller.kind === 'anonymous') throw unauthorized();
  throw forbidden(`${caller.kind} callers may not use this route`);
}

/** A player may only touch their own player. */
export function requireAccessTo(caller: Caller, playerId: string): void {
  if (caller.kind === 'player' && caller.id !== playerId) throw forbidden('a player may only act on their own player');
}

export function sourceKindOf(caller: Exclude<Caller, { kind: 'anonymous' }>): SourceKind {
  return caller.kind === 'player' ? 'client' : caller.kind;
}
