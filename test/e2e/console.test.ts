import { randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import axe from 'axe-core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { can, type ConsolePermission, type OperatorRole } from '../../console/src/permissions.js';
import { consoleAssets, ensureConsoleBuilt } from '../../local/consoleAssets.js';
import { localHttpHandlers, startGateway, type LocalGateway } from '../../local/gateway.js';
import { startOidcProvider, type LocalOidcProvider } from '../../local/oidcProvider.js';
import { freePort } from '../../local/ports.js';
import { startRedis, type LocalRedis } from '../../local/redis.js';
import { sqsClient } from '../../shared/clients.js';
import { commandEnvelope, messageGroupIdFor } from '../../shared/engine/envelope.js';
import { startApiHarness, type ApiHarness } from '../integration/api/harness.js';

/**
 * Issue 13's console in a real browser (Debian's Chromium, driven by playwright-core) against the running local
 * stack: the gateway serving the built console and the admin API, the local OpenID provider, the command pipeline
 * over DynamoDB Local and fauxqs, Redis. Everything is found by role and accessible name, as an operator's screen
 * reader would; each refusal the console implies by hiding an action is checked on the server with that role's
 * token; axe-core finds no serious or critical violation on any page; every page is photographed.
 */
const ROLES = ['viewer', 'support', 'gm', 'ops'] as const satisfies readonly OperatorRole[];
const SCREENSHOTS = join('.gamekeep', 'screenshots');
const LAPTOP = { width: 1366, height: 768 };
const TABLET = { width: 768, height: 1024 };

let h: ApiHarness;
let redis: LocalRedis;
let dir: string;
let op: LocalOidcProvider;
let gateway: LocalGateway;
let browser: Browser;
const passwords: Record<string, string> = {};
const pages: Record<string, Page> = {};
/** Uncaught errors in the console's pages: none may happen. */
const pageErrors: string[] = [];

/** Accounts written before the provider starts: one per role, and a second gm for two-person approvals. */
function writeOperators(file: string): void {
  const accounts = [...ROLES.map((r) => ({ username: r, roles: [r] })), { username: 'gm2', roles: ['gm'] }];
  const operators = accounts.map(({ username, roles }) => {
    const password = randomBytes(12).toString('base64url');
    passwords[username] = password;
    const salt = randomBytes(16);
    const hash = scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1 });
    return {
      username,
      roles,
      passwordHash: `scrypt$16384$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`,
    };
  });
  writeFileSync(file, JSON.stringify({ operators }), { mode: 0o600 });
}

beforeAll(async () => {
  await ensureConsoleBuilt();
  redis = await startRedis();
  // Adjustments of more than 10 000 gold wait for a second operator.
  h = await startApiHarness({ redisUrl: redis.url, config: { approvalThresholds: { gold: 10_000 } } });
  dir = mkdtempSync(join(tmpdir(), 'gamekeep-console-'));
  writeOperators(join(dir, 'operators.json'));
  // The redirect URI names the gateway's port, so the port is chosen before either starts.
  const port = await freePort();
  op = await startOidcProvider({
    dir,
    config: h.config,
    redirectUris: [`http://127.0.0.1:${port}/console/callback`],
  });
  gateway = await startGateway({
    handlers: localHttpHandlers(h.config, h.readSide ? { readSide: h.readSide } : {}),
    jwtSecret: h.config.jwtSecret!,
    serviceToken: h.service,
    adminToken: h.admin,
    operatorIssuer: op.issuer,
    console: consoleAssets({ issuer: op.issuer, clientId: op.clientId, apiBase: '' }),
    port,
  });
  for (const [playerId, name] of [
    ['hero', 'Hero'],
    ['foe', 'Foe'],
    ['dlq-player', 'Dee'],
  ]) {
    const created = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId, name },
      headers: { prefer: 'wait=10' },
    });
    expect(created.body.status, JSON.stringify(created.body)).toBe('applied');
  }
  const seeded = await h.call('POST', '/v1/admin/players/hero/adjustments', {
    auth: h.admin,
    body: { currency: 'gold', delta: 100, reason: 'seed', ticket: 'SEED-1' },
    headers: { prefer: 'wait=10' },
  });
  expect(seeded.body.status, JSON.stringify(seeded.body)).toBe('applied');
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await op?.stop();
  await h?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // Checked once everything is stopped, so a failure here leaves no process behind.
  expect(pageErrors).toEqual([]);
});

