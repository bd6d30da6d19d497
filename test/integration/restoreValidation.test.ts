import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupClient } from '@aws-sdk/client-backup';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  GetCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { dynamoDbClient } from '../../shared/clients.js';
import { createTableInput } from '../../shared/persistence/tableDefinition.js';
import {
  RESTORE_TEST_TABLE_PREFIX,
  restoreTestOf,
  validateRestore,
  type RestoreTest,
} from '../../shared/backup/restoreValidation.js';
import { createRestoreValidatorHandler } from '../../functions/restore-validator/handler.js';
import { startApiHarness, type ApiHarness } from './api/harness.js';

/**
 * AWS Backup restore testing's validation against DynamoDB Local: a restored copy of a table with real players is
 * checked by the consistency checker and the verdict goes to AWS Backup through a real BackupClient, pointed at a
 * local HTTP endpoint that records every PutRestoreValidationResult (and can be made to fail).
 */
let h: ApiHarness;
let db: DynamoDBDocumentClient;
let backupApi: Server;
let backup: BackupClient;
/** Requests the Backup endpoint received: job id and body. */
const received: { restoreJobId: string; body: { ValidationStatus: string; ValidationStatusMessage?: string } }[] = [];
/** The status the endpoint answers with (204 is AWS Backup's success). */
let answer = 204;
const players = ['rv-1', 'rv-2', 'rv-3', 'rv-4'];
const suffix = randomBytes(3).toString('hex');
const tables: string[] = [];

async function send(playerId: string, command: Record<string, unknown>, idempotencyKey: string): Promise<void> {
  const r = await h.call('POST', `/v1/players/${playerId}/commands`, {
    auth: h.service,
    body: command,
    headers: { 'idempotency-key': idempotencyKey, prefer: 'wait=10' },
  });
  expect(r.body.status).toBe('applied');
}

