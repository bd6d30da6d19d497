import { createHash } from 'node:crypto';
import type { AttributeDefinition, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SourceKind } from '../engine/envelope.js';
import type { CommandRecord } from './tableLayout.js';

/**
 * The audit (docs/console.md, "Server side"): what any player, service, provider, schedule or operator did,
 * searchable by actor, source kind, entity and time. Its entries are the command records themselves (written in
 * the same transaction as the change, applied or rejected): each carries four small sparse attributes that put it
 * in three keys-plus-listing-fields indexes, and a TTL set at write time from its source kind's retention. No
 * extra item is written; only the index entries are added (one write unit each, below 1 KB).
 */
export const AUDIT_INDEXES = {
  /** `<kind>#<actor>#<shard>`: what one actor did. */
  actor: { name: 'audit-actor', partitionKey: 'auditActor' },
  /** `<kind>#<shard>`: everything one source kind did (the whole audit is every kind's partitions). */
  source: { name: 'audit-source', partitionKey: 'auditSource' },
  /** `<entityType>#<entityId>`: everything done to one player. */
  entity: { name: 'audit-entity', partitionKey: 'auditEntity' },
} as const;
/** The sort key of every audit index: `<decidedAt>#<commandId>`, so a partition reads newest first by time. */
export const AUDIT_SORT_KEY = 'auditAt';

/** What the indexes carry besides their keys: enough to list and filter a page without reading the records. */
export const AUDIT_PROJECTED = [
  'commandId',
  'entityType',
  'entityId',
  'commandType',
  'status',
  'code',
  'version',
  'source',
  'decidedAt',
  'ttl',
] as const;

export type AuditIndex = keyof typeof AUDIT_INDEXES;
export const AUDIT_SOURCE_KINDS = SourceKind.options;

/**
 * Days an audit entry is kept, per source kind (GAMEKEEP_AUDIT_RETENTION_DAYS overrides): players' own commands
 * are the most numerous and the least asked about, operators' actions are kept longest. A record is never kept
 * less than the command records' own retention (the idempotency horizon).
 */
export const DEFAULT_AUDIT_RETENTION_DAYS: Readonly<Record<SourceKind, number>> = {
  client: 30,
  service: 90,
  schedule: 90,
  payment: 400,
  system: 400,
  operator: 3650,
};

export type AuditRetention = Partial<Record<SourceKind, number>>;

/**
 * Write sharding per source kind, so no index partition takes more than DynamoDB's ~1,000 writes/s: a few game
 * servers or one schedule send most commands under one actor; each player is its own actor, and operators are few.
 */
const ACTOR_SHARDS: Readonly<Record<SourceKind, number>> = {
  client: 1,
  service: 8,
  schedule: 8,
  payment: 4,
  system: 1,
  operator: 1,
};
const SOURCE_SHARDS: Readonly<Record<SourceKind, number>> = {
  client: 16,
  service: 8,
  schedule: 8,
  payment: 4,
  system: 1,
  operator: 1,
};

function shardOf(commandId: string, shards: number): number {
  return shards === 1 ? 0 : createHash('sha256').update(commandId).digest().readUInt32BE(0) % shards;
}

const kindOf = (kind: string): SourceKind => (SourceKind.safeParse(kind).success ? (kind as SourceKind) : 'system');

/** The audit attributes of a command record: its index keys and, from its kind's retention, its TTL. */
export function auditAttributes(
  record: Pick<CommandRecord, 'commandId' | 'entityType' | 'entityId' | 'source' | 'decidedAt'>,
  retention: { recordTtl: number; decidedAtSeconds: number; days?: AuditRetention },
): { auditActor: string; auditSource: string; auditEntity: string; auditAt: string; ttl: number } {
  const kind = kindOf(record.source.kind);
  const days = retention.days?.[kind] ?? DEFAULT_AUDIT_RETENTION_DAYS[kind];
  return {
    auditActor: `${kind}#${record.source.actor}#${shardOf(record.commandId, ACTOR_SHARDS[kind])}`,
    auditSource: `${kind}#${shardOf(record.commandId, SOURCE_SHARDS[kind])}`,
    auditEntity: `${record.entityType}#${record.entityId}`,
    auditAt: `${record.decidedAt}#${record.commandId}`,
    ttl: Math.max(retention.recordTtl, retention.decidedAtSeconds + days * 86_400),
  };
}

/** The indexes as CreateTable declares them (the CDK declares the same names, keys and projection). */
export const auditIndexDefinitions: GlobalSecondaryIndex[] = Object.values(AUDIT_INDEXES).map((index) => ({
  IndexName: index.name,
  KeySchema: [
    { AttributeName: index.partitionKey, KeyType: 'HASH' },
    { AttributeName: AUDIT_SORT_KEY, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...AUDIT_PROJECTED] },
}));

export const auditIndexAttributes: AttributeDefinition[] = [
  ...Object.values(AUDIT_INDEXES).map((index) => ({ AttributeName: index.partitionKey, AttributeType: 'S' as const })),
  { AttributeName: AUDIT_SORT_KEY, AttributeType: 'S' },
];

export interface AuditQuery {
  readonly actor?: string;
  readonly source?: SourceKind;
  /** A command type (`BanPlayer`, `CreditPurchase`, …). */
  readonly type?: string;
  readonly playerId?: string;
  /** ISO instants, inclusive. */
  readonly from?: string;
  readonly to?: string;
  /** The `auditAt` of the last entry of the previous page (exclusive). */
  readonly after?: string;
  readonly limit: number;
}

