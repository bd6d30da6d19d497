import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../../shared/clients.js';
import { DEFAULT_AUDIT_RETENTION_DAYS } from '../../../shared/persistence/auditLog.js';
import { commandPk, COMMAND_SK } from '../../../shared/persistence/tableLayout.js';
import { startOperatorGateway, type OperatorGateway } from './operatorGateway.js';

/**
 * The audit (issue 13): every decided command, searchable by actor, source kind, command type, player and time,
 * newest first with a cursor; entries kept per source kind (configurable) and never returned past it.
 */
let g: OperatorGateway;
const wait = { prefer: 'wait=10' };
let middle: string;
const SERVICE_DAYS = 45;

beforeAll(async () => {
  g = await startOperatorGateway({ config: { auditRetentionDays: { service: SERVICE_DAYS } } });
  const applied = async (p: Promise<{ body: any }>) => expect((await p).body.status).toBe('applied');
  for (const [playerId, name] of [
    ['ann', 'Ann'],
    ['bo', 'Bo'],
  ] as const)
    await applied(g.call('service', 'POST', '/v1/players', { body: { playerId, name }, headers: wait }));
  await applied(
    g.call(await g.h.player('ann'), 'POST', '/v1/players/ann/commands', {
      body: { type: 'ConsumeEnergy', amount: 1, reason: 'duel' },
      headers: { 'idempotency-key': 'c-1', ...wait },
    }),
  );
  middle = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await applied(
    g.call('support', 'POST', '/v1/admin/players/ann/adjustments', {
      body: { currency: 'gold', delta: 25, reason: 'refund', ticket: 'S-1' },
      headers: wait,
    }),
  );
  // A rejection is audited too.
  const rejected = await g.call('service', 'POST', '/v1/players/bo/commands', {
    body: { type: 'SpendCurrency', currency: 'gold', amount: 999_999, reason: 'shop' },
    headers: { 'idempotency-key': 'c-2', ...wait },
  });
  expect(rejected.body).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS' });
  await applied(
    g.call('gm', 'POST', '/v1/admin/players/bo/ban', { body: { reason: 'botting', ticket: 'B-1' }, headers: wait }),
  );
});
afterAll(async () => {
  await g?.stop();
});

const audit = async (query: string, who = 'viewer') =>
  (await g.expectAnswer(who, 200, 'GET', `/v1/admin/audit${query}`)).body;
const summary = (items: any[]) => items.map((i) => `${i.source.kind}:${i.source.actor}:${i.commandType}:${i.entityId}`);

