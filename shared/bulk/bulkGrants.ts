import { createHash } from 'node:crypto';
import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Currency } from '../domain/player/index.js';
import { player } from '../domain/player/index.js';
import type { OperatorApproval } from '../domain/player/commandSchemas.js';
import { commandEnvelope, type CommandEnvelope } from '../engine/envelope.js';
import { listEntityIds } from '../engine/queries.js';
import type { CommandQueue } from '../messaging/commandQueue.js';
import { conditional, readCheckpoint, type Checkpoint, type RunPhase } from '../fanout/checkpoint.js';
import { runFanOut, type FanOutOptions, type FanOutResult, type Outcome } from '../fanout/fanOut.js';
import { activeOn } from './activePlayers.js';

/**
 * Bulk grants (incident compensation): one grant to a list of players or to every player active on a day, run as
 * a resumable fan-out (shared/fanout/fanOut.ts) whose commands are idempotent per (operation, player): the
 * command id derives from [bulk grant, player] and the engine's BULK claim grants once for 400 days. Items:
 *
 * - `BULK#<id>` / `BULK`: what was asked, by whom, why, its status (pending-approval, running, done, declined);
 * - `BULK#<id>` / `IDS#<payload>#<page>`: the listed players, in pages of IDS_PER_PAGE;
 * - `BULK#<id>` / `RUN`: the fan-out's checkpoint, with the counters sent, confirmed, granted, skipped, failed;
 * - `BULK#<id>` / `OUT#<playerId>`: each player skipped or failed, with the rejection;
 * - `BULKGRANTS` / `<requestedAt>#<id>`: the listing, newest first.
 */
export type Grant =
  | { readonly currency: Currency; readonly amount: number }
  | { readonly item: string; readonly quantity: number };

export type Target = { readonly players: readonly string[] } | { readonly activeOn: string };

export type BulkGrantStatus = 'pending-approval' | 'running' | 'done' | 'declined';

export interface BulkGrantRecord {
  readonly bulkGrantId: string;
  readonly status: BulkGrantStatus;
  /** How many players were listed, or the day whose active players get it. */
  readonly target: { readonly players: number } | { readonly activeOn: string };
  readonly grant: Grant;
  readonly reason: string;
  readonly ticket: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly payloadHash: string;
  /** Pages of listed players (0 for activeOn) and the segments the run lists them in. */
  readonly pages: number;
  readonly segments: number;
  readonly approvalId?: string;
  readonly approval?: OperatorApproval;
  readonly finishedAt?: string;
}

export interface BulkTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

export interface BulkGrantDeps extends BulkTable {
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export const IDS_PER_PAGE = 500;
/** Rejections that mean "not this player's": counted as skipped; every other rejection is a failure. */
const SKIPPED = new Set(['PLAYER_NOT_FOUND', 'PLAYER_BANNED']);

const recordKey = (id: string) => ({ pk: `BULK#${id}`, sk: 'BULK' });
const runKey = (id: string) => ({ pk: `BULK#${id}`, sk: 'RUN' });
const idsKey = (id: string, hash: string, page: number) => ({
  pk: `BULK#${id}`,
  sk: `IDS#${hash.slice(0, 16)}#${String(page).padStart(5, '0')}`,
});
const OUT_PREFIX = 'OUT#';

export function bulkGrantIdOf(requestedBy: string, key: string): string {
  return `bg-${createHash('sha256')
    .update(JSON.stringify([requestedBy, key]))
    .digest('hex')
    .slice(0, 32)}`;
}

export function payloadHashOf(target: Target, grant: Grant, reason: string, ticket: string): string {
  return createHash('sha256').update(JSON.stringify({ target, grant, reason, ticket })).digest('hex');
}

/**
 * Stores a bulk grant (its players first, then its record), or returns the one stored under its id already.
 * The record's pages are keyed by the payload's hash, so another payload under the same id never overwrites them.
 */
export async function createBulkGrant(
  table: BulkTable,
  input: Omit<BulkGrantRecord, 'pages' | 'segments' | 'target'> & { readonly target: Target },
): Promise<BulkGrantRecord> {
  const existing = await readBulkGrant(table, input.bulkGrantId);
  if (existing) return existing;
  const players = 'players' in input.target ? input.target.players : undefined;
  const pages = players ? Math.ceil(players.length / IDS_PER_PAGE) : 0;
  if (players) {
    const items = Array.from({ length: pages }, (_, p) => ({
      ...idsKey(input.bulkGrantId, input.payloadHash, p),
      ids: players.slice(p * IDS_PER_PAGE, (p + 1) * IDS_PER_PAGE),
    }));
    for (let i = 0; i < items.length; i += 25) await writeAll(table, items.slice(i, i + 25));
  }
  const record: BulkGrantRecord = {
    ...input,
    target: players ? { players: players.length } : { activeOn: (input.target as { activeOn: string }).activeOn },
    pages,
    segments: players ? Math.max(1, Math.min(4, pages)) : 4,
  };
  const created = await conditional(() =>
    table.db
      .send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table.tableName,
                Item: { ...recordKey(record.bulkGrantId), ...record },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table.tableName,
                Item: {
                  pk: 'BULKGRANTS',
                  sk: `${record.requestedAt}#${record.bulkGrantId}`,
                  bulkGrantId: record.bulkGrantId,
                },
              },
            },
          ],
        }),
      )
      .catch((error: unknown) => {
        if ((error as Error).name === 'TransactionCanceledException')
          throw Object.assign(new Error('exists'), { name: 'ConditionalCheckFailedException' });
        throw error;
      }),
  );
  return created ? record : ((await readBulkGrant(table, record.bulkGrantId)) ?? record);
}

