/**
 * Operators signed in at a local OpenID provider, several per role (two-person approval needs a second gm and a
 * second support operator), and a gateway over the harness's table that verifies their tokens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, scryptSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { localHttpHandlers, startGateway, type LocalGateway } from '../../local/gateway.js';
import { startOidcProvider, type LocalOidcProvider } from '../../local/oidcProvider.js';
import type { OperatorRole } from '../../shared/http/operatorRoles.js';
import type { ApiHarness, Answer, CallOptions } from '../integration/api/harness.js';
import { REDIRECT_URI, signIn } from './operatorSignIn.js';

export type AdminClients = Parameters<typeof localHttpHandlers>[1];

export interface SignedInOperators {
  readonly tokens: Readonly<Record<string, string>>;
  readonly gateway: LocalGateway;
  /** Calls the gateway as `who` (an operator's name, or a raw token). */
  call(who: string, method: string, path: string, options?: CallOptions): Promise<Answer>;
  stop(): Promise<void>;
}

/** Signs in one operator per entry of `operators` (name → roles) and starts a gateway that knows their issuer. */
export async function signInOperators(
  h: ApiHarness,
  operators: Readonly<Record<string, readonly OperatorRole[]>>,
  clients: AdminClients = {},
): Promise<SignedInOperators> {
  const dir = mkdtempSync(join(tmpdir(), 'gamekeep-ops-'));
  const passwords = Object.fromEntries(Object.keys(operators).map((u) => [u, randomBytes(12).toString('base64url')]));
  const hash = (password: string) => {
    const salt = randomBytes(16);
    const N = 1024;
    const key = scryptSync(password, salt, 32, { N, r: 8, p: 1 });
    return `scrypt$${N}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
  };
  writeFileSync(
    join(dir, 'operators.json'),
    JSON.stringify({
      operators: Object.entries(operators).map(([username, roles]) => ({
        username,
        roles,
        passwordHash: hash(passwords[username]!),
      })),
    }),
  );
  const op: LocalOidcProvider = await startOidcProvider({ dir, config: h.config, redirectUris: [REDIRECT_URI] });
  const gateway = await startGateway({
    handlers: localHttpHandlers(h.config, clients),
    jwtSecret: h.config.jwtSecret!,
    serviceToken: h.service,
    adminToken: h.admin,
    operatorIssuer: op.issuer,
  });
  const tokens: Record<string, string> = { admin: h.admin, service: h.service };
  for (const username of Object.keys(operators)) {
    const signedIn = await signIn(op.issuer, username, passwords[username]!);
    expect(signedIn.status).toBe('signed-in');
    tokens[username] = signedIn.tokens!.access_token;
  }
  return {
    tokens,
    gateway,
    async call(who, method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      headers.authorization = `Bearer ${tokens[who] ?? who}`;
      const body = o.body !== undefined ? JSON.stringify(o.body) : undefined;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${gateway.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async stop() {
      await gateway.stop();
      await op.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