describe('GET /v1/admin/audit', () => {
  it('lists every decided command newest first, for every role', async () => {
    for (const who of ['viewer', 'support', 'gm', 'ops', 'admin'] as const) {
      const page = await audit('', who);
      expect(summary(page.items)).toEqual([
        'operator:gm:BanPlayer:bo',
        'service:local-game-server:SpendCurrency:bo',
        'operator:support:AdjustBalance:ann',
        'client:ann:ConsumeEnergy:ann',
        'service:local-game-server:CreatePlayer:bo',
        'service:local-game-server:CreatePlayer:ann',
      ]);
      expect(page.cursor).toBeNull();
    }
  });

  it('filters by actor, source kind, command type, player and time, with the events and rejections', async () => {
    const bySupport = await audit('?actor=support');
    expect(bySupport.items).toEqual([
      expect.objectContaining({
        commandType: 'AdjustBalance',
        status: 'applied',
        entityId: 'ann',
        source: { kind: 'operator', actor: 'support' },
        events: [
          expect.objectContaining({ type: 'BalanceAdjusted', operator: 'support', reason: 'refund', ticket: 'S-1' }),
        ],
      }),
    ]);
    expect(summary((await audit('?source=operator')).items)).toEqual([
      'operator:gm:BanPlayer:bo',
      'operator:support:AdjustBalance:ann',
    ]);
    expect(summary((await audit('?source=client')).items)).toEqual(['client:ann:ConsumeEnergy:ann']);
    expect(summary((await audit('?type=BanPlayer')).items)).toEqual(['operator:gm:BanPlayer:bo']);
    const bo = await audit('?playerId=bo');
    expect(summary(bo.items)).toEqual([
      'operator:gm:BanPlayer:bo',
      'service:local-game-server:SpendCurrency:bo',
      'service:local-game-server:CreatePlayer:bo',
    ]);
    expect(bo.items[1]).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS' });
    expect(bo.items[1].events).toBeUndefined();
    expect(summary((await audit('?playerId=bo&source=service&type=CreatePlayer')).items)).toEqual([
      'service:local-game-server:CreatePlayer:bo',
    ]);
    expect(summary((await audit('?actor=local-game-server&playerId=ann')).items)).toEqual([
      'service:local-game-server:CreatePlayer:ann',
    ]);
    expect(summary((await audit(`?to=${encodeURIComponent(middle)}`)).items)).toEqual([
      'client:ann:ConsumeEnergy:ann',
      'service:local-game-server:CreatePlayer:bo',
      'service:local-game-server:CreatePlayer:ann',
    ]);
    expect(summary((await audit(`?from=${encodeURIComponent(middle)}&source=operator&actor=gm`)).items)).toEqual([
      'operator:gm:BanPlayer:bo',
    ]);
    expect((await audit('?actor=nobody')).items).toEqual([]);
  });

  it('pages with a cursor: every entry exactly once, in order', async () => {
    const all = summary((await audit('')).items);
    for (const query of ['?limit=1', '?limit=2&source=service', '?limit=1&playerId=ann']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const page: any = await audit(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...summary(page.items));
        cursor = page.cursor;
        if (cursor === null) break;
      }
      expect({ query, cursor }).toEqual({ query, cursor: null });
      const full = summary((await audit(query.replace(/limit=\d/, 'limit=100'))).items);
      expect({ query, seen }).toEqual({ query, seen: full });
      expect(full.every((e) => all.includes(e))).toBe(true);
    }
  });

  it('keeps each entry for its source kind’s retention (configurable), and never returns one past it', async () => {
    const db = dynamoDbClient(g.h.config);
    try {
      const ttlOf = async (commandId: string) => {
        const record = await g.h.store.commandRecord(commandId);
        return { days: Math.round((record!.ttl - Date.parse(record!.decidedAt) / 1000) / 86_400) };
      };
      const [ban] = (await audit('?type=BanPlayer')).items;
      const [spend] = (await audit('?type=SpendCurrency')).items;
      const [used] = (await audit('?source=client')).items;
      expect(await ttlOf(ban.commandId)).toEqual({ days: DEFAULT_AUDIT_RETENTION_DAYS.operator });
      expect(await ttlOf(spend.commandId)).toEqual({ days: SERVICE_DAYS });
      expect(await ttlOf(used.commandId)).toEqual({ days: DEFAULT_AUDIT_RETENTION_DAYS.client });
      // Past its retention (DynamoDB's TTL deletes within days, not at once): gone from the audit at once.
      await db.send(
        new UpdateCommand({
          TableName: g.h.config.tableName,
          Key: { pk: commandPk(spend.commandId), sk: COMMAND_SK },
          UpdateExpression: 'SET #ttl = :past',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
        }),
      );
      expect(summary((await audit('?playerId=bo')).items)).toEqual([
        'operator:gm:BanPlayer:bo',
        'service:local-game-server:CreatePlayer:bo',
      ]);
      expect((await audit('?type=SpendCurrency')).items).toEqual([]);
    } finally {
      db.destroy();
    }
  });

  it('refuses non-operators and bad input with nothing written', async () => {
    await g.expectAnswer('service', 403, 'GET', '/v1/admin/audit');
    await g.expectAnswer(await g.h.player('ann'), 403, 'GET', '/v1/admin/audit?playerId=ann');
    await g.expectAnswer('', 401, 'GET', '/v1/admin/audit');
    for (const query of [
      '?source=martian',
      '?from=yesterday',
      `?from=${encodeURIComponent(new Date().toISOString())}&to=${encodeURIComponent(middle)}`,
      '?cursor=bm90LWEtY3Vyc29y',
      '?limit=0',
      '?limit=101',
      '?actor=%23pk',
      '?color=red',
    ])
      await g.expectAnswer('viewer', 400, 'GET', `/v1/admin/audit${query}`);
  });
});