async function writeAll(table: BulkTable, items: readonly Record<string, unknown>[]): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  while (pending.length > 0) {
    const out = await table.db.send(new BatchWriteCommand({ RequestItems: { [table.tableName]: pending } }));
    pending = (out.UnprocessedItems?.[table.tableName] ?? []) as typeof pending;
  }
}

export async function readBulkGrant(table: BulkTable, bulkGrantId: string): Promise<BulkGrantRecord | undefined> {
  const out = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: recordKey(bulkGrantId), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, ...record } = out.Item;
  return record as BulkGrantRecord;
}

/** Moves a bulk grant waiting for approval to running (with the approval) or declined; false if it was not waiting. */
export async function settleApproval(
  table: BulkTable,
  bulkGrantId: string,
  decision: { status: 'running'; approval: OperatorApproval } | { status: 'declined' },
): Promise<boolean> {
  return conditional(() =>
    table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: recordKey(bulkGrantId),
        UpdateExpression: `SET #status = :status${decision.status === 'running' ? ', approval = :approval' : ''}`,
        ConditionExpression: '#status = :waiting',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': decision.status,
          ':waiting': 'pending-approval',
          ...(decision.status === 'running' ? { ':approval': decision.approval } : {}),
        },
      }),
    ),
  );
}

export interface BulkGrantRun extends FanOutResult {
  readonly bulkGrantId: string;
}

/**
 * Works on a running bulk grant until it is done (every player's grant has an outcome) or the time budget runs
 * low (`continue`: invoke again; it resumes at its checkpoint). A grant not running yet (awaiting approval,
 * declined) is left alone.
 */
export async function runBulkGrant(
  deps: BulkGrantDeps,
  bulkGrantId: string,
  remainingMs: () => number,
  options: FanOutOptions = {},
): Promise<BulkGrantRun> {
  const record = await readBulkGrant(deps, bulkGrantId);
  if (!record || (record.status !== 'running' && record.status !== 'done'))
    throw new Error(`bulk grant ${bulkGrantId} is not running`);
  const result = await runFanOut(
    deps,
    {
      key: runKey(bulkGrantId),
      segments: record.segments,
      initial: { bulkGrantId, sent: 0, confirmed: 0, granted: 0, skipped: 0, failed: 0 },
      sentCounter: 'sent',
      list: (segment, segments, cursor, limit) => listPlayers(deps, record, segment, segments, cursor, limit),
      command: (playerId, now) => grantCommand(record, playerId, now),
      confirmed: (outcomes) => tallyOutcomes(deps, bulkGrantId, outcomes),
    },
    remainingMs,
    { pageSize: 200, ...options },
  );
  if (result.status === 'done' && record.status === 'running')
    await conditional(() =>
      deps.db.send(
        new UpdateCommand({
          TableName: deps.tableName,
          Key: recordKey(bulkGrantId),
          UpdateExpression: 'SET #status = :done, finishedAt = :at',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':done': 'done', ':running': 'running', ':at': deps.now().toISOString() },
        }),
      ),
    );
  return { bulkGrantId, ...result };
}

/** The players of one page of one segment: a stored page of the list, or the active ones of an entity index page. */
async function listPlayers(
  table: BulkTable,
  record: BulkGrantRecord,
  segment: number,
  segments: number,
  cursor: string | undefined,
  limit: number,
): Promise<{ ids: readonly string[]; next?: string }> {
  if ('activeOn' in record.target) {
    const page = await listEntityIds(table, player, {
      segment,
      segments,
      limit,
      ...(cursor ? { pageToken: cursor } : {}),
    });
    const ids = await activeOn(table, page.entityIds, record.target.activeOn);
    return { ids, ...(page.nextPageToken ? { next: page.nextPageToken } : {}) };
  }
  // A stored page is read `limit` ids at a time: the cursor is `<page>:<offset>`.
  const [page, offset] = cursor === undefined ? [segment, 0] : (cursor.split(':').map(Number) as [number, number]);
  if (page >= record.pages) return { ids: [] };
  const out = await table.db.send(
    new GetCommand({
      TableName: table.tableName,
      Key: idsKey(record.bulkGrantId, record.payloadHash, page),
      ConsistentRead: true,
    }),
  );
  const stored = (out.Item?.ids as string[] | undefined) ?? [];
  const ids = stored.slice(offset, offset + limit);
  if (offset + limit < stored.length) return { ids, next: `${page}:${offset + limit}` };
  const next = page + segments;
  return { ids, ...(next < record.pages ? { next: `${next}:0` } : {}) };
}

