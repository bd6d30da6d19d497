/**
 * Where this console signs in and which API it calls: `config.json`, served beside the console (generated from the
 * local config by `npm start`, written by the CDK on AWS), so one build runs in both places.
 */
export interface ConsoleConfig {
  /** The OpenID issuer: the local provider, or the Cognito user pool. */
  readonly issuer: string;
  readonly clientId: string;
  /** The API's origin and stage, e.g. `http://127.0.0.1:3000`; empty for the console's own origin. */
  readonly apiBase: string;
  /** The scopes asked for; the admin API's resource scope among them. */
  readonly scope?: string;
  /** Defaults to `<origin>/console/callback`. */
  readonly redirectUri?: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json answered ${res.status}`);
  const config = (await res.json()) as Partial<ConsoleConfig>;
  if (typeof config.issuer !== 'string' || typeof config.clientId !== 'string')
    throw new Error('config.json names no issuer or clientId');
  return { apiBase: '', ...config } as ConsoleConfig;
}
