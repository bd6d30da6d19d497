import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Config } from '../config.js';
import type { SourceKind } from '../engine/envelope.js';
import { playerIdSchema } from '../domain/player/commandSchemas.js';
import { forbidden, unauthorized } from './errors.js';

/** Who is calling, as the API Gateway authorizer established it; `id` is safe for an envelope's actor. */
export type Caller =
  | { readonly kind: 'player'; readonly id: string }
  | { readonly kind: 'service'; readonly id: string }
  | { readonly kind: 'operator'; readonly id: string }
  | { readonly kind: 'anonymous' };

export type CallerKind = Caller['kind'];

/** Role names the internal API maps to a caller class when the config names none. */
export const DEFAULT_SERVICE_ROLES = ['gamekeep-game-service'] as const;
export const DEFAULT_OPERATOR_ROLES = ['gamekeep-operator'] as const;

/** The IAM principals the local gateway stands in for (service and admin bearer tokens). */
export const LOCAL_SERVICE_ARN = 'arn:aws:sts::000000000000:assumed-role/gamekeep-game-service/local-game-server';
export const LOCAL_OPERATOR_ARN = 'arn:aws:sts::000000000000:assumed-role/gamekeep-operator/local-gm';

interface AuthorizerContext {
  readonly jwt?: { readonly claims?: Record<string, string | number | boolean | string[]> };
  readonly iam?: { readonly userArn?: string | null };
}

/**
 * Both HTTP APIs invoke the same functions: the public one with a JWT authorizer (players), the internal one with
 * IAM (game services, operators by role). The handler only reads what the authorizer established.
 */
export function callerOf(
  event: APIGatewayProxyEventV2,
  config: Pick<Config, 'serviceRoles' | 'operatorRoles'>,
): Caller {
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  const sub = authorizer?.jwt?.claims?.sub;
  if (sub !== undefined) {
    const playerId = playerIdSchema.safeParse(sub);
    if (!playerId.success) throw forbidden('the token subject is not a player id');
    return { kind: 'player', id: playerId.data };
  }
  const arn = authorizer?.iam?.userArn;
  if (arn) {
    const role = roleOf(arn);
    if (role && (config.operatorRoles ?? DEFAULT_OPERATOR_ROLES).includes(role.name))
      return { kind: 'operator', id: role.actor };
    if (role && (config.serviceRoles ?? DEFAULT_SERVICE_ROLES).includes(role.name))
      return { kind: 'service', id: role.actor };
    throw forbidden('this principal is neither a game service nor an operator');
  }
  return { kind: 'anonymous' };
}

/** `…:role/<name>` or `…:assumed-role/<name>/<session>`; the actor is the session (the person or host), else the role. */
function roleOf(arn: string): { name: string; actor: string } | undefined {
  const match = /:(?:assumed-role|role)\/(?:[^/]+\/)*?([\w+=,.@-]+)(?:\/([\w+=,.@-]+))?$/.exec(arn);
  if (!match?.[1]) return undefined;
  const actor = (match[2] ?? match[1])
    .replace(/[^A-Za-z0-9_.:-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return { name: match[1], actor: actor || match[1] };
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
