import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventStore } from '../persistence/eventStore.js';
import { keyString } from '../persistence/eventStore.js';
import { auditPage, type AuditEntry } from '../persistence/auditLog.js';
import { entityPk, eventSk, type EventItem, type Key } from '../persistence/tableLayout.js';
import { player } from '../domain/player/index.js';
import { parseQuery } from './input.js';
import type { Caller } from './caller.js';
import { badRequest, json } from './errors.js';
import { requirePermission } from './operatorRoles.js';
import { auditQuery } from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

export interface AuditDeps {
  readonly db: DynamoDBDocumentClient;
  readonly store: EventStore;
  readonly tableName: string;
  readonly now: () => Date;
}

const AUDIT_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#c[0-9a-f]{40}$/;

/**
 * GET /v1/admin/audit?actor=&source=&type=&playerId=&from=&to=&cursor=&limit=: what players, services, providers,
 * schedules and operators did (every decided command, applied or rejected), newest first, with the events each
 * applied command committed. `cursor` continues where the last page stopped; null means nothing older matches.
 */
export async function getAudit(deps: AuditDeps, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'audit.read');
  const q = parseQuery(event, auditQuery);
  const from = q.from !== undefined ? new Date(q.from).toISOString() : undefined;
  const to = q.to !== undefined ? new Date(q.to).toISOString() : undefined;
  if (from !== undefined && to !== undefined && from > to)
    throw badRequest('INVALID_REQUEST', 'query.from: must not be after query.to');
  let after: string | undefined;
  if (q.cursor !== undefined) {
    after = Buffer.from(q.cursor, 'base64url').toString('utf8');
    if (!AUDIT_AT.test(after)) throw badRequest('INVALID_REQUEST', 'query.cursor: is not an audit cursor');
  }
  const page = await auditPage(
    deps.db,
    deps.tableName,
    {
      ...(q.actor !== undefined ? { actor: q.actor } : {}),
      ...(q.source !== undefined ? { source: q.source } : {}),
      ...(q.type !== undefined ? { type: q.type } : {}),
      ...(q.playerId !== undefined ? { playerId: q.playerId } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(after !== undefined ? { after } : {}),
      limit: q.limit ?? 50,
    },
    deps.now(),
  );
  const events = await eventsOf(deps.store, page.items);
  return json(200, {
    items: page.items.map(({ auditAt: _at, ...entry }) => {
      const committed = events.get(eventKey(entry));
      return committed ? { ...entry, events: committed } : entry;
    }),
    cursor: page.next === null ? null : Buffer.from(page.next, 'utf8').toString('base64url'),
  });
}

/** The event items of the page's applied player commands, read in one batch (operators' pages are small). */
async function eventsOf(store: EventStore, entries: readonly AuditEntry[]): Promise<Map<string, unknown[]>> {
  const keys = entries.flatMap((e) => {
    const key = eventKey(e);
    return key ? [key] : [];
  });
  const found = await store.getMany(keys.map((k) => JSON.parse(k) as Key));
  const events = new Map<string, unknown[]>();
  for (const k of keys) {
    const item = found.get(keyString(JSON.parse(k) as Key)) as EventItem | undefined;
    if (item) events.set(k, [...item.events]);
  }
  return events;
}

function eventKey(e: Pick<AuditEntry, 'status' | 'entityType' | 'entityId' | 'version'>): string {
  if (e.status !== 'applied' || e.entityType !== player.name || e.version === undefined) return '';
  return JSON.stringify({ pk: entityPk(player.keyPrefix, e.entityId), sk: eventSk(e.version) });
}
