/**
 * Operator sign-in: OpenID Connect authorization code with PKCE (S256) against the configured issuer, discovered
 * from its `/.well-known/openid-configuration`. Tokens live in sessionStorage (this tab only, gone when it closes);
 * the code verifier and state only between the redirect and the callback.
 */
import type { ConsoleConfig } from './config';
import { OPERATOR_ROLES, type OperatorRole } from './permissions';

export interface Session {
  readonly accessToken: string;
  readonly idToken: string;
  readonly expiresAt: number;
  readonly username: string;
  readonly roles: readonly OperatorRole[];
}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

const SESSION = 'gamekeep.session';
const PENDING = 'gamekeep.signin';
const SIGNED_OUT = 'gamekeep.signedOut';

const redirectUri = (config: ConsoleConfig): string =>
  config.redirectUri ?? `${window.location.origin}${import.meta.env.BASE_URL}callback`;

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`the issuer's discovery answered ${res.status}`);
  return (await res.json()) as Discovery;
}

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const randomString = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** Sends the browser to the issuer's sign-in page. */
export async function signIn(config: ConsoleConfig, returnTo: string): Promise<void> {
  const { authorization_endpoint } = await discover(config.issuer);
  const verifier = randomString();
  const state = randomString();
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(config),
    scope: config.scope ?? 'openid profile admin',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    // After a sign-out, the issuer asks for the password again rather than resuming its session.
    ...(localStorage.getItem(SIGNED_OUT) ? { prompt: 'login' } : {}),
  }).toString();
  window.location.assign(url.href);
}

/** On the callback: redeems the code, keeps the tokens; answers where to go back to. */
export async function completeSignIn(config: ConsoleConfig, search: string): Promise<string> {
  const params = new URLSearchParams(search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    verifier: string;
    state: string;
    returnTo: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  const error = params.get('error');
  if (error) throw new Error(`sign-in failed: ${params.get('error_description') ?? error}`);
  if (!pending || params.get('state') !== pending.state) throw new Error('sign-in failed: unexpected state');
  const { token_endpoint } = await discover(config.issuer);
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(config),
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = (await res.json()) as {
    access_token?: string;
    id_token?: string;
    expires_in?: number;
    error?: string;
  };
  if (!res.ok || !tokens.access_token || !tokens.id_token)
    throw new Error(`sign-in failed: the token endpoint answered ${res.status} ${tokens.error ?? ''}`.trim());
  const claims = decodeClaims(tokens.id_token);
  const access = decodeClaims(tokens.access_token);
  const session: Session = {
    accessToken: tokens.access_token,
    idToken: tokens.id_token,
    expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000,
    username: String(claims.preferred_username ?? claims['cognito:username'] ?? access.username ?? claims.sub ?? ''),
    roles: rolesOf(access).length > 0 ? rolesOf(access) : rolesOf(claims),
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  localStorage.removeItem(SIGNED_OUT);
  return pending.returnTo;
}

export function currentSession(): Session | undefined {
  const session = JSON.parse(sessionStorage.getItem(SESSION) ?? 'null') as Session | null;
  if (!session || session.expiresAt <= Date.now()) return undefined;
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(SESSION);
  localStorage.setItem(SIGNED_OUT, '1');
}

function decodeClaims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
}

/** The operator's roles: `groups` locally, `cognito:groups` on AWS. */
function rolesOf(claims: Record<string, unknown>): OperatorRole[] {
  const groups = claims.groups ?? claims['cognito:groups'];
  return Array.isArray(groups) ? OPERATOR_ROLES.filter((r) => groups.includes(r)) : [];
}
