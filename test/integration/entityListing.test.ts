import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProvisionedResources } from '../../local/stack.js';
import { CommandProcessor } from '../../shared/engine/commandProcessor.js';
import { EntityRegistry } from '../../shared/engine/registry.js';
import { accept } from '../../shared/engine/decision.js';
import { defineEntityType } from '../../shared/engine/entityType.js';
import { commandEnvelope } from '../../shared/engine/envelope.js';
import { listEntityIds, type ListEntityIdsOptions } from '../../shared/engine/queries.js';
import { player } from '../../shared/domain/player/index.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { eventStore } from '../../shared/gamekeep.js';
import { ENTITY_INDEX } from '../../shared/persistence/tableDefinition.js';
import { provisionTestStack } from '../support/stack.js';
import { playerCommand, sqsRecord } from '../support/pipeline.js';

/** A second entity type whose entities must never be listed as players (and the other way round). */
const banner = defineEntityType<{ raised: boolean }, { type: 'Raise' }, { type: 'Raised' }, null>({
  name: 'banner',
  keyPrefix: 'B',
  idPattern: /^[a-z0-9-]{1,32}$/,
  commandSchema: z.strictObject({ type: z.literal('Raise') }),
  config: null,
  initialState: () => ({ raised: false }),
  decide: () => accept([{ type: 'Raised' }]),
  evolve: () => ({ raised: true }),
});

const PLAYERS = Array.from({ length: 150 }, (_, i) => `lp-${String(i).padStart(3, '0')}`);
const BANNERS = Array.from({ length: 12 }, (_, i) => `banner-${i}`);
let stack: ProvisionedResources;

/** Every request the client sends, and the ScannedCount of every answer: what listing costs. */
interface Traffic {
  readonly commands: string[];
  scanned: number;
}

function counted(db: DynamoDBDocumentClient): { db: DynamoDBDocumentClient; traffic: Traffic } {
  const traffic: Traffic = { commands: [], scanned: 0 };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      traffic.commands.push(
        `${String(context.commandName)}${(args.input as { IndexName?: string }).IndexName ? `@${(args.input as { IndexName?: string }).IndexName}` : ''}`,
      );
      const out = await next(args);
      traffic.scanned += Number((out.output as { ScannedCount?: number }).ScannedCount ?? 0);
      return out;
    },
    { step: 'initialize', name: 'countListingTraffic' },
  );
  return { db, traffic };
}

/** Every page of every segment, each segment walked on its own as a parallel worker would. */
async function listAll(
  db: DynamoDBDocumentClient,
  type: typeof player | typeof banner,
  options: Omit<ListEntityIdsOptions, 'segment' | 'pageToken'>,
): Promise<{ ids: string[]; pages: number }> {
  const segments = options.segments ?? 1;
  const perSegment = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const ids: string[] = [];
      let pages = 0;
      let pageToken: string | undefined;
      do {
        const page = await listEntityIds({ db, tableName: stack.config.tableName }, type, {
          ...options,
          segment,
          ...(pageToken ? { pageToken } : {}),
        });
        expect(page.entityIds.length).toBeLessThanOrEqual(options.limit ?? 1000);
        ids.push(...page.entityIds);
        pages++;
        pageToken = page.nextPageToken;
      } while (pageToken);
      return { ids, pages };
    }),
  );
  return { ids: perSegment.flatMap((s) => s.ids), pages: perSegment.reduce((n, s) => n + s.pages, 0) };
}

