import { execFile } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient, sqsClient } from '../../shared/clients.js';
import { commandEnvelope, messageGroupIdFor, type CommandEnvelope } from '../../shared/engine/envelope.js';
import { startApiHarness, type ApiHarness } from './api/harness.js';

/**
 * Issue 11, item 5: the `gamekeep` CLI, run as a person runs it (its bin, a child process on the project's Node) in
 * a directory whose .gamekeep/stack.json names a harness-started gateway, as `npm start` writes it, with no
 * GAMEKEEP_*, REDIS_URL or AWS_* variable in its environment. It reaches the stack only through the HTTP API.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'cli', 'bin.js');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GAMEKEEP_|REDIS_URL|AWS_)/.test(k)));

function exec(file: string, args: readonly string[], cwd: string, env = cleanEnv()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd, env, timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

/**
 * `gamekeep <args>` at a terminal: run inside util-linux `script`, which gives it a pseudo-terminal and types
 * `typed` into it (what a person answers at a prompt). Its stdout and stderr come back together, as on a screen.
 */
function atTerminal(cwd: string, typed: string, ...args: string[]): Promise<Run> {
  const word = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;
  return new Promise((resolve) => {
    const child = execFile(
      'script',
      ['-qec', [process.execPath, bin, ...args].map(word).join(' '), '/dev/null'],
      { cwd, env: cleanEnv(), timeout: 90_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
    child.stdin!.end(typed);
  });
}

/** `gamekeep <args>` through its bin, on the Node that runs the tests (the project's). */
const gamekeep = (cwd: string, ...args: string[]) => exec(process.execPath, [bin, ...args], cwd);
const json = (r: Run): any => JSON.parse(r.out);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every leaf of a state by its dotted path (objects opened, anything else a leaf), for diffs computed here. */
function leaves(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  else out.set(path, value);
  return out;
}
function changesBetween(before: object, after: object): { path: string; before?: unknown; after?: unknown }[] {
  const a = leaves(before);
  const b = leaves(after);
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((path) => JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path)))
    .sort()
    .map((path) => ({
      path,
      ...(a.has(path) ? { before: a.get(path) } : {}),
      ...(b.has(path) ? { after: b.get(path) } : {}),
    }));
}

function stackDirectory(config: Config): string {
  const dir = mkdtempSync(join(tmpdir(), 'gamekeep-cli-'));
  mkdirSync(join(dir, '.gamekeep'));
  writeFileSync(join(dir, '.gamekeep', 'stack.json'), JSON.stringify(config));
  return dir;
}

