/**
 * An operator signing in at the local OpenID provider as a browser would: the authorization code flow with PKCE,
 * redirects followed by hand and cookies kept (the sign-in and the role tests share it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { CONSOLE_CLIENT_ID } from '../../local/oidcProvider.js';

export const REDIRECT_URI = 'http://127.0.0.1:3000/console/callback';

export interface Tokens {
  readonly access_token: string;
  readonly id_token: string;
  readonly refresh_token: string;
}

export interface SignInResult {
  readonly status: 'signed-in' | 'refused';
  readonly alert?: string;
  readonly code?: string;
  readonly tokens?: Tokens;
}

const VERIFIER = new WeakMap<Browser, string>();

export function authorizeUrl(
  issuer: string,
  overrides: Record<string, string | undefined> = {},
  verifier = 'v',
): string {
  const params: Record<string, string | undefined> = {
    client_id: CONSOLE_CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile admin',
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...overrides,
  };
  const url = new URL(`${issuer}/auth`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** Cookies by name (one host), redirects not followed. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' });
  }

  async send(url: string, init: RequestInit): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const [name, value = ''] = pair!.trim().split(/=(.*)/s);
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now());
      if (!value || expired) this.cookies.delete(name!);
      else this.cookies.set(name!, value);
    }
    return res;
  }

  /** Follows redirects from `url` until a page or the console's callback. */
  async follow(url: string, res?: Response): Promise<{ url: string; res: Response }> {
    let at = url;
    let answer = res ?? (await this.get(url));
    while (answer.status >= 300 && answer.status < 400) {
      at = new URL(answer.headers.get('location')!, at).href;
      if (at.startsWith(REDIRECT_URI)) return { url: at, res: answer };
      answer = await this.get(at);
    }
    return { url: at, res: answer };
  }

  /** Opens the authorization request: the sign-in page, where it was and what it says. */
  async startAuthorization(issuer: string): Promise<{ url: string; html: string }> {
    const verifier = randomBytes(32).toString('base64url');
    VERIFIER.set(this, verifier);
    const { url, res } = await this.follow(authorizeUrl(issuer, {}, verifier));
    expect(res.status).toBe(200);
    return { url, html: await res.text() };
  }
}

export async function signIn(
  issuer: string,
  username: string,
  password: string,
  browser = new Browser(),
  { redeem: exchange = true } = {},
): Promise<SignInResult> {
  const form = await browser.startAuthorization(issuer);
  const action = /<form method="post" action="([^"]+)"/.exec(form.html)?.[1];
  expect(action).toBeDefined();
  const posted = await browser.send(new URL(action!, form.url).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  if (posted.status !== 303) {
    const html = await posted.text();
    return { status: 'refused', alert: /<p role="alert">([^<]*)<\/p>/.exec(html)?.[1]?.replace(/&#39;/g, "'") };
  }
  const { url } = await browser.follow(form.url, posted);
  const callback = new URL(url);
  expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
  expect(callback.searchParams.get('iss')).toBe(issuer);
  const code = callback.searchParams.get('code')!;
  if (!exchange) return { status: 'signed-in', code };
  const token = await redeem(issuer, code, VERIFIER.get(browser)!);
  expect(token.status).toBe(200);
  return { status: 'signed-in', code, tokens: (await token.json()) as Tokens };
}

export function redeem(issuer: string, code: string, verifier: string): Promise<Response> {
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: CONSOLE_CLIENT_ID,
      code_verifier: verifier,
    }),
  });
}
