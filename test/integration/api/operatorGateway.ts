import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { localHttpHandlers, startGateway, type LocalGateway } from '../../../local/gateway.js';
import { startOidcProvider, type LocalOidcProvider } from '../../../local/oidcProvider.js';
import { REDIRECT_URI, signIn } from '../../support/operatorSignIn.js';
import { startApiHarness, type Answer, type ApiHarness, type ApiHarnessOptions, type CallOptions } from './harness.js';

/** Operators of each role signed in at the local OpenID provider, IAM automation, a game service. */
export type Operator = 'viewer' | 'support' | 'gm' | 'ops' | 'admin' | 'service';

export interface OperatorGateway {
  readonly h: ApiHarness;
  /** Calls as an operator role, the service, or with any other bearer token (a player's). */
  call(who: Operator | string, method: string, path: string, o?: CallOptions): Promise<Answer>;
  /**
   * Calls and expects `status`; a refusal (4xx) must carry the error shape and leave the table as it was,
   * the queue included (anything enqueued would leave a command record once decided).
   */
  expectAnswer(who: Operator | string, status: number, method: string, path: string, o?: CallOptions): Promise<Answer>;
  stop(): Promise<void>;
}

/**
 * The API harness behind a second gateway that verifies operators' tokens from a local OpenID provider, as the
 * admin routes' JWT authorizer does on AWS (the same functions, table and queue).
 */
export async function startOperatorGateway(options: ApiHarnessOptions = {}): Promise<OperatorGateway> {
  const h = await startApiHarness(options);
  const dir = mkdtempSync(join(tmpdir(), 'gamekeep-operators-'));
  let op: LocalOidcProvider | undefined;
  let gateway: LocalGateway | undefined;
  try {
    op = await startOidcProvider({ dir, config: h.config, redirectUris: [REDIRECT_URI] });
    gateway = await startGateway({
      handlers: localHttpHandlers(h.config),
      jwtSecret: h.config.jwtSecret!,
      serviceToken: h.service,
      adminToken: h.admin,
      operatorIssuer: op.issuer,
    });
  } catch (error) {
    await gateway?.stop();
    await op?.stop();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const tokens: Record<string, string> = { admin: h.admin, service: h.service };
  for (const { username, password } of op.createdAccounts) {
    const signedIn = await signIn(op.issuer, username, password);
    expect(signedIn.status).toBe('signed-in');
    tokens[username] = signedIn.tokens!.access_token;
  }
  const url = gateway.url;
  let key = 0;

  async function call(who: string, method: string, path: string, o: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...o.headers, authorization: `Bearer ${tokens[who] ?? who}` };
    const body = o.body !== undefined && method !== 'GET' ? JSON.stringify(o.body) : undefined;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  return {
    h,
    call,
    async expectAnswer(who, status, method, path, o = {}) {
      await h.pipeline!.drained();
      const before = await h.itemCount();
      const r = await call(who, method, path, {
        ...o,
        headers: { 'idempotency-key': `op-${++key}`, ...o.headers },
      });
      const name = tokens[who] ? who : 'token';
      expect({ who: name, method, path, status: r.status, body: r.status === status ? undefined : r.body }).toEqual({
        who: name,
        method,
        path,
        status,
        body: undefined,
      });
      if (status >= 400) {
        expect(r.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
        await h.pipeline!.drained();
        expect({ who: name, path, items: await h.itemCount() }).toEqual({ who: name, path, items: before });
      }
      return r;
    },
    async stop() {
      await gateway?.stop();
      await op?.stop();
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