describe('gamekeep on a local stack', () => {
  let h: ApiHarness;
  let dir: string;
  let sqs: SQSClient;
  let valid: CommandEnvelope;
  let validId: string;
  let malformedId: string;
  let db: DynamoDBDocumentClient;

  /** A player's state item as the table holds it now (read here, not through the code under test). */
  async function stateItem(playerId: string): Promise<{ version: number; state: Record<string, any> }> {
    const out = await db.send(
      new GetCommand({
        TableName: h.config.tableName,
        Key: { pk: `P#${playerId}`, sk: 'STATE' },
        ConsistentRead: true,
      }),
    );
    return out.Item as { version: number; state: Record<string, any> };
  }

  /** Every state a player passed through, by version, read from the table after each command. */
  const states = new Map<string, Map<number, Record<string, any>>>();
  async function recorded(playerId: string): Promise<number> {
    const item = await stateItem(playerId);
    const byVersion = states.get(playerId) ?? new Map<number, Record<string, any>>();
    byVersion.set(item.version, item.state);
    states.set(playerId, byVersion);
    return item.version;
  }
  const stateAt = (playerId: string, version: number) => states.get(playerId)!.get(version)!;

  let keys = 0;
  /** A game service's command, waited for; the outcome's body. */
  async function serve(playerId: string, command: Record<string, unknown>): Promise<any> {
    const r = await h.call('POST', `/v1/players/${playerId}/commands`, {
      auth: h.service,
      body: command,
      headers: { 'idempotency-key': `cli-k${++keys}`, prefer: 'wait=10' },
    });
    expect(r.status).toBeLessThan(300);
    await recorded(playerId);
    return r.body;
  }

  async function create(playerId: string): Promise<void> {
    const r = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId, name: `Keeper ${playerId}` },
      headers: { prefer: 'wait=10' },
    });
    expect(r.body.status).toBe('applied');
    await recorded(playerId);
  }

  async function toDlq(body: string, group: string, reason?: string): Promise<string> {
    const out = await sqs.send(
      new SendMessageCommand({
        QueueUrl: h.stack.deadLetterQueue.url,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: randomUUID(),
        ...(reason ? { MessageAttributes: { 'gamekeep-reason': { DataType: 'String', StringValue: reason } } } : {}),
      }),
    );
    return out.MessageId!;
  }

  async function dlqDepth(): Promise<number> {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: h.stack.deadLetterQueue.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes!.ApproximateNumberOfMessages) +
      Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible)
    );
  }

  beforeAll(async () => {
    h = await startApiHarness();
    sqs = sqsClient(h.config);
    db = dynamoDbClient(h.config);
    dir = stackDirectory({ ...h.config, apiPort: Number(new URL(h.url).port) });
    const created = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId: 'cli-dead', name: 'Dead Letter' },
      headers: { prefer: 'wait=10' },
    });
    expect(created.body.status).toBe('applied');
    // Issued after the player was created: it has not moved on since, so a plain replay applies it.
    valid = commandEnvelope({
      entityType: 'player',
      entityId: 'cli-dead',
      command: { type: 'AddExperience', amount: 70, source: 'quest' },
      source: { kind: 'service', actor: 'cli-test' },
      identity: ['service', 'cli-test', 'cli-dead', randomUUID()],
      issuedAt: new Date(),
    });
    // As SQS leaves them: one the processor forwarded (with its reason), one that failed its receives.
    malformedId = await toDlq('{"commandId": 42', 'player.cli-broken', 'not JSON: Unexpected end of JSON input');
    validId = await toDlq(JSON.stringify(valid), messageGroupIdFor('player', 'cli-dead'));
  });

  afterAll(async () => {
    await h?.stop();
    sqs?.destroy();
    db?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dlq list shows both dead letters, readable and as JSON, and leaves them in the queue', async () => {
    const text = await gamekeep(dir, 'dlq', 'list');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('2 dead letters listed, about 2 in the queue');
    expect(text.out).toContain(`${validId}`);
    expect(text.out).toContain(`player cli-dead`);
    expect(text.out).toContain(`AddExperience ${valid.commandId}`);
    expect(text.out).toContain('(not an envelope)');
    expect(text.out).toContain('cannot be replayed: fix the producer, then discard it');

    const machine = await gamekeep(dir, '--json', 'dlq', 'list', '--limit', '10');
    expect(machine.code, machine.err).toBe(0);
    const page = json(machine);
    expect(page.items.map((i: any) => i.messageId).sort()).toEqual([malformedId, validId].sort());
    expect(page.items.find((i: any) => i.messageId === validId)).toMatchObject({
      envelope: { commandId: valid.commandId, entityId: 'cli-dead' },
      entity: { version: 1, movedOn: false },
    });
    expect(await dlqDepth()).toBe(2);
  });

  it('refuses what it cannot do with exit 1 and the API code, and bad usage with exit 2, changing nothing', async () => {
    const notEnvelope = await gamekeep(dir, 'dlq', 'replay', malformedId);
    expect(notEnvelope.code).toBe(1);
    expect(notEnvelope.err).toContain('NOT_AN_ENVELOPE');
    const asJson = await gamekeep(dir, 'dlq', 'replay', malformedId, '--json');
    expect(asJson.code).toBe(1);
    expect(json(asJson).error.code).toBe('NOT_AN_ENVELOPE');

    const usages = [
      ['dlq', 'discard', malformedId],
      ['dlq', 'discard', malformedId, '--reason', 'producer bug'],
      ['dlq', 'replay', validId, '--force'],
      ['dlq', 'list', '--limit', '0'],
      ['dlq', 'list', '--bogus'],
      ['dlq'],
      ['frobnicate'],
      ['send', 'cli-x', 'not json'],
      ['events', 'cli-dead', 'minus-one'],
      ['--stage', 'dev', 'status', 'c'.padEnd(41, '0')],
      ['--stage', 'staging', 'status', 'c'.padEnd(41, '0')],
      ['history', 'cli-dead'],
      [
        'rollback',
        'cli-dead',
        '--to-version',
        '1',
        '--to-time',
        '2026-01-01T00:00:00Z',
        '--reason',
        'r',
        '--ticket',
        'T',
      ],
      ['rollback', 'cli-dead', '--to-version', '1', '--ticket', 'T'],
      ['check', '--sample', '2'],
    ];
    for (const args of usages) {
      const r = await gamekeep(dir, ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    }
    expect(await dlqDepth()).toBe(2);
    expect((await gamekeep(dir, '--help')).code).toBe(0);
  });

  it('dlq replay sends the command back and waits for its outcome; the player moves on', async () => {
    const r = await gamekeep(dir, 'dlq', 'replay', validId, '--wait', '30', '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r)).toMatchObject({
      messageId: validId,
      commandId: valid.commandId,
      status: 'queued',
      outcome: { status: 'applied', version: 2 },
    });
    const status = await gamekeep(dir, 'status', valid.commandId);
    expect(status.code).toBe(0);
    expect(status.out.trim()).toBe(`${valid.commandId} applied at version 2`);
    expect(await dlqDepth()).toBe(1);
  });

  it('dlq discard deletes a dead letter and names its audit item', async () => {
    const r = await gamekeep(dir, 'dlq', 'discard', malformedId, '--reason', 'producer bug', '--ticket', 'OPS-9');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`discarded ${malformedId}: recorded as DLQ#${malformedId} / DISCARDED (by local-gm`);
    expect(await h.store.item<any>({ pk: `DLQ#${malformedId}`, sk: 'DISCARDED' })).toMatchObject({
      reason: 'producer bug',
      ticket: 'OPS-9',
      body: '{"commandId": 42',
    });
    expect(await dlqDepth()).toBe(0);
    const again = await gamekeep(dir, 'dlq', 'discard', malformedId, '--reason', 'producer bug', '--ticket', 'OPS-9');
    expect(again.code).toBe(1);
    expect(again.err).toContain('DEAD_LETTER_NOT_FOUND');
  });

  it('send, status, player and events go through the API, also as `npm run cli`', async () => {
    const created = await gamekeep(
      dir,
      '--json',
      'send',
      'cli-p1',
      '{"type":"CreatePlayer","name":"Cli One"}',
      '--wait',
      '10',
    );
    expect(created.code, created.err).toBe(0);
    expect(json(created)).toMatchObject({ status: 'applied', version: 1 });
    const xp = await gamekeep(
      dir,
      'send',
      'cli-p1',
      '{"type":"AddExperience","amount":50,"source":"quest"}',
      'quest-1',
      '--wait',
      '10',
    );
    expect(xp.code, xp.err).toBe(0);
    expect(xp.out).toMatch(/^c[0-9a-f]{40} applied at version 2$/m);
    // The same key again is the same command: nothing new.
    const again = await gamekeep(
      dir,
      '--json',
      'send',
      'cli-p1',
      '{"type":"AddExperience","amount":50,"source":"quest"}',
      'quest-1',
    );
    expect(again.code, again.err).toBe(0);
    expect(json(again)).toMatchObject({ commandId: xp.out.split(' ')[0], status: 'applied' });

    const view = await gamekeep(dir, '--json', 'player', 'cli-p1');
    expect(json(view)).toMatchObject({ playerId: 'cli-p1', version: 2, name: 'Cli One', experience: 50 });
    const readable = await gamekeep(dir, 'player', 'cli-p1');
    expect(readable.out).toMatch(/^player cli-p1 at version 2/);
    expect(readable.out).toMatch(/name\s+Cli One/);

    const events = await gamekeep(dir, '--json', 'events', 'cli-p1', '0', '1');
    expect(json(events)).toMatchObject({
      playerId: 'cli-p1',
      items: [{ version: 1, commandType: 'CreatePlayer' }],
      nextAfterVersion: 1,
    });
    const all = await gamekeep(dir, 'events', 'cli-p1', '--all');
    expect(all.out).toContain('2 versions of player cli-p1');
    expect(all.out).toMatch(/v2 .*AddExperience/);

    const missing = await gamekeep(dir, 'player', 'cli-nobody');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('PLAYER_NOT_FOUND');

    // `npm run cli -- …` runs the same CLI.
    const alias = await exec(tsx, [join(root, 'scripts', 'cli.ts'), '--json', 'player', 'cli-p1'], dir);
    expect(alias.code, alias.err).toBe(0);
    expect(json(alias)).toMatchObject({ version: 2, experience: 50 });
  });

  it('rewards run runs the day until every grant has an outcome', async () => {
    const r = await gamekeep(dir, '--json', 'rewards', 'run', '--date', '2026-07-01');
    expect(r.code, r.err).toBe(0);
    expect(json(r)).toMatchObject({ date: '2026-07-01', status: 'done', last: { status: 'done' } });
    expect((await gamekeep(dir, 'rewards', 'run', '--date', '2026-7-1')).code).toBe(2);
  });

  it('history and diff show the states and changes the table held at each version', async () => {
    await create('cli-hist');
    const times = new Map<number, string>();
    times.set(1, new Date().toISOString());
    for (const command of [
      { type: 'AddExperience', amount: 30, source: 'quest' },
      { type: 'SpendCurrency', currency: 'gold', amount: 7, reason: 'shop' },
      { type: 'GrantItem', itemId: 'qi-pill', quantity: 2, source: 'quest' },
    ]) {
      await pause(30);
      expect((await serve('cli-hist', command)).status).toBe('applied');
      times.set((await stateItem('cli-hist')).version, new Date().toISOString());
      await pause(30);
    }
    expect((await stateItem('cli-hist')).version).toBe(4);

    for (const v of [1, 2, 3, 4]) {
      const r = await gamekeep(dir, '--json', 'history', 'cli-hist', '--at-version', String(v));
      expect(r.code, r.err).toBe(0);
      expect(json(r)).toEqual({ version: v, state: stateAt('cli-hist', v), committedAt: expect.any(String) });
    }
    const asOf = await gamekeep(dir, '--json', 'history', 'cli-hist', '--at-time', times.get(2)!);
    expect(asOf.code, asOf.err).toBe(0);
    expect(json(asOf)).toMatchObject({ version: 2, state: stateAt('cli-hist', 2) });
    const readable = await gamekeep(dir, 'history', 'cli-hist', '--at-version', '3');
    expect(readable.code, readable.err).toBe(0);
    expect(readable.out).toMatch(/^player cli-hist at version 3, committed \d{4}-/);
    expect(readable.out).toMatch(new RegExp(`^\\s+gold\\s+${stateAt('cli-hist', 3).gold}$`, 'm'));
    const beyond = await gamekeep(dir, 'history', 'cli-hist', '--at-version', '5');
    expect(beyond.code).toBe(1);
    expect(beyond.err).toContain('VERSION_NOT_REACHED');

    const diff = await gamekeep(dir, '--json', 'diff', 'cli-hist', '--from', '1', '--to', '4');
    expect(diff.code, diff.err).toBe(0);
    const expected = changesBetween(stateAt('cli-hist', 1), stateAt('cli-hist', 4));
    expect(expected.map((c) => c.path)).toEqual(expect.arrayContaining(['experience', 'gold', 'inventory.qi-pill']));
    expect(json(diff).changes.sort((x: { path: string }, y: { path: string }) => x.path.localeCompare(y.path))).toEqual(
      expected,
    );
    const lines = await gamekeep(dir, 'diff', 'cli-hist', '--from', '2', '--to', '4');
    expect(lines.code, lines.err).toBe(0);
    const changed = changesBetween(stateAt('cli-hist', 2), stateAt('cli-hist', 4));
    const shown = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
    expect(lines.out.trim().split('\n')).toEqual([
      `player cli-hist from version 2 to 4: ${changed.length} fields changed`,
      ...changed.map((c) => `  ${c.path}: ${shown(c.before)} → ${shown(c.after)}`),
    ]);
    expect(lines.out).toContain(`  gold: ${stateAt('cli-hist', 2).gold} → ${stateAt('cli-hist', 4).gold}`);
    expect(lines.out).toContain('  inventory.qi-pill: (none) → 2');
  });

  it('rollback without --yes and without a terminal prints the impact analysis, sends nothing and exits 1', async () => {
    await create('cli-rb');
    await serve('cli-rb', { type: 'AddExperience', amount: 40, source: 'quest' });
    await serve('cli-rb', { type: 'SpendCurrency', currency: 'gold', amount: 25, reason: 'shop' });
    await serve('cli-rb', { type: 'GrantItem', itemId: 'qi-pill', quantity: 2, source: 'quest' });
    expect((await stateItem('cli-rb')).version).toBe(4);
    const args = ['rollback', 'cli-rb', '--to-version', '2', '--reason', 'duped items', '--ticket', 'OPS-77'];

    const r = await gamekeep(dir, ...args);
    expect(r.code).toBe(1);
    expect(r.out).toContain('impact of rolling back player cli-rb from version 4 to 2');
    expect(r.out).toMatch(/^\s+undoes v3\s+SpendCurrency\s+service:\S+\s+committed \d{4}-/m);
    expect(r.out).toMatch(/^\s+undoes v4\s+GrantItem\s+service:\S+\s+committed \d{4}-/m);
    const deltas = changesBetween(stateAt('cli-rb', 4), stateAt('cli-rb', 2))
      .map((c) => ({ path: c.path, d: Number(c.after ?? 0) - Number(c.before ?? 0) }))
      .filter((c) => Number.isFinite(c.d) && c.d !== 0);
    expect(deltas).toEqual(
      expect.arrayContaining([
        { path: 'gold', d: 25 },
        { path: 'inventory.qi-pill', d: -2 },
      ]),
    );
    expect(r.out).toContain(`deltas: ${deltas.map((c) => `${c.path} ${c.d > 0 ? '+' : ''}${c.d}`).join(', ')}`);
    expect(r.out).toContain('balanced');
    expect(r.err).toContain('NOT_CONFIRMED');
    expect(r.err).toContain('--yes');
    const machine = await gamekeep(dir, '--json', ...args);
    expect(machine.code).toBe(1);
    expect(json(machine)).toMatchObject({
      preview: { entity: { entityId: 'cli-rb', fromVersion: 4, toVersion: 2, state: stateAt('cli-rb', 2) } },
      error: { code: 'NOT_CONFIRMED' },
    });
    expect(json(machine).preview.entity.undone.map((u: { version: number }) => u.version)).toEqual([3, 4]);

    // Nothing was sent: the player's next command (its FIFO group is in order) is its very next version.
    expect(await serve('cli-rb', { type: 'AddExperience', amount: 1, source: 'quest' })).toMatchObject({
      status: 'applied',
      version: 5,
    });
    expect((await stateItem('cli-rb')).version).toBe(5);
  });

  it('rollback --yes --wait rolls the player back to the state the table held at the target version', async () => {
    const before = (await stateItem('cli-rb')).version;
    expect(before).toBe(5);
    const r = await gamekeep(
      dir,
      'rollback',
      'cli-rb',
      '--to-version',
      '2',
      '--reason',
      'duped items',
      '--ticket',
      'OPS-77',
      '--yes',
      '--wait',
      '30',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('impact of rolling back player cli-rb from version 5 to 2');
    expect(r.out).toMatch(/^\s+undoes v5\s+AddExperience/m);
    expect(r.out).toMatch(/^rollback of player cli-rb sent as command c[0-9a-f]{40}$/m);
    expect(r.out).toMatch(/^ {2}applied at version 6$/m);
    const now = await stateItem('cli-rb');
    expect(now.version).toBe(6);
    expect(now.state).toEqual(stateAt('cli-rb', 2));
  });

  it('rollback at a terminal asks first: n sends nothing, y sends it', async () => {
    await create('cli-tty');
    await serve('cli-tty', { type: 'AddExperience', amount: 40, source: 'quest' });
    await serve('cli-tty', { type: 'SpendCurrency', currency: 'gold', amount: 25, reason: 'shop' });
    const args = ['rollback', 'cli-tty', '--to-version', '2', '--reason', 'duped items', '--ticket', 'OPS-81'];

    const no = await atTerminal(dir, 'n\n', ...args);
    expect(no.code, no.out).toBe(1);
    expect(no.out).toContain('impact of rolling back player cli-tty from version 3 to 2');
    expect(no.out).toContain('Roll back? [y/N]');
    expect(no.out).toContain('not rolled back: nothing was sent');
    // Nothing was sent: the next command is the very next version.
    expect(await serve('cli-tty', { type: 'AddExperience', amount: 1, source: 'quest' })).toMatchObject({
      status: 'applied',
      version: 4,
    });

    const yes = await atTerminal(dir, 'y\n', ...args, '--wait', '30');
    expect(yes.code, yes.out).toBe(0);
    expect(yes.out).toContain('impact of rolling back player cli-tty from version 4 to 2');
    expect(yes.out).toContain('Roll back? [y/N]');
    expect(yes.out).toMatch(/^ {2}applied at version 5\r?$/m);
    expect(await stateItem('cli-tty')).toMatchObject({ version: 5, state: stateAt('cli-tty', 2) });
  });

  it('quarantine --wait refuses the player its commands (ENTITY_QUARANTINED) until release --wait', async () => {
    await create('cli-q');
    const gold = (await stateItem('cli-q')).state.gold;
    const q = await gamekeep(dir, 'quarantine', 'cli-q', '--reason', 'suspected dupe', '--ticket', 'OPS-78', '--wait');
    expect(q.code, q.err).toBe(0);
    expect(q.out).toMatch(/^quarantine of player cli-q sent as command c[0-9a-f]{40}$/m);
    expect(q.out).toContain('applied at version 2');
    expect(await serve('cli-q', { type: 'SpendCurrency', currency: 'gold', amount: 5, reason: 'shop' })).toMatchObject({
      status: 'rejected',
      code: 'ENTITY_QUARANTINED',
    });
    const again = await gamekeep(
      dir,
      '--json',
      'quarantine',
      'cli-q',
      '--reason',
      'again',
      '--ticket',
      'OPS-79',
      '--wait',
      '30',
    );
    expect(again.code).toBe(1);
    expect(json(again)).toMatchObject({
      status: 'queued',
      outcome: { status: 'rejected', code: 'ALREADY_QUARANTINED' },
      error: { code: 'ALREADY_QUARANTINED' },
    });
    expect(await stateItem('cli-q')).toMatchObject({ version: 2, state: { gold } });

    const released = await gamekeep(
      dir,
      'release',
      'cli-q',
      '--reason',
      'cleared',
      '--ticket',
      'OPS-78',
      '--wait',
      '30',
    );
    expect(released.code, released.err).toBe(0);
    expect(released.out).toMatch(/^release of player cli-q sent as command c[0-9a-f]{40}$/m);
    expect(released.out).toContain('applied at version 3');
    expect(await serve('cli-q', { type: 'SpendCurrency', currency: 'gold', amount: 5, reason: 'shop' })).toMatchObject({
      status: 'applied',
      version: 4,
    });
    expect((await stateItem('cli-q')).state.gold).toBe(gold - 5);
  });

  it('check --wait on a sound table exits 0 with 0 findings; a damaged state is found and repaired', async () => {
    const scan = await db.send(
      new ScanCommand({
        TableName: h.config.tableName,
        FilterExpression: 'sk = :s',
        ExpressionAttributeValues: { ':s': 'STATE' },
        ConsistentRead: true,
      }),
    );
    const entities = scan.Items!.length;
    expect(entities).toBeGreaterThanOrEqual(5);
    const sound = await gamekeep(dir, 'check', '--wait');
    expect(sound.code, `${sound.out}${sound.err}`).toBe(0);
    expect(sound.out).toMatch(new RegExp(`^check k[0-9a-f]{32}: done; ${entities} entities and \\d+ claims`, 'm'));
    expect(sound.out).toContain('findings: 0 safe to repair, 0 for an operator, 0 to isolate');

    // A state edited behind the engine's back: an operator finding, which proposes its repair.
    const { version, state } = await stateItem('cli-hist');
    await db.send(
      new UpdateCommand({
        TableName: h.config.tableName,
        Key: { pk: 'P#cli-hist', sk: 'STATE' },
        UpdateExpression: 'SET #s.gold = :g',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':g': 1_000_000 },
      }),
    );
    const found = await gamekeep(dir, '--json', 'check', '--wait', '60');
    expect(found.code).toBe(1);
    const report = json(found);
    expect(report).toMatchObject({ status: 'done', error: { code: 'FINDINGS' } });
    expect(report.counts.operator).toBeGreaterThan(0);
    const proposal = report.findings.find((f: any) => f.entityId === 'cli-hist' && f.repair?.action === 'repair-state')
      .repair.command;
    expect(proposal.expectedVersion).toBe(version);

    const repaired = await gamekeep(
      dir,
      'repair',
      'cli-hist',
      '--expected-version',
      String(proposal.expectedVersion),
      '--finding',
      proposal.finding,
      '--reason',
      'edited behind the engine',
      '--ticket',
      'OPS-80',
      '--wait',
    );
    expect(repaired.code, repaired.err).toBe(0);
    expect(repaired.out).toMatch(/^repair of player cli-hist sent as command c[0-9a-f]{40}$/m);
    expect(repaired.out).toContain(`applied at version ${version + 1}`);
    expect(await stateItem('cli-hist')).toEqual(expect.objectContaining({ version: version + 1, state }));

    const clean = await gamekeep(dir, 'check', '--wait');
    expect(clean.code, `${clean.out}${clean.err}`).toBe(0);
    expect(clean.out).toContain('findings: 0 safe to repair, 0 for an operator, 0 to isolate');
  });

  it('rebuild goes through POST /v1/admin/rebuilds: refused with the API code where no rebuild runs (no Redis here)', async () => {
    const rebuild = await gamekeep(dir, 'rebuild', '--json');
    expect(rebuild.code).toBe(1);
    expect(JSON.parse(rebuild.out).error.code).toBe('REBUILD_UNAVAILABLE');
    expect((await gamekeep(dir, 'rebuild', 'leaderboards')).code).toBe(2);
  });

  it('without a stack file it says how to start one (exit 2); with a dead one it hints (exit 1)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gamekeep-cli-none-'));
    // A port nothing listens on any more (as after `npm start` was killed).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const stale = stackDirectory({ ...h.config, apiPort: port });
    try {
      const none = await gamekeep(empty, 'dlq', 'list');
      expect(none.code).toBe(2);
      expect(none.err).toContain('start one with `npm start`');
      const gone = await gamekeep(stale, 'dlq', 'list');
      expect(gone.code).toBe(1);
      expect(gone.err).toContain('is `npm start` still running?');
    } finally {
      rmSync(empty, { recursive: true, force: true });
      rmSync(stale, { recursive: true, force: true });
    }
  });
});

