import { execFile } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../shared/config.js';
import { sqsClient } from '../../shared/clients.js';
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

/** `gamekeep <args>` through its bin, on the Node that runs the tests (the project's). */
const gamekeep = (cwd: string, ...args: string[]) => exec(process.execPath, [bin, ...args], cwd);
const json = (r: Run): any => JSON.parse(r.out);

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

  it('the verbs still to be wired say which route they will call, with exit 1', async () => {
    const history = await gamekeep(dir, 'history', 'cli-p1', '--at-version', '1');
    expect(history.code).toBe(1);
    expect(history.err).toContain('GET /v1/admin/players/{playerId}/history');
    const rebuild = await gamekeep(dir, 'rebuild', 'leaderboards');
    expect(rebuild.code).toBe(1);
    expect(rebuild.err).toContain('npm run rebuild -- leaderboards');
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