/** One player's part: an AdjustBalance or AdjustInventory naming the operator, the reason, the ticket and the grant. */
export function grantCommand(record: BulkGrantRecord, playerId: string, now: Date): CommandEnvelope {
  const trail = {
    operator: record.requestedBy,
    reason: record.reason,
    ticket: record.ticket,
    bulkGrantId: record.bulkGrantId,
    ...(record.approval ? { approval: record.approval } : {}),
  };
  const command =
    'currency' in record.grant
      ? { type: 'AdjustBalance', currency: record.grant.currency, delta: record.grant.amount, ...trail }
      : { type: 'AdjustInventory', itemId: record.grant.item, delta: record.grant.quantity, ...trail };
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command,
    source: { kind: 'operator', actor: record.requestedBy },
    identity: ['operator', 'bulk-grant', record.bulkGrantId, playerId],
    issuedAt: now,
  });
}

/** A confirmed page's outcomes: skipped and failed players are written down (idempotent puts), all are counted. */
async function tallyOutcomes(
  table: BulkTable,
  bulkGrantId: string,
  outcomes: readonly Outcome[],
): Promise<Record<string, number>> {
  const counts = { granted: 0, skipped: 0, failed: 0 };
  const notes: Record<string, unknown>[] = [];
  for (const { envelope, record } of outcomes) {
    // A grant the BULK claim already holds was granted (under another command id, by an older listing).
    if (record.status === 'applied' || record.code === 'BULK_GRANT_ALREADY_APPLIED') {
      counts.granted++;
      continue;
    }
    const outcome = SKIPPED.has(record.code ?? '') ? 'skipped' : 'failed';
    counts[outcome]++;
    notes.push({
      pk: `BULK#${bulkGrantId}`,
      sk: `${OUT_PREFIX}${envelope.entityId}`,
      playerId: envelope.entityId,
      outcome,
      code: record.code ?? 'REJECTED',
      message: record.message ?? '',
    });
  }
  for (let i = 0; i < notes.length; i += 25) await writeAll(table, notes.slice(i, i + 25));
  return counts;
}

export interface PlayerNote {
  readonly playerId: string;
  readonly outcome: 'skipped' | 'failed';
  readonly code: string;
  readonly message: string;
}

/** The skipped and failed players of a bulk grant (at most `limit`), and whether there are more. */
export async function bulkGrantNotes(
  table: BulkTable,
  bulkGrantId: string,
  limit = 1000,
): Promise<{ notes: PlayerNote[]; truncated: boolean }> {
  const notes: PlayerNote[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :out)',
        ExpressionAttributeValues: { ':pk': `BULK#${bulkGrantId}`, ':out': OUT_PREFIX },
        ConsistentRead: true,
        Limit: limit - notes.length,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const i of out.Items ?? [])
      notes.push({ playerId: i.playerId, outcome: i.outcome, code: i.code, message: i.message } as PlayerNote);
    start = out.LastEvaluatedKey;
  } while (start && notes.length < limit);
  return { notes, truncated: start !== undefined };
}

export interface BulkGrantProgress {
  readonly phase: RunPhase | 'not-started';
  /** Players listed (null for activeOn until every one was listed once). */
  readonly total: number | null;
  readonly sent: number;
  readonly granted: number;
  readonly skipped: number;
  readonly failed: number;
}

export async function bulkGrantProgress(table: BulkTable, record: BulkGrantRecord): Promise<BulkGrantProgress> {
  const checkpoint: Checkpoint | undefined = await readCheckpoint(table, runKey(record.bulkGrantId));
  const n = (name: string) => Number(checkpoint?.[name] ?? 0);
  const phase = checkpoint?.phase ?? 'not-started';
  const listedOnce = phase === 'confirm' || phase === 'done';
  return {
    phase,
    total: 'players' in record.target ? record.target.players : listedOnce ? n('sent') : null,
    sent: n('sent'),
    granted: n('granted'),
    skipped: n('skipped'),
    failed: n('failed'),
  };
}

/** One page of bulk grants, newest first. */
export async function listBulkGrants(
  table: BulkTable,
  limit: number,
  cursor: string | undefined,
): Promise<{ items: BulkGrantRecord[]; next: string | null }> {
  const out = await table.db.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'BULKGRANTS' },
      ScanIndexForward: false,
      Limit: limit,
      ConsistentRead: true,
      ...(cursor ? { ExclusiveStartKey: { pk: 'BULKGRANTS', sk: cursor } } : {}),
    }),
  );
  const items = await Promise.all((out.Items ?? []).map((i) => readBulkGrant(table, String(i.bulkGrantId))));
  return {
    items: items.filter((i): i is BulkGrantRecord => i !== undefined),
    next: out.LastEvaluatedKey ? String(out.LastEvaluatedKey.sk) : null,
  };
}
