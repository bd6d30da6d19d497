import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionedResources } from '../../local/stack.js';
import {
  ADMIN_AUDIENCE,
  CONSOLE_CLIENT_ID,
  startOidcProvider,
  type LocalOidcProvider,
  type OidcProviderOptions,
  type OperatorCredentials,
} from '../../local/oidcProvider.js';
import { provisionTestStack } from '../support/stack.js';
import { Browser, REDIRECT_URI, authorizeUrl, redeem, signIn, type Tokens } from '../support/operatorSignIn.js';

/**
 * Operators sign in at the local OpenID provider as the console will: the authorization code flow with PKCE,
 * driven with fetch, redirects followed by hand, cookies kept, the sign-in form posted. The lockout lives in the
 * table, so it holds across instances.
 */

let stack: ProvisionedResources;
let dir: string;
let op: LocalOidcProvider;
let passwords: Record<string, string>;
/** The lockout's clock, shared by every instance started here. */
let clock = Date.now();
const options = (extra: Partial<OidcProviderOptions> = {}): OidcProviderOptions => ({
  dir,
  config: stack.config,
  redirectUris: [REDIRECT_URI],
  now: () => clock,
  ...extra,
});

beforeAll(async () => {
  stack = await provisionTestStack();
  dir = mkdtempSync(join(tmpdir(), 'gamekeep-oidc-'));
  op = await startOidcProvider(options());
  passwords = Object.fromEntries(op.createdAccounts.map((a: OperatorCredentials) => [a.username, a.password]));
});
afterAll(async () => {
  await op?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('operator accounts', () => {
  it('are created once, one per role, with the passwords returned and only their scrypt hashes kept (0600)', async () => {
    expect(op.createdAccounts.map((a) => [a.username, a.roles])).toEqual([
      ['viewer', ['viewer']],
      ['support', ['support']],
      ['gm', ['gm']],
      ['ops', ['ops']],
    ]);
    const file = join(dir, 'operators.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'oidc-keys.json')).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    for (const a of op.createdAccounts) expect(text).not.toContain(a.password);
    expect(JSON.parse(text).operators[0].passwordHash).toMatch(/^scrypt\$16384\$8\$1\$/);

    const again = await startOidcProvider(options());
    try {
      expect(again.createdAccounts).toEqual([]);
    } finally {
      await again.stop();
    }
  });
});

describe('sign-in with the authorization code and PKCE', () => {
  it('gives each role an ID token and a JWT access token for the admin API, both with the roles in groups', async () => {
    const keys = createRemoteJWKSet(new URL(`${op.issuer}/jwks`));
    for (const role of ['viewer', 'support', 'gm', 'ops']) {
      const r = await signIn(op.issuer, role, passwords[role]!);
      expect(r.status, r.alert).toBe('signed-in');
      const access = await jwtVerify(r.tokens!.access_token, keys, { issuer: op.issuer, audience: ADMIN_AUDIENCE });
      expect(access.protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
      expect(access.payload).toMatchObject({ sub: role, groups: [role], username: role, client_id: CONSOLE_CLIENT_ID });
      const id = await jwtVerify(r.tokens!.id_token, keys, { issuer: op.issuer, audience: CONSOLE_CLIENT_ID });
      expect(id.payload).toMatchObject({ sub: role, groups: [role] });
      expect(r.tokens!.refresh_token).toEqual(expect.any(String));
    }
  });

  it('shows an accessible form, and refuses a wrong password in an alert', async () => {
    const browser = new Browser();
    const form = await browser.startAuthorization(op.issuer);
    expect(form.html).toMatch(/<label for="username">Username<\/label>/);
    expect(form.html).toMatch(/<input id="username" name="username"/);
    expect(form.html).toMatch(/<label for="password">Password<\/label>/);
    expect(form.html).toMatch(/<button type="submit">Sign in<\/button>/);
    expect(form.html).not.toContain('role="alert"');
    const wrong = await signIn(op.issuer, 'viewer', 'not-the-password', browser);
    expect(wrong).toMatchObject({ status: 'refused', alert: 'Wrong username or password.' });
    const unknown = await signIn(op.issuer, 'nobody', 'whatever');
    expect(unknown).toMatchObject({ status: 'refused', alert: 'Wrong username or password.' });
  });

  it('refuses an authorization request without PKCE, and a code redeemed with the wrong verifier', async () => {
    const browser = new Browser();
    const res = await browser.get(
      authorizeUrl(op.issuer, { code_challenge: undefined, code_challenge_method: undefined }),
    );
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');

    const code = await signIn(op.issuer, 'gm', passwords.gm!, new Browser(), { redeem: false });
    const token = await redeem(op.issuer, code.code!, 'x'.repeat(43));
    expect(token.status).toBe(400);
    expect(((await token.json()) as { error: string }).error).toBe('invalid_grant');
  });
});

describe('lockout after repeated failures', () => {
  it('locks an account after 5 failures within 15 minutes, across instances, even against the right password', async () => {
    const second = await startOidcProvider(options());
    try {
      for (let i = 0; i < 4; i++)
        expect(await signIn(op.issuer, 'support', `wrong-${i}`)).toMatchObject({
          status: 'refused',
          alert: 'Wrong username or password.',
        });
      // The fifth failure, at the other instance, locks the account for both.
      const fifth = await signIn(second.issuer, 'support', 'wrong-4');
      expect(fifth.alert).toMatch(/locked after too many failed sign-ins\. Try again in 15 minutes/);
      for (const issuer of [op.issuer, second.issuer]) {
        const right = await signIn(issuer, 'support', passwords.support!);
        expect(right.status).toBe('refused');
        expect(right.alert).toMatch(/locked/);
      }
      // Other accounts are not affected.
      expect((await signIn(second.issuer, 'viewer', passwords.viewer!)).status).toBe('signed-in');

      clock += 14 * 60_000;
      expect((await signIn(op.issuer, 'support', passwords.support!)).alert).toMatch(/Try again in 1 minute\./);
      clock += 60_000;
      expect((await signIn(second.issuer, 'support', passwords.support!)).status).toBe('signed-in');
    } finally {
      await second.stop();
    }
  });

  it('counts failures in a window of 15 minutes from the first, and forgets them on success', async () => {
    for (let i = 0; i < 4; i++) await signIn(op.issuer, 'ops', `wrong-${i}`);
    clock += 15 * 60_000 + 1;
    // The window ran out: these are the first failures of a new one.
    for (let i = 0; i < 4; i++)
      expect((await signIn(op.issuer, 'ops', `wrong-${i}`)).alert).toBe('Wrong username or password.');
    expect((await signIn(op.issuer, 'ops', passwords.ops!)).status).toBe('signed-in');
    for (let i = 0; i < 4; i++)
      expect((await signIn(op.issuer, 'ops', `wrong-${i}`)).alert).toBe('Wrong username or password.');
    expect((await signIn(op.issuer, 'ops', 'wrong-5')).alert).toMatch(/locked/);
    clock += 15 * 60_000;
  });
});

describe('a restart', () => {
  it('keeps the keys, so access tokens still verify, and the refresh token still works', async () => {
    const before = await signIn(op.issuer, 'gm', passwords.gm!);
    expect(before.status).toBe('signed-in');
    const port = Number(new URL(op.issuer).port);
    await op.stop();
    // Let this process's fetch pool see the old server's keep-alive sockets close before one is reused.
    await new Promise((resolve) => setTimeout(resolve, 200));
    op = await startOidcProvider(options({ port }));
    expect(op.createdAccounts).toEqual([]);

    const keys = createRemoteJWKSet(new URL(`${op.issuer}/jwks`));
    const { payload } = await jwtVerify(before.tokens!.access_token, keys, {
      issuer: op.issuer,
      audience: ADMIN_AUDIENCE,
    });
    expect(payload.groups).toEqual(['gm']);

    const refreshed = await fetch(`${op.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: before.tokens!.refresh_token,
        client_id: CONSOLE_CLIENT_ID,
      }),
    });
    expect(refreshed.status).toBe(200);
    const tokens = (await refreshed.json()) as Tokens;
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: 'gm', groups: ['gm'], aud: ADMIN_AUDIENCE });
  });
});

// --- A browser, by hand -----------------------------------------------------------------------------------------