export interface AuditEntry {
  readonly commandId: string;
  readonly commandType: string;
  readonly status: 'applied' | 'rejected';
  readonly code?: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly version?: number;
  readonly source: { readonly kind: string; readonly actor: string };
  readonly decidedAt: string;
  /** The sort key: where the next page starts. */
  readonly auditAt: string;
}

export interface AuditPage {
  readonly items: readonly AuditEntry[];
  /** The `auditAt` to continue after, or null when nothing older matches. */
  readonly next: string | null;
}

/** Index reads one partition may make for one page before the page settles for what is known. */
const MAX_READS_PER_PARTITION = 4;

/**
 * One page of the audit, newest first. It picks the narrowest index (an actor's, else a player's, else the source
 * kinds'), reads each of its partitions newest first down to the cursor and merges them. An entry is returned
 * only when every partition has been read past it, so pages never skip or repeat an entry; an entry past its
 * retention is never returned, even before DynamoDB's TTL deletes it.
 */
export async function auditPage(
  db: DynamoDBDocumentClient,
  tableName: string,
  query: AuditQuery,
  now: Date,
): Promise<AuditPage> {
  const kinds = query.source ? [query.source] : AUDIT_SOURCE_KINDS;
  const names: Record<string, string> = { '#at': AUDIT_SORT_KEY, '#ttl': 'ttl' };
  const values: Record<string, unknown> = { ':now': Math.floor(now.getTime() / 1000) };
  const filters = ['#ttl > :now'];
  let index: AuditIndex;
  let partitions: string[];
  if (query.actor !== undefined) {
    index = 'actor';
    partitions = kinds.flatMap((k) => shards(ACTOR_SHARDS[k]).map((s) => `${k}#${query.actor}#${s}`));
  } else if (query.playerId !== undefined) {
    index = 'entity';
    partitions = [`player#${query.playerId}`];
    if (query.source) {
      names['#source'] = 'source';
      names['#kind'] = 'kind';
      values[':kind'] = query.source;
      filters.push('#source.#kind = :kind');
    }
  } else {
    index = 'source';
    partitions = kinds.flatMap((k) => shards(SOURCE_SHARDS[k]).map((s) => `${k}#${s}`));
  }
  if (query.type !== undefined) {
    names['#type'] = 'commandType';
    values[':type'] = query.type;
    filters.push('#type = :type');
  }
  if (query.playerId !== undefined && index !== 'entity') {
    names['#entityType'] = 'entityType';
    names['#entityId'] = 'entityId';
    values[':entityType'] = 'player';
    values[':entityId'] = query.playerId;
    filters.push('#entityType = :entityType AND #entityId = :entityId');
  }
  const upper = [query.to !== undefined ? `${query.to}#~` : '~', query.after ?? '~'].sort()[0]!;
  values[':lo'] = query.from ?? '0';
  values[':hi'] = upper;
  names['#pk'] = AUDIT_INDEXES[index].partitionKey;

  const read = await Promise.all(
    partitions.map(async (partition) => {
      const found: AuditEntry[] = [];
      let start: Record<string, unknown> | undefined;
      for (let reads = 0; reads < MAX_READS_PER_PARTITION; reads++) {
        const out = await db.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: AUDIT_INDEXES[index].name,
            KeyConditionExpression: '#pk = :pk AND #at BETWEEN :lo AND :hi',
            FilterExpression: filters.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ...values, ':pk': partition },
            ScanIndexForward: false,
            Limit: Math.max(query.limit + 1, 25),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) if (item[AUDIT_SORT_KEY] !== query.after) found.push(entryOf(item));
        start = out.LastEvaluatedKey;
        if (!start || found.length >= query.limit) break;
      }
      // Everything in this partition at or after `frontier` is known; below it, not yet.
      return { found, frontier: start ? String(start[AUDIT_SORT_KEY]) : undefined };
    }),
  );
  const frontiers = read.flatMap((r) => (r.frontier !== undefined ? [r.frontier] : []));
  const boundary = frontiers.length > 0 ? frontiers.sort().at(-1)! : undefined;
  const known = read
    .flatMap((r) => r.found)
    .filter((e) => boundary === undefined || e.auditAt >= boundary)
    .sort((a, b) => (a.auditAt < b.auditAt ? 1 : a.auditAt > b.auditAt ? -1 : 0));
  const items = known.slice(0, query.limit);
  const more = known.length > query.limit || boundary !== undefined;
  const next = !more ? null : items.length === query.limit ? items.at(-1)!.auditAt : (boundary ?? null);
  return { items, next };
}

const shards = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function entryOf(item: Record<string, unknown>): AuditEntry {
  const source = item.source as { kind: string; actor: string };
  return {
    commandId: String(item.commandId),
    commandType: String(item.commandType),
    status: item.status === 'applied' ? 'applied' : 'rejected',
    ...(item.code !== undefined ? { code: String(item.code) } : {}),
    entityType: String(item.entityType),
    entityId: String(item.entityId),
    ...(typeof item.version === 'number' ? { version: item.version } : {}),
    source: { kind: source.kind, actor: source.actor },
    decidedAt: String(item.decidedAt),
    auditAt: String(item[AUDIT_SORT_KEY]),
  };
}
