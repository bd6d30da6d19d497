/**
 * The web console as the local gateway serves it at /console (CloudFront serves the same build from S3 on AWS):
 * the files `vite build` wrote to console/dist, `config.json` made from the local config (the issuer, client and
 * API the console uses), and index.html for any other path under /console, so the console's own routes and its
 * sign-in callback load the app. The build is redone when the console's sources changed since the last one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, relative, resolve, sep } from 'node:path';

export const CONSOLE_DIR = resolve(import.meta.dirname, '..', 'console');
export const CONSOLE_DIST = join(CONSOLE_DIR, 'dist');
const HASH_FILE = '.source-hash';

/** What `config.json` tells the console (console/src/config.ts reads it). */
export interface ConsoleSettings {
  readonly issuer: string;
  readonly clientId: string;
  /** The API's origin; empty when it is the console's own (locally, the gateway serves both). */
  readonly apiBase: string;
  readonly scope?: string;
}

/** Serves one request under /console; false when the path is not the console's. */
export type ConsoleAssets = (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean;

/** A hash of everything the build reads from console/ (sources, index.html, the Vite and TypeScript configs). */
export function consoleSourceHash(dir = CONSOLE_DIR): string {
  const hash = createHash('sha256');
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'dist' && entry.name !== 'node_modules') walk(path);
      } else {
        hash.update(relative(dir, path)).update('\0').update(readFileSync(path)).update('\0');
      }
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/** Whether console/dist is missing or was built from other sources. */
export function consoleBuildIsStale(): boolean {
  const file = join(CONSOLE_DIST, HASH_FILE);
  return !existsSync(file) || readFileSync(file, 'utf8').trim() !== consoleSourceHash();
}

/** Builds the console with Vite when console/dist is missing or stale; answers whether it built. */
export async function ensureConsoleBuilt(log: (line: string) => void = () => undefined): Promise<boolean> {
  if (!consoleBuildIsStale()) return false;
  const started = Date.now();
  log('building the console (vite build console)…');
  const hash = consoleSourceHash();
  const { build } = await import('vite');
  await build({ root: CONSOLE_DIR, configFile: join(CONSOLE_DIR, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(join(CONSOLE_DIST, HASH_FILE), `${hash}\n`);
  log(`built the console in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** The console's files from `dist`, with `settings` as its config.json. */
export function consoleAssets(settings: ConsoleSettings, dist = CONSOLE_DIST): ConsoleAssets {
  const config = JSON.stringify(settings);
  const connect = [
    "'self'",
    new URL(settings.issuer).origin,
    ...(settings.apiBase ? [new URL(settings.apiBase).origin] : []),
  ];
  const headers = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    // Recharts sets inline style attributes; no script but the bundle's own runs.
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src ${connect.join(' ')}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`,
  };
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, cache: string) => {
    res.writeHead(status, { ...headers, 'content-type': type, 'cache-control': cache });
    res.end(body);
  };
  return (req, res, pathname) => {
    if (pathname !== '/console' && !pathname.startsWith('/console/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(
        res,
        405,
        'application/json',
        JSON.stringify({
          error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${pathname}` },
        }),
        'no-store',
      );
      return true;
    }
    if (pathname === '/console') {
      res.writeHead(308, { location: '/console/' });
      res.end();
      return true;
    }
    const inside = pathname.slice('/console/'.length);
    if (inside === 'config.json') {
      send(res, 200, 'application/json', config, 'no-store');
      return true;
    }
    const index = join(dist, 'index.html');
    if (!existsSync(index)) {
      send(res, 503, 'text/plain; charset=utf-8', 'The console is not built: npm run console:build\n', 'no-store');
      return true;
    }
    let file: string | undefined;
    try {
      const decoded = normalize(decodeURIComponent(inside));
      const candidate = resolve(dist, decoded);
      if (candidate.startsWith(dist + sep) && existsSync(candidate) && statSync(candidate).isFile()) file = candidate;
    } catch {
      file = undefined;
    }
    if (file && !file.endsWith(HASH_FILE)) {
      // Vite names assets by their content hash: they never change under one name.
      const immutable = relative(dist, file).startsWith(`assets${sep}`);
      send(
        res,
        200,
        TYPES[extname(file)] ?? 'application/octet-stream',
        readFileSync(file),
        immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
      return true;
    }
    // The app's own paths (the sign-in callback among them) load index.html; a missing asset is a 404.
    if (inside.startsWith('assets/')) send(res, 404, 'text/plain; charset=utf-8', 'not found\n', 'no-store');
    else send(res, 200, 'text/html; charset=utf-8', readFileSync(index), 'no-cache');
    return true;
  };
}
