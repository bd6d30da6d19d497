import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PERMISSIONS, type ConsolePermission, rolesAllowed } from '../../console/src/permissions.js';
import { consoleAssets } from '../../local/consoleAssets.js';
import { rolesAllowed as serverRolesAllowed, type Permission } from '../../shared/http/operatorRoles.js';

/**
 * The console cannot drift from the API: its client's types are generated from docs/openapi.json and committed
 * as generated (like the document itself), its role table is the server's, and the gateway serves its build.
 */
describe("the console's API client", () => {
  it('is generated from docs/openapi.json exactly as committed (npm run console:api)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gamekeep-console-api-'));
    try {
      const out = join(dir, 'schema.d.ts');
      execFileSync(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', 'docs/openapi.json', '-o', out], {
        stdio: 'pipe',
      });
      expect(readFileSync('console/src/api/schema.d.ts', 'utf8')).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("hides exactly what the server refuses: the console's role table is the server's", () => {
    for (const permission of Object.keys(CONSOLE_PERMISSIONS) as ConsolePermission[])
      expect(rolesAllowed(permission), permission).toEqual(serverRolesAllowed(permission as Permission));
  });
});

describe('the console as the gateway serves it', () => {
  let dist: string;
  let server: Server;
  let url: string;
  const settings = { issuer: 'http://127.0.0.1:3001', clientId: 'gamekeep-console', apiBase: '' };

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'gamekeep-console-dist-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(dist, '.source-hash'), 'x');
    const assets = consoleAssets(settings, dist);
    server = createServer((req, res) => {
      if (!assets(req, res, new URL(req.url ?? '/', 'http://x').pathname)) res.writeHead(404).end('api');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves config.json from the local config, assets as immutable, and index.html for the app paths', async () => {
    const config = await fetch(`${url}/console/config.json`);
    expect(await config.json()).toEqual(settings);
    const asset = await fetch(`${url}/console/assets/index-abc.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    for (const path of ['/console/', '/console/callback?code=x&state=y', '/console/players/hero']) {
      const page = await fetch(`${url}${path}`);
      expect(page.status, path).toBe(200);
      expect(await page.text()).toContain('<title>console</title>');
      expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ${settings.issuer}`);
    }
    expect((await fetch(`${url}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });

  it('answers 404 for a missing asset, refuses paths out of the build, and leaves other paths to the API', async () => {
    expect((await fetch(`${url}/console/assets/nope.js`)).status).toBe(404);
    for (const path of ['/console/..%2F..%2Fetc%2Fpasswd', '/console/.source-hash']) {
      const res = await fetch(`${url}${path}`);
      expect(await res.text(), path).toContain('<title>console</title>');
    }
    expect((await fetch(`${url}/console/x`, { method: 'POST' })).status).toBe(405);
    expect(await (await fetch(`${url}/v1/health`)).text()).toBe('api');
    expect(await (await fetch(`${url}/consoles`)).text()).toBe('api');
  });
});