describe('gamekeep on a deployed stage', () => {
  let server: Server;
  let url: string;
  const seen: { method: string; path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const credentials = { id: 'AKIDCLITEST', secret: 'cli-test-secret-key', token: 'cli-test-session-token' };

  beforeAll(async () => {
    // Stands in for API Gateway's edge: records what arrives, answers like the admin API.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method!, path: req.url!, headers: req.headers, body });
        const replay = req.url!.endsWith('/replay');
        res.writeHead(replay ? 202 : 200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            replay
              ? {
                  messageId: 'm-1',
                  commandId: `c${'1'.repeat(40)}`,
                  status: 'queued',
                  forced: false,
                  entity: { version: 1, movedOn: false },
                }
              : {
                  commandId: `c${'2'.repeat(40)}`,
                  status: 'applied',
                  version: 7,
                  entityType: 'player',
                  entityId: 'p-1',
                },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const remote = (cwd: string, ...args: string[]) =>
    exec(process.execPath, [bin, '--stage', 'dev', '--api-url', url, '--region', 'eu-west-1', ...args], cwd, {
      ...cleanEnv(),
      AWS_ACCESS_KEY_ID: credentials.id,
      AWS_SECRET_ACCESS_KEY: credentials.secret,
      AWS_SESSION_TOKEN: credentials.token,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    });

  it('signs every request with SigV4 for execute-api in the region, body included', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gamekeep-cli-remote-'));
    try {
      const status = await remote(cwd, 'status', `c${'2'.repeat(40)}`);
      expect(status.code, status.err).toBe(0);
      expect(status.out.trim()).toBe(`c${'2'.repeat(40)} applied at version 7 (player p-1)`);
      const replay = await remote(
        cwd,
        '--json',
        'dlq',
        'replay',
        'm-1',
        '--reason',
        'after the fix',
        '--ticket',
        'OPS-3',
      );
      expect(replay.code, replay.err).toBe(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      `GET /v1/commands/c${'2'.repeat(40)}`,
      'POST /v1/admin/dead-letters/m-1/replay',
    ]);
    expect(JSON.parse(seen[1]!.body)).toEqual({ reason: 'after the fix', ticket: 'OPS-3' });
    for (const request of seen) {
      expect(request.headers['x-amz-security-token']).toBe(credentials.token);
      expect(request.headers.authorization).toBe(expectedAuthorization(request, credentials));
    }
  });
});

/** The SigV4 Authorization header AWS would compute for what arrived, from its own description of the algorithm. */
function expectedAuthorization(
  request: { method: string; path: string; headers: IncomingHttpHeaders; body: string },
  credentials: { id: string; secret: string },
): string {
  const auth = String(request.headers.authorization);
  const signed = /SignedHeaders=([^,]+)/.exec(auth)?.[1] ?? '';
  expect(signed.split(';')).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']));
  const amzDate = String(request.headers['x-amz-date']);
  const day = amzDate.slice(0, 8);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const canonical = [
    request.method,
    request.path,
    '',
    ...signed.split(';').map((name) => `${name}:${String(request.headers[name]).trim()}`),
    '',
    signed,
    sha(request.body),
  ].join('\n');
  const scope = `${day}/eu-west-1/execute-api/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
  let key: Buffer = Buffer.from(`AWS4${credentials.secret}`);
  for (const part of [day, 'eu-west-1', 'execute-api', 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${credentials.id}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
}