/** What AWS Backup restore testing does, done here: a new table holding the source's items, named as it names them. */
async function restoredCopy(name: string): Promise<string> {
  const table = `${RESTORE_TEST_TABLE_PREFIX}${name}-${suffix}`;
  await db.send(new CreateTableCommand(createTableInput(table, false)));
  tables.push(table);
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: h.config.tableName,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = out.Items ?? [];
    for (let i = 0; i < items.length; i += 25)
      await db.send(
        new BatchWriteCommand({
          RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    start = out.LastEvaluatedKey;
  } while (start);
  return table;
}

const body = async (req: IncomingMessage): Promise<string> => {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
};

const since = (n: number) => received.slice(n);
const deps = () => ({ config: h.config, db, backup });
const jobId = () => `rj-${randomBytes(4).toString('hex')}`;
const accountArn = (table: string) => `arn:aws:dynamodb:us-east-1:123456789012:table/${table}`;

beforeAll(async () => {
  h = await startApiHarness();
  db = dynamoDbClient(h.config);
  for (const id of players) {
    const r = await h.call('POST', '/v1/players', {
      auth: h.service,
      body: { playerId: id, name: `Restored ${id}` },
      headers: { prefer: 'wait=10' },
    });
    expect(r.body.status).toBe('applied');
    await send(id, { type: 'AddExperience', amount: 130, source: 'quest' }, 'xp');
    await send(id, { type: 'SpendCurrency', currency: 'gold', amount: 15, reason: 'shop' }, 'spend');
  }
  backupApi = createServer((req, res) => {
    void body(req).then((text) => {
      // PutRestoreValidationResult: PUT /restore-jobs/{restoreJobId}/validations (restJson1).
      const m = /^\/restore-jobs\/([^/]+)\/validations$/.exec(req.url ?? '');
      if (req.method !== 'PUT' || !m) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"unknown operation"}');
        return;
      }
      received.push({ restoreJobId: decodeURIComponent(m[1]!), body: JSON.parse(text) });
      if (answer === 204) res.writeHead(204).end();
      else
        res
          .writeHead(answer, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceUnavailableException' })
          .end('{"message":"backup is unavailable"}');
    });
  });
  await new Promise<void>((resolve) => backupApi.listen(0, '127.0.0.1', resolve));
  backup = new BackupClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(backupApi.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  for (const table of tables) await db?.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  backup?.destroy();
  await new Promise<void>((resolve) => (backupApi ? backupApi.close(() => resolve()) : resolve()));
  db?.destroy();
  await h?.stop();
});

describe('restore test validation', () => {
  it('a clean restored copy: VALIDATING, then SUCCESSFUL for the restore job, every player checked', async () => {
    const table = await restoredCopy('clean');
    const restoreJobId = jobId();
    const before = received.length;
    const result = await validateRestore(deps(), { restoreJobId, tableName: table });
    expect(result).toMatchObject({
      status: 'SUCCESSFUL',
      restoreJobId,
      tableName: table,
      entitiesChecked: players.length,
    });
    expect(since(before).map((r) => [r.restoreJobId, r.body.ValidationStatus])).toEqual([
      [restoreJobId, 'VALIDATING'],
      [restoreJobId, 'SUCCESSFUL'],
    ]);
    expect(since(before)[1]!.body.ValidationStatusMessage).toContain('0 for an operator, 0 to isolate');
    // The check ran on the restored table (its run record is there), never on the live one.
    const run = await db.send(new GetCommand({ TableName: table, Key: { pk: `CHECK#${result.checkId}`, sk: 'RUN' } }));
    expect(run.Item?.status).toBe('done');
    const live = await db.send(
      new GetCommand({ TableName: h.config.tableName, Key: { pk: `CHECK#${result.checkId}`, sk: 'RUN' } }),
    );
    expect(live.Item).toBeUndefined();
  });

  it('a damaged restored copy: FAILED, with the finding in the message', async () => {
    const table = await restoredCopy('damaged');
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: 'P#rv-2', sk: 'STATE' },
        UpdateExpression: 'SET #s.gold = :g',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':g': 999_999 },
      }),
    );
    const restoreJobId = jobId();
    const before = received.length;
    const result = await validateRestore(deps(), { restoreJobId, tableName: table });
    expect(result.status).toBe('FAILED');
    const verdict = since(before).at(-1)!;
    expect(verdict).toMatchObject({ restoreJobId, body: { ValidationStatus: 'FAILED' } });
    expect(verdict.body.ValidationStatusMessage).toContain('state-not-fold');
    expect(verdict.body.ValidationStatusMessage).toContain('rv-2');
  });

  it('runs as its Lambda from the EventBridge event, continuing itself across invocations to the same verdict', async () => {
    const table = await restoredCopy('lambda');
    const continuations: { continuation: RestoreTest }[] = [];
    // No time left in any invocation: every invocation does one step of the check, then continues itself.
    const handler = createRestoreValidatorHandler(h.config, {
      db,
      backup,
      reserveMs: Number.MAX_SAFE_INTEGER,
      // Small pages, so the check takes several steps (a step per segment per invocation).
      checkOptions: { segments: 1, scanPage: 3 },
      continueRun: async (input) => {
        continuations.push(input);
      },
    });
    const context = { getRemainingTimeInMillis: () => 900_000, invokedFunctionArn: 'arn:validator' } as Context;
    const restoreJobId = jobId();
    const before = received.length;
    let result = await handler(
      {
        'detail-type': 'Restore Job State Change',
        detail: { restoreJobId, status: 'COMPLETED', resourceType: 'DynamoDB', createdResourceArn: accountArn(table) },
      },
      context,
    );
    for (let i = 0; result.status === 'continuing'; i++) {
      expect(i).toBeLessThan(50);
      result = await handler(continuations.at(-1)!, context);
    }
    expect(result.status).toBe('SUCCESSFUL');
    expect(continuations.length).toBeGreaterThan(0);
    expect(new Set(continuations.map((c) => c.continuation.checkId))).toEqual(new Set([result.checkId]));
    expect(since(before).map((r) => r.body.ValidationStatus)).toEqual(['VALIDATING', 'SUCCESSFUL']);
  });

  it('refuses the live table and tables that are no restore test, and reports nothing', async () => {
    const before = received.length;
    await expect(validateRestore(deps(), { restoreJobId: jobId(), tableName: h.config.tableName })).rejects.toThrow(
      /not a restore test/,
    );
    expect(() =>
      restoreTestOf({ detail: { restoreJobId: 'rj', status: 'COMPLETED', createdResourceArn: 'arn:aws:s3:::bucket' } }),
    ).toThrow(/no DynamoDB table/);
    expect(() => restoreTestOf({ detail: { restoreJobId: 'rj', status: 'FAILED' } })).toThrow(/FAILED/);
    expect(since(before)).toEqual([]);
  });

  it('when AWS Backup refuses the verdict, the validation fails (the platform retries it), not silently', async () => {
    const table = await restoredCopy('unreported');
    answer = 503;
    try {
      await expect(validateRestore(deps(), { restoreJobId: jobId(), tableName: table })).rejects.toThrow();
    } finally {
      answer = 204;
    }
  });
});