beforeAll(async () => {
  stack = await provisionTestStack();
  const processor = new CommandProcessor({
    store: eventStore(stack.config),
    registry: new EntityRegistry([player, banner]),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    commandRecordDays: 14,
    maxCommitAttempts: 8,
  });
  // Players with histories, command records and claims (names, reward tasks): far more items than players.
  const commands = PLAYERS.flatMap((id) => [
    playerCommand(id, { type: 'CreatePlayer', name: `Lister ${id}` }),
    playerCommand(id, { type: 'AddExperience', amount: 50, source: 'quest' }),
    playerCommand(id, { type: 'GrantReward', taskId: 'daily:2026-11-24', gold: 10 }),
    playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 1, reason: 'shop' }),
  ]);
  for (let i = 0; i < commands.length; i += 10) {
    const report = await processor.processBatch(commands.slice(i, i + 10).map((e) => sqsRecord(e)));
    expect(report.batchItemFailures).toEqual([]);
  }
  const raise = BANNERS.map((id) =>
    commandEnvelope({
      entityType: 'banner',
      entityId: id,
      command: { type: 'Raise' },
      source: { kind: 'service', actor: 'test' },
      identity: ['test', id],
      issuedAt: new Date(),
    }),
  );
  expect((await processor.processBatch(raise.slice(0, 10).map((e) => sqsRecord(e)))).batchItemFailures).toEqual([]);
  expect((await processor.processBatch(raise.slice(10).map((e) => sqsRecord(e)))).batchItemFailures).toEqual([]);
});

describe('listing the entities of a type', () => {
  it.each([
    { segments: 1, limit: 1000 },
    { segments: 1, limit: 7 },
    { segments: 4, limit: 11 },
    { segments: 16, limit: 3 },
    { segments: 5, limit: 1 },
  ])('lists every player exactly once and nothing else ($segments segments, pages of $limit)', async (options) => {
    const { db } = counted(dynamoDbClient(stack.config));
    try {
      const { ids, pages } = await listAll(db, player, options);
      expect(ids.length).toBe(PLAYERS.length); // no duplicates across segments and pages...
      expect([...ids].sort()).toEqual(PLAYERS); // ...and none missing, no banner, no other item
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(PLAYERS.length / options.limit));
    } finally {
      db.destroy();
    }
  });

  it('lists another type from its own shards only', async () => {
    const db = dynamoDbClient(stack.config);
    try {
      const { ids } = await listAll(db, banner, { segments: 3, limit: 5 });
      expect([...ids].sort()).toEqual([...BANNERS].sort());
    } finally {
      db.destroy();
    }
  });

  it('reads the index only: no Scan, and one index entry per player, while the table holds many more items', async () => {
    const { db, traffic } = counted(dynamoDbClient(stack.config));
    let tableItems = 0;
    try {
      await listAll(db, player, { segments: 4, limit: 40 });
      expect(traffic.commands.every((c) => c === `QueryCommand@${ENTITY_INDEX.name}`)).toBe(true);
      expect(traffic.scanned).toBe(PLAYERS.length);
      // What a Scan would have read instead (counted here, by the test, after the listing).
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new ScanCommand({
            TableName: stack.config.tableName,
            Select: 'COUNT',
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        tableItems += out.ScannedCount ?? 0;
        start = out.LastEvaluatedKey;
      } while (start);
    } finally {
      db.destroy();
    }
    expect(tableItems).toBeGreaterThan(8 * PLAYERS.length);
  });

  it('refuses a page token of another listing, and bad segments', async () => {
    const db = dynamoDbClient(stack.config);
    const table = { db, tableName: stack.config.tableName };
    try {
      const first = await listEntityIds(table, player, { segment: 0, segments: 2, limit: 2 });
      expect(first.nextPageToken).toBeDefined();
      await expect(
        listEntityIds(table, player, { segment: 1, segments: 2, pageToken: first.nextPageToken! }),
      ).rejects.toThrow(RangeError);
      await expect(
        listEntityIds(table, banner, { segment: 0, segments: 2, pageToken: first.nextPageToken! }),
      ).rejects.toThrow(RangeError);
      await expect(listEntityIds(table, player, { pageToken: 'not-a-token' })).rejects.toThrow(RangeError);
      await expect(listEntityIds(table, player, { segments: 17 })).rejects.toThrow(RangeError);
      await expect(listEntityIds(table, player, { segment: 2, segments: 2 })).rejects.toThrow(RangeError);
      // The same token continues the same listing.
      const second = await listEntityIds(table, player, {
        segment: 0,
        segments: 2,
        limit: 2,
        pageToken: first.nextPageToken!,
      });
      expect(second.entityIds.some((id) => first.entityIds.includes(id))).toBe(false);
    } finally {
      db.destroy();
    }
  });
});
