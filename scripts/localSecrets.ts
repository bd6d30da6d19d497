/**
 * Local secrets for `npm start`: the environment's when set (GAMEKEEP_JWT_SECRET, GAMEKEEP_SERVICE_TOKEN,
 * GAMEKEEP_ADMIN_TOKEN, GAMEKEEP_WEBHOOK_SECRET_<PROVIDER>), otherwise generated once into .gamekeep/secrets.json.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../shared/config.js';

export interface LocalSecrets {
  readonly jwtSecret: string;
  readonly serviceToken: string;
  readonly adminToken: string;
  readonly webhookSecrets: Readonly<Record<string, readonly string[]>>;
}

export const gamekeepHome = join(process.cwd(), '.gamekeep');
export const secretsFile = join(gamekeepHome, 'secrets.json');
export const stackFile = join(gamekeepHome, 'stack.json');

export function localSecrets(env: Config): LocalSecrets {
  mkdirSync(gamekeepHome, { recursive: true });
  const saved: Partial<LocalSecrets> = existsSync(secretsFile)
    ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Partial<LocalSecrets>)
    : {};
  const fresh = (prefix: string) => `${prefix}${randomBytes(24).toString('hex')}`;
  const secrets: LocalSecrets = {
    jwtSecret: env.jwtSecret ?? saved.jwtSecret ?? fresh(''),
    serviceToken: env.serviceToken ?? saved.serviceToken ?? fresh('svc_'),
    adminToken: env.adminToken ?? saved.adminToken ?? fresh('adm_'),
    webhookSecrets: {
      acme: saved.webhookSecrets?.acme ?? [fresh('whk_')],
      stripe: saved.webhookSecrets?.stripe ?? [fresh('whsec_')],
      ...env.webhookSecrets,
    },
  };
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** The running stack's config as `npm start` wrote it (endpoints, table, queue, Redis, port and secrets). */
export function runningStack(): Config {
  if (!existsSync(stackFile)) throw new Error('no local stack is running: start one with `npm start`');
  return JSON.parse(readFileSync(stackFile, 'utf8')) as Config;
}

/**
 * The stack a command-line tool works on: the local one `npm start` runs, when its stack file exists (nothing to
 * set by hand), otherwise the one the environment describes (shared/config.ts: a deployed stack).
 */
export function targetStack(): { config: Config; local: boolean } {
  return existsSync(stackFile) ? { config: runningStack(), local: true } : { config: loadConfig(), local: false };
}

/** A failure to reach the stand-ins a stack file names: `npm start` was stopped without removing it (killed). */
export function unreachable(error: unknown): boolean {
  const codes = [error, (error as { cause?: unknown } | undefined)?.cause].map(
    (e) => (e as { code?: string } | undefined)?.code,
  );
  return (
    codes.some((c) => c === 'ECONNREFUSED' || c === 'ECONNRESET') ||
    /ECONNREFUSED|connect ETIMEDOUT|Redis is unreachable/.test(String(error))
  );
}

export const STALE_STACK_HINT = `the local stack in ${stackFile} does not answer: is \`npm start\` still running? (If it was killed, remove the file and start it again.)`;