const consoleUrl = (hash = '') => `${gateway.url}/console/${hash}`;

/** A new browser context, signed in as `username` through the provider's form. */
async function signIn(username: string): Promise<Page> {
  const context = await browser.newContext({ viewport: LAPTOP });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${username}: ${error.message}`));
  await page.goto(consoleUrl());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(passwords[username]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
  return page;
}

async function as(username: string): Promise<Page> {
  pages[username] ??= await signIn(username);
  return pages[username]!;
}

async function tokenOf(page: Page): Promise<string> {
  return page.evaluate<string>("JSON.parse(sessionStorage.getItem('gamekeep.session')).accessToken");
}

async function openPage(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

/** Until nothing on the page is still loading. */
async function settled(page: Page): Promise<void> {
  await until('the page to load', async () => ((await page.getByText(/^Loading /).count()) === 0 ? true : undefined));
}

async function openPlayer(page: Page, playerId: string): Promise<void> {
  await openPage(page, 'Players');
  await page.getByLabel('Player id').fill(playerId);
  await page.getByRole('button', { name: 'Open player' }).click();
  await page.getByRole('heading', { name: `Player ${playerId}` }).waitFor();
  await page.getByRole('heading', { name: 'State' }).waitFor();
}

/** axe-core in the page (evaluated, so the console's CSP does not apply to it): serious and critical findings. */
async function axeFindings(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const result = await page.evaluate<axe.AxeResults>("axe.run(document, { resultTypes: ['violations'] })");
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function admin(path: string): Promise<any> {
  const r = await h.call('GET', path, { auth: h.admin });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

const goldOf = async (playerId: string) => (await admin(`/v1/admin/players/${playerId}`)).gold as number;
const versionOf = async (playerId: string) => (await admin(`/v1/admin/players/${playerId}`)).version as number;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await f();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('sign-in', () => {
  it('signs in each role with the authorization code and PKCE, showing the roles, and signs out', async () => {
    for (const role of ROLES) {
      const page = await as(role);
      expect(await page.getByText(`Signed in as ${role}`).textContent()).toContain(`(${role})`);
      expect(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').count()).toBe(8);
      const claims = JSON.parse(Buffer.from((await tokenOf(page)).split('.')[1]!, 'base64url').toString());
      expect(claims.groups).toEqual([role]);
    }
    // A console with no session offers only the sign-in; after a sign-out the provider asks for the password again.
    const page = await signIn('viewer');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Password').waitFor();
    expect(page.url()).toContain(op.issuer);
    await page.context().close();
  });

  it('refuses an admin call without a token, and the sign-in of a wrong password', async () => {
    expect((await h.call('GET', '/v1/admin/dead-letters')).status).toBe(401);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(consoleUrl());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill('gm');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    await context.close();
  });
});

describe('players', () => {
  it('finds a player by id and shows the state, the inventory and the statistics', async () => {
    const page = await as('gm');
    await openPlayer(page, 'hero');
    const facts = await page.locator('dl.facts').first().textContent();
    expect(facts).toContain('Hero');
    expect(facts).toContain(`Gold${(await goldOf('hero')).toLocaleString('en-GB')}`);
    expect(facts).toContain('Not banned');
    await page.getByRole('table', { name: 'Inventory' }).waitFor();
    await page.getByRole('table', { name: 'Statistics' }).waitFor();
    await settled(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'player.png'), fullPage: true });
    copyFileSync(join(SCREENSHOTS, 'player.png'), join('docs', 'images', 'console-player.png'));
    await page.setViewportSize(TABLET);
    await page.screenshot({ path: join(SCREENSHOTS, 'player-tablet.png'), fullPage: true });
    expect(await axeFindings(page)).toEqual([]);
    await page.setViewportSize(LAPTOP);
  });

  it('finds a player by name, exact and in any case', async () => {
    const page = await as('viewer');
    await openPage(page, 'Players');
    await page.getByLabel('Player name').fill('hERO');
    await page.getByRole('button', { name: 'Find by name' }).click();
    await page.getByRole('list', { name: 'Players found' }).getByRole('link', { name: 'Hero (hero)' }).click();
    await page.getByRole('heading', { name: 'Player hero' }).waitFor();
  });

  it('shows a board with a player’s rank and neighbourhood, read with the operator’s token', async () => {
    const page = await as('viewer');
    await openPage(page, 'Leaderboards');
    await page.getByLabel('Player').fill('hero');
    await page.getByRole('button', { name: 'Show board' }).click();
    await settled(page);
    await page.getByRole('table', { name: /ranked$/ }).waitFor();
    expect(await page.getByRole('status').first().textContent()).toMatch(/^hero is (ranked \d+ of \d+|not ranked)/);
  });

  it('reads the history at a version and the diff from it to now', async () => {
    const page = await as('viewer');
    await openPlayer(page, 'hero');
    const slider = page.getByRole('slider', { name: 'Version' });
    await slider.fill('1');
    await page.getByRole('button', { name: 'Show version' }).click();
    await page.getByRole('heading', { name: /State at version 1/ }).waitFor();
    const diff = page.getByRole('table', { name: /Changes from version 1 to/ });
    await diff.waitFor();
    const then = (await admin('/v1/admin/players/hero/history?atVersion=1')).state.gold;
    const gold = diff.getByRole('row', { name: /^gold/ });
    expect(await gold.getByRole('cell').allTextContents()).toEqual([String(then), String(then + 100)]);
    await page.screenshot({ path: join(SCREENSHOTS, 'player-history.png'), fullPage: true });
  });

  it('adjusts a balance with a reason and a ticket, and the ledger row shows in the audit trail', async () => {
    const page = await as('support');
    await openPlayer(page, 'hero');
    const before = await goldOf('hero');
    const form = page.getByRole('form', { name: 'Adjust balance' });
    await form.getByLabel('Change').fill('25');
    await form.getByLabel('Reason').fill('e2e goodwill for a lost chest');
    await form.getByLabel('Ticket').fill('SUP-2001');
    await form.getByRole('button', { name: 'Adjust balance' }).click();
    expect(await form.getByRole('status').textContent()).toMatch(/Adjusted gold by 25 \(version \d+\)/);
    expect(await goldOf('hero')).toBe(before + 25);
    const row = page
      .getByRole('region', { name: 'Audit trail' })
      .getByRole('row', { name: /e2e goodwill for a lost chest/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('SUP-2001');
    expect(await row.textContent()).toContain('support');
  });

  it('rolls back after showing the impact preview, and only Confirm writes', async () => {
    const page = await as('gm');
    const spent = await h.call('POST', '/v1/admin/players/hero/adjustments', {
      auth: h.admin,
      body: { currency: 'gold', delta: -40, reason: 'a mistaken charge', ticket: 'GM-3001' },
      headers: { prefer: 'wait=10' },
    });
    expect(spent.body.status).toBe('applied');
    const version = await versionOf('hero');
    const gold = await goldOf('hero');
    await openPlayer(page, 'hero');
    const form = page.getByRole('form', { name: 'Roll back' });
    await form.getByLabel('To version').fill(String(version - 1));
    await form.getByLabel('Reason').fill('undo the mistaken charge');
    await form.getByLabel('Ticket').fill('GM-3001');
    await form.getByRole('button', { name: 'Roll back' }).click();
    const preview = form.getByRole('region', { name: 'Rollback preview' });
    await preview.waitFor();
    expect(await preview.textContent()).toMatch(/Undoes 1 command\(s\)/);
    expect(await preview.getByRole('row', { name: /gold/ }).textContent()).toContain('+40');
    await page.screenshot({ path: join(SCREENSHOTS, 'player-rollback-preview.png'), fullPage: true });
    // The preview wrote nothing.
    expect(await versionOf('hero')).toBe(version);
    await preview.getByRole('button', { name: 'Confirm roll back' }).click();
    expect(await form.getByRole('status').textContent()).toMatch(/Rolled back to version/);
    expect(await goldOf('hero')).toBe(gold + 40);
  });

  it('bans and unbans a player, and shows the ban', async () => {
    const page = await as('gm');
    await openPlayer(page, 'foe');
    const form = page.getByRole('form', { name: 'Ban or unban' });
    await form.getByLabel('Reason').fill('e2e: botting');
    await form.getByLabel('Ticket').fill('GM-4001');
    await form.getByRole('button', { name: 'Ban', exact: true }).click();
    expect(await form.getByRole('status').textContent()).toMatch(/Banned/);
    await page
      .locator('dl.facts')
      .getByText(/Banned/)
      .waitFor();
    await form.getByLabel('Reason').fill('e2e: appeal granted');
    await form.getByLabel('Ticket').fill('GM-4002');
    await form.getByRole('button', { name: 'Unban' }).click();
    expect(await form.getByRole('status').textContent()).toMatch(/Unbanned/);
  });
});

describe('two-person approval', () => {
  it('turns a large adjustment into a request that a second operator approves, both in the audit', async () => {
    const requester = await as('gm');
    await openPlayer(requester, 'hero');
    const gold = await goldOf('hero');
    const form = requester.getByRole('form', { name: 'Adjust balance' });
    await form.getByLabel('Change').fill('50000');
    await form.getByLabel('Reason').fill('e2e: tournament prize');
    await form.getByLabel('Ticket').fill('GM-5001');
    await form.getByRole('button', { name: 'Adjust balance' }).click();
    const status = await form.getByRole('status').textContent();
    const approvalId = /request (\S+)\)/.exec(status ?? '')?.[1];
    expect(approvalId, status ?? '').toBeDefined();
    expect(await goldOf('hero')).toBe(gold);

    // The requester cannot approve their own request.
    await openPage(requester, 'Approvals');
    const own = requester.getByRole('row', { name: new RegExp(approvalId!) });
    expect(await own.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    const approver = await as('gm2');
    await openPage(approver, 'Approvals');
    await approver
      .getByRole('row', { name: new RegExp(approvalId!) })
      .getByRole('button', { name: 'Approve' })
      .click();
    const decision = approver.getByRole('form', { name: `Approve request ${approvalId}` });
    await decision.getByLabel('Reason').fill('checked the bracket');
    await approver.screenshot({ path: join(SCREENSHOTS, 'approvals.png'), fullPage: true });
    await decision.getByRole('button', { name: 'Approve' }).click();
    expect(await decision.getByRole('status').textContent()).toMatch(/Approved/);
    await until('the approved adjustment', async () => ((await goldOf('hero')) === gold + 50_000 ? true : undefined));
    const approval = await admin(`/v1/admin/approvals/${approvalId}`);
    expect(JSON.stringify(approval)).toContain('gm2');
  });
});

describe('bulk grants', () => {
  it('grants one reward to pasted player ids, with progress and a final report', async () => {
    const page = await as('gm');
    await openPage(page, 'Bulk grants');
    const before = await goldOf('foe');
    const form = page.getByRole('form', { name: 'Run bulk grant' });
    await form.getByLabel('Player ids').fill('playerId\nfoe\ndlq-player\n');
    await form.getByLabel('Currency').selectOption('gold');
    await form.getByLabel('Amount').fill('5');
    await form.getByLabel('Reason').fill('e2e: outage compensation');
    await form.getByLabel('Ticket').fill('INC-6001');
    await form.getByRole('button', { name: 'Run bulk grant' }).click();
    const progress = page.getByRole('region', { name: /^Bulk grant / });
    await progress
      .getByRole('status')
      .filter({ hasText: /2 granted/ })
      .waitFor({ timeout: 30_000 });
    await progress.getByRole('table', { name: 'Report' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'bulk-grants.png'), fullPage: true });
    expect(await goldOf('foe')).toBe(before + 5);
  });
});

describe('pipeline health', () => {
  it('charts the live figures and replays a dead letter with a reason', async () => {
    // A dead letter as SQS leaves one: a valid command the processor gave up on.
    const envelope = commandEnvelope({
      entityType: 'player',
      entityId: 'dlq-player',
      command: { type: 'AddExperience', amount: 7, source: 'e2e' },
      source: { kind: 'service', actor: 'console-e2e' },
      identity: ['service', 'console-e2e', randomUUID()],
      issuedAt: new Date(),
    });
    const sqs = sqsClient(h.config);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: h.stack.deadLetterQueue.url,
        MessageBody: JSON.stringify(envelope),
        MessageGroupId: messageGroupIdFor('player', 'dlq-player'),
        MessageDeduplicationId: envelope.commandId,
      }),
    );
    sqs.destroy();
    const experience = (await admin('/v1/admin/players/dlq-player')).experience as number;

    const page = await as('ops');
    await openPage(page, 'Pipeline health');
    await page.getByRole('figure', { name: /Cache hit ratio/ }).waitFor();
    await page.getByRole('figure', { name: /DLQ depth: dead letters 1/ }).waitFor();
    // The command queue's depth, from SQS through GET /v1/admin/stats (commands/s and the projection lag come from
    // the projector, which this stack does not run: test/integration/api/readside.test.ts reads them).
    await page.getByRole('figure', { name: /Queue depth: messages \d+/ }).waitFor();
    const row = page.getByRole('table', { name: /dead letter/ }).getByRole('row', { name: /AddExperience/ });
    await row.waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline.png'), fullPage: true });
    expect(await axeFindings(page)).toEqual([]);
    await row.getByRole('button', { name: 'Replay' }).click();
    const form = page.getByRole('form', { name: /^Replay / });
    await form.getByLabel('Reason').fill('e2e: the fix is deployed');
    await form.getByLabel('Ticket').fill('OPS-7001');
    await form.getByRole('button', { name: 'Replay' }).click();
    expect(await form.getByRole('status').textContent()).toMatch(new RegExp(`as command ${envelope.commandId}`));
    await until('the replayed command', async () => {
      const player = await admin('/v1/admin/players/dlq-player');
      return player.experience === experience + 7 ? true : undefined;
    });
  });
});

/** Actions the console hides from roles that lack them, and the same action as a direct call. */
const GUARDED: readonly {
  permission: ConsolePermission;
  page: string;
  /** Present on the page exactly when the role has the permission. */
  control: (page: Page) => ReturnType<Page['getByRole']>;
  method: 'POST';
  path: string;
  body: unknown;
}[] = [
  {
    permission: 'balances.adjust',
    page: 'player',
    control: (p) => p.getByRole('form', { name: 'Adjust balance' }),
    method: 'POST',
    path: '/v1/admin/players/hero/adjustments',
    body: { currency: 'gold', delta: 1, reason: 'refused', ticket: 'R-1' },
  },
  {
    permission: 'items.grant',
    page: 'player',
    control: (p) => p.getByRole('form', { name: 'Items' }),
    method: 'POST',
    path: '/v1/admin/players/hero/items',
    body: { change: 'grant', item: 'herb', quantity: 1, reason: 'refused', ticket: 'R-2' },
  },
  {
    permission: 'players.rollback',
    page: 'player',
    control: (p) => p.getByRole('form', { name: 'Roll back' }),
    method: 'POST',
    path: '/v1/admin/players/hero/rollbacks',
    body: { toVersion: 1, reason: 'refused', ticket: 'R-3' },
  },
  {
    permission: 'players.quarantine',
    page: 'player',
    control: (p) => p.getByRole('form', { name: 'Quarantine or release' }),
    method: 'POST',
    path: '/v1/admin/players/hero/quarantine',
    body: { reason: 'refused', ticket: 'R-4' },
  },
  {
    permission: 'players.ban',
    page: 'player',
    control: (p) => p.getByRole('form', { name: 'Ban or unban' }),
    method: 'POST',
    path: '/v1/admin/players/hero/ban',
    body: { reason: 'refused', ticket: 'R-5' },
  },
  {
    permission: 'deadLetters.resolve',
    page: 'Pipeline health',
    control: (p) => p.getByRole('columnheader', { name: 'Actions' }),
    method: 'POST',
    path: '/v1/admin/dead-letters/00000000-0000-0000-0000-000000000000/replay',
    body: { reason: 'refused', ticket: 'R-6' },
  },
  {
    permission: 'checks.run',
    page: 'Consistency and recovery',
    control: (p) => p.getByRole('button', { name: 'Run check' }),
    method: 'POST',
    path: '/v1/admin/checks',
    body: {},
  },
  {
    permission: 'backups.run',
    page: 'Consistency and recovery',
    control: (p) => p.getByRole('button', { name: 'Take backup' }),
    method: 'POST',
    path: '/v1/admin/backups',
    body: {},
  },
  {
    permission: 'drills.run',
    page: 'Consistency and recovery',
    control: (p) => p.getByRole('button', { name: 'Run drill' }),
    method: 'POST',
    path: '/v1/admin/drills',
    body: {},
  },
  {
    permission: 'payments.resolve',
    page: 'Payments',
    control: (p) => p.getByRole('columnheader', { name: 'Actions' }),
    method: 'POST',
    path: '/v1/admin/payments/acme/no-such-order/dismiss',
    body: { reason: 'refused', ticket: 'R-7' },
  },
];

describe('roles', () => {
  it('hides what a role may not do, and the server refuses it too (403, nothing written)', async () => {
    for (const role of ROLES) {
      const page = await as(role);
      const token = await tokenOf(page);
      for (const action of GUARDED) {
        if (action.page === 'player') await openPlayer(page, 'hero');
        else {
          await openPage(page, action.page);
          await settled(page);
        }
        const allowed = can([role], action.permission);
        expect((await action.control(page).count()) > 0, `${role} ${action.permission} shown`).toBe(allowed);
        if (allowed) continue;
        await h.pipeline!.drained();
        const before = await h.itemCount();
        const res = await fetch(`${gateway.url}${action.path}`, {
          method: action.method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(action.body),
        });
        expect(res.status, `${role} ${action.method} ${action.path}`).toBe(403);
        await h.pipeline!.drained();
        expect(await h.itemCount(), `${role} ${action.path} wrote`).toBe(before);
      }
    }
  });
});

describe('every page', () => {
  it('has no serious or critical axe-core violation, on a laptop and a tablet, and is photographed', {
    timeout: 300_000,
  }, async () => {
    const names = [
      'Players',
      'Payments',
      'Bulk grants',
      'Approvals',
      'Pipeline health',
      'Leaderboards',
      'Consistency and recovery',
      'Audit',
    ];
    const findings: Record<string, string[]> = {};
    for (const role of ['gm', 'ops']) {
      const page = await as(role);
      for (const viewport of role === 'gm' ? [LAPTOP, TABLET] : [LAPTOP]) {
        await page.setViewportSize(viewport);
        for (const name of names) {
          await openPage(page, name);
          await settled(page);
          const found = await axeFindings(page);
          if (found.length > 0) findings[`${role} ${name} ${viewport.width}`] = found;
          const file = `${name.toLowerCase().replace(/\W+/g, '-')}-${role}-${viewport.width}.png`;
          await page.screenshot({ path: join(SCREENSHOTS, file), fullPage: true });
        }
      }
      await page.setViewportSize(LAPTOP);
    }
    expect(findings).toEqual({});
  });
});
