import { randomUUID } from 'node:crypto';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { AnyEntityType } from '../engine/entityType.js';
import type { EntityRegistry } from '../engine/registry.js';
import { claimItemSchema, commandRecordSchema } from '../persistence/itemSchemas.js';
import { EventStore } from '../persistence/eventStore.js';
import { COMMAND_SK, commandPk, entityPk, eventSk, type CommandRecord } from '../persistence/tableLayout.js';
import { checkEntity, type EntityCheck } from './entityCheck.js';
import type { Finding, RepairDone } from './findings.js';

/** Where a check reads and, for `--repair`, what re-derives the read side of one entity. */
export interface CheckDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly registry: EntityRegistry;
  /** The read-side checks of one entity (cached view, leaderboards), when a read side exists. */
  readonly projections?: ProjectionChecks;
  /** Writes a snapshot again from the fold (the safe repair of a corrupt or missing one). */
  readonly rewriteSnapshot?: (type: AnyEntityType, entityId: string, version: number) => Promise<void>;
  readonly now: () => Date;
}

export interface ProjectionChecks {
  /** Findings about what the read side holds of these entities, against their checked state. */
  check(
    type: AnyEntityType,
    checks: readonly (EntityCheck & { readonly items: readonly Record<string, unknown>[] })[],
  ): Promise<Finding[]>;
  /** Re-derives one entity's read side from the table. */
  reproject(entityId: string): Promise<void>;
}

export interface CheckOptions {
  /** Check a random share of the entities (0 < sample ≤ 1; seed 004's 抽样验证); 1 is every entity. */
  readonly sample?: number;
  /** Apply the safe class of findings and record what was done. */
  readonly repair?: boolean;
  /** Parallel segments of the entity listing (1-16). */
  readonly segments?: number;
  /** Items per Scan page (1-1000, default 1000): a step checks the partitions one page holds. */
  readonly scanPage?: number;
}

export type CheckStatus = 'running' | 'done';

/** A check's state and report, in the table under `CHECK#<checkId>` / `RUN`: it survives invocations. */
export interface CheckReport {
  readonly checkId: string;
  readonly status: CheckStatus;
  readonly options: Required<CheckOptions>;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly entitiesChecked: number;
  readonly claimsChecked: number;
  readonly counts: { readonly safe: number; readonly operator: number; readonly isolate: number };
  /** The first findings (at most MAX_LISTED); `counts` has them all. */
  readonly findings: readonly Finding[];
  readonly repairs: readonly RepairDone[];
  /** Per segment: the listing's page token ('' at the start, `#done` at the end), then the claims scan's. */
  readonly cursors: Readonly<Record<string, string>>;
}

const MAX_LISTED = 300;
const SCAN_PAGE = 1000;
const DONE = '#done';
const CONCURRENCY = 16;
const runKey = (checkId: string) => ({ pk: `CHECK#${checkId}`, sk: 'RUN' });
const CHECK_ID = /^k[0-9a-f]{32}$/;

export const isCheckId = (id: string): boolean => CHECK_ID.test(id);

/** Opens a check: its record, with a cursor per segment of every entity type and of the claims scan. */
export async function openCheck(deps: CheckDeps, options: CheckOptions = {}): Promise<CheckReport> {
  const segments = options.segments ?? 4;
  if (!Number.isInteger(segments) || segments < 1 || segments > 16) throw new RangeError('segments must be 1-16');
  const sample = options.sample ?? 1;
  if (!(sample > 0 && sample <= 1)) throw new RangeError('sample must be in (0, 1]');
  const scanPage = options.scanPage ?? SCAN_PAGE;
  if (!Number.isInteger(scanPage) || scanPage < 1 || scanPage > 1000) throw new RangeError('scanPage must be 1-1000');
  // One parallel Scan reads every item once: a partition's items come together, so an entity is checked whole. A
  // sample is `segments` segments picked at random out of segments / sample: a random share of the partitions.
  const totalSegments = Math.min(1_000_000, Math.max(segments, Math.round(segments / sample)));
  const picked = new Set<number>();
  while (picked.size < segments) picked.add(Math.floor(Math.random() * totalSegments));
  const cursors: Record<string, string> = {};
  for (const s of [...picked].sort((x, y) => x - y)) cursors[`scan:${s}/${totalSegments}`] = '';
  const report: CheckReport = {
    checkId: `k${randomUUID().replaceAll('-', '')}`,
    status: 'running',
    options: { sample, repair: options.repair ?? false, segments, scanPage: options.scanPage ?? SCAN_PAGE },
    startedAt: deps.now().toISOString(),
    entitiesChecked: 0,
    claimsChecked: 0,
    counts: { safe: 0, operator: 0, isolate: 0 },
    findings: [],
    repairs: [],
    cursors,
  };
  await deps.db.send(
    new PutCommand({
      TableName: deps.tableName,
      Item: { ...runKey(report.checkId), ...report, ttl: Math.floor(Date.now() / 1000) + 30 * 86_400 },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  return report;
}

export async function checkReport(
  deps: Pick<CheckDeps, 'db' | 'tableName'>,
  checkId: string,
): Promise<CheckReport | undefined> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: runKey(checkId), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, ttl: _ttl, ...report } = out.Item;
  return report as CheckReport;
}

/**
 * Works on a check until it is done or `timeLeft()` runs low, every segment in parallel, a page at a time: each
 * page's findings, repairs and cursor are recorded together, so a run that dies repeats at most a page.
 */
export async function continueCheck(
  deps: CheckDeps,
  checkId: string,
  timeLeft: () => number = () => Number.POSITIVE_INFINITY,
): Promise<CheckReport> {
  const report = await checkReport(deps, checkId);
  if (!report) throw new Error(`no check ${checkId}`);
  if (report.status === 'done') return report;
  const open = Object.entries(report.cursors).filter(([, c]) => c !== DONE);
  await Promise.all(
    open.map(async ([segmentKey, start]) => {
      let cursor: string | undefined = start;
      // At least one step per invocation, however little time is left: a check always moves on.
      for (let steps = 0; cursor !== undefined && (steps === 0 || timeLeft() > 0); steps++) {
        const step = await checkStep(deps, report, segmentKey, cursor);
        await record(deps, checkId, segmentKey, step);
        cursor = step.next;
      }
    }),
  );
  const after = (await checkReport(deps, checkId))!;
  if (Object.values(after.cursors).every((c) => c === DONE)) {
    await deps.db
      .send(
        new UpdateCommand({
          TableName: deps.tableName,
          Key: runKey(checkId),
          UpdateExpression: 'SET #s = :done, finishedAt = :at',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':done': 'done', ':running': 'running', ':at': deps.now().toISOString() },
        }),
      )
      .catch((error: unknown) => {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      });
    return (await checkReport(deps, checkId))!;
  }
  return after;
}

/** Opens a check and runs it to the end in this process (`npm run check`, tests). */
export async function runCheck(deps: CheckDeps, options: CheckOptions = {}): Promise<CheckReport> {
  const opened = await openCheck(deps, options);
  return continueCheck(deps, opened.checkId);
}

interface Step {
  readonly next: string | undefined;
  readonly findings: Finding[];
  readonly repairs: RepairDone[];
  readonly entities: number;
  readonly claims: number;
}

async function checkStep(deps: CheckDeps, report: CheckReport, segmentKey: string, cursor: string): Promise<Step> {
  const [segment, totalSegments] = segmentKey.slice('scan:'.length).split('/').map(Number) as [number, number];
  const page = await scanPartitions(deps, segment, totalSegments, cursor, report.options.scanPage ?? SCAN_PAGE);
  const findings: Finding[] = [];
  const repairs: RepairDone[] = [];
  let entities = 0;
  const byType = new Map<AnyEntityType, { entityId: string; items: Record<string, unknown>[] }[]>();
  const others: Record<string, unknown>[] = [];
  for (const [pk, items] of page.partitions) {
    const type = deps.registry.all().find((t) => pk.startsWith(`${t.keyPrefix}#`));
    if (type && items.some((i) => i.sk === 'STATE' || String(i.sk).startsWith('E#'))) {
      const group = byType.get(type) ?? [];
      group.push({ entityId: pk.slice(type.keyPrefix.length + 1), items });
      byType.set(type, group);
    } else others.push(...items);
  }
  for (const [type, group] of byType) {
    const checks = await Promise.all(
      group.map(async (g) => {
        const first = checkEntity(type, g);
        if (first.findings.length === 0) return { ...first, items: g.items, entityId: g.entityId };
        // A Scan page is not isolated from transactions committing while it is read: an entity found damaged is
        // read again on its own before anything is reported, so live traffic does not raise false findings.
        const items = await new EventStore(deps.db, deps.tableName).partition(entityPk(type.keyPrefix, g.entityId));
        return { ...checkEntity(type, { entityId: g.entityId, items }), items, entityId: g.entityId };
      }),
    );
    entities += checks.length;
    const found = checks.flatMap((c) => c.findings);
    found.push(...(await referenceFindings(deps, type, checks)));
    // The read side follows the state: an entity whose state is in question is judged on the table alone.
    const sound = checks.filter((c) => !found.some((f) => f.entityId === c.entityId && f.class !== 'safe'));
    if (deps.projections) found.push(...(await deps.projections.check(type, sound)));
    findings.push(...found);
    if (report.options.repair) repairs.push(...(await applySafeRepairs(deps, type, found)));
  }
  const claims = others.filter((i) => i.claimedAt !== undefined);
  const records = others.filter((i) => String(i.pk).startsWith('C#') && i.sk === COMMAND_SK);
  findings.push(...(await claimFindings(deps, claims)), ...(await recordFindings(deps, records)));
  return { next: page.next, findings, repairs, entities, claims: claims.length + records.length };
}

/**
 * One step of a Scan segment, grouped by partition. The last partition of a page may go on in the next page: it
 * is left for the next step (the cursor is the last item before it), unless it is all the step read, in which
 * case the step reads on until the partition ends.
 */
async function scanPartitions(
  deps: CheckDeps,
  segment: number,
  totalSegments: number,
  cursor: string,
  scanPage: number,
): Promise<{ partitions: Map<string, Record<string, unknown>[]>; next: string | undefined }> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined = cursor
    ? JSON.parse(Buffer.from(cursor, 'base64url').toString())
    : undefined;
  let complete = 0;
  for (;;) {
    const out = await deps.db.send(
      new ScanCommand({
        TableName: deps.tableName,
        Segment: segment,
        TotalSegments: totalSegments,
        Limit: scanPage,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
    if (!start) {
      complete = items.length;
      break;
    }
    const lastPk = items.at(-1)?.pk;
    complete = items.findLastIndex((i) => i.pk !== lastPk) + 1;
    if (complete > 0) break;
  }
  const partitions = new Map<string, Record<string, unknown>[]>();
  for (const item of items.slice(0, complete)) {
    const pk = String(item.pk);
    const group = partitions.get(pk);
    if (group) group.push(item);
    else partitions.set(pk, [item]);
  }
  const last = items[complete - 1];
  const next =
    start && last ? Buffer.from(JSON.stringify({ pk: last.pk, sk: last.sk })).toString('base64url') : undefined;
  return { partitions, next };
}

/** Every other side of a multi-entity command carries the same command, and every command record its version. */
async function referenceFindings(
  deps: CheckDeps,
  type: AnyEntityType,
  checks: readonly (EntityCheck & { entityId: string })[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const refs = checks.flatMap((c) => c.references.map((r) => ({ ...r, from: c.entityId })));
  const events = await batchGet(
    deps,
    refs.map((r) => ({ pk: entityPk(type.keyPrefix, r.entityId), sk: eventSk(r.version) })),
  );
  for (const r of refs) {
    const other = events.get(`${entityPk(type.keyPrefix, r.entityId)}|${eventSk(r.version)}`);
    if (other?.commandId !== r.commandId)
      findings.push({
        class: 'operator',
        kind: 'reference',
        entityType: type.name,
        entityId: r.from,
        detail: `command ${r.commandId} names ${r.entityId} version ${r.version}, ${other ? `which holds command ${String(other.commandId)}` : 'which does not exist'}`,
      });
  }
  return findings;
}

/** Every claim must point to a command that applied for its entity (its record, or its events once that expired). */
async function claimFindings(deps: CheckDeps, claims: readonly Record<string, unknown>[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const records = await batchGet(
    deps,
    claims.map((c) => ({ pk: commandPk(String(c.commandId)), sk: COMMAND_SK })),
  );
  await mapLimit(claims, CONCURRENCY, async (claim) => {
    const key = { pk: String(claim.pk), sk: String(claim.sk) };
    const parsed = claimItemSchema.safeParse(claim);
    const type = deps.registry.get(String(claim.entityType));
    if (!parsed.success || !type) {
      findings.push({
        class: 'operator',
        kind: 'claim',
        key,
        detail: 'the claim does not parse or names no entity type',
      });
      return;
    }
    const record = records.get(`${commandPk(parsed.data.commandId)}|${COMMAND_SK}`) as CommandRecord | undefined;
    const applied = record
      ? record.status === 'applied' && record.entityId === parsed.data.entityId
      : await appliedInHistory(deps, type, parsed.data.entityId, parsed.data.commandId);
    if (!applied)
      findings.push({
        class: 'operator',
        kind: 'claim',
        entityType: type.name,
        entityId: parsed.data.entityId,
        key,
        detail: `the claim is held by command ${parsed.data.commandId}, which ${record ? `was ${record.status}` : 'applied nowhere in the history'}`,
      });
  });
  return findings;
}

/** Each applied command record against the event items it names (its entity's version, and the related ones). */
async function recordFindings(deps: CheckDeps, records: readonly Record<string, unknown>[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const expected: { record: CommandRecord; key: { pk: string; sk: string }; entityId: string }[] = [];
  for (const raw of records) {
    const key = { pk: String(raw.pk), sk: String(raw.sk) };
    const parsed = commandRecordSchema.safeParse(raw);
    const type = parsed.success ? deps.registry.get(parsed.data.entityType) : undefined;
    if (!parsed.success || !type) {
      findings.push({ class: 'operator', kind: 'command-record', key, detail: 'the command record does not parse' });
      continue;
    }
    const record = raw as unknown as CommandRecord;
    if (record.status !== 'applied') continue;
    const sides = [[record.entityId, record.version], ...Object.entries(record.relatedVersions ?? {})] as [
      string,
      number,
    ][];
    for (const [entityId, version] of sides)
      expected.push({ record, entityId, key: { pk: entityPk(type.keyPrefix, entityId), sk: eventSk(version) } });
  }
  const events = await batchGet(
    deps,
    expected.map((e) => e.key),
  );
  for (const e of expected) {
    const event = events.get(`${e.key.pk}|${e.key.sk}`);
    if (event?.commandId !== e.record.commandId)
      findings.push({
        class: 'operator',
        kind: 'command-record',
        entityType: e.record.entityType,
        entityId: e.entityId,
        key: { pk: commandPk(e.record.commandId), sk: COMMAND_SK },
        detail: `the record of ${e.record.commandId} says it applied ${e.key.sk} of ${e.entityId}, which ${event ? `holds ${String(event.commandId)}` : 'does not exist'}`,
      });
  }
  return findings;
}

/** Whether a command (whose record expired) applied a version of the entity: its events are the proof. */
async function appliedInHistory(
  deps: CheckDeps,
  type: AnyEntityType,
  entityId: string,
  commandId: string,
): Promise<boolean> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await deps.db.send(
      new QueryCommand({
        TableName: deps.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
        FilterExpression: 'commandId = :c',
        ExpressionAttributeValues: { ':pk': entityPk(type.keyPrefix, entityId), ':e': 'E#', ':c': commandId },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    if ((out.Items ?? []).length > 0) return true;
    start = out.LastEvaluatedKey;
  } while (start);
  return false;
}

async function applySafeRepairs(
  deps: CheckDeps,
  type: AnyEntityType,
  findings: readonly Finding[],
): Promise<RepairDone[]> {
  const done: RepairDone[] = [];
  const reprojected = new Set<string>();
  for (const finding of findings) {
    if (finding.class !== 'safe' || !finding.repair || !finding.entityId) continue;
    const { repair } = finding;
    try {
      if (repair.action === 'reproject' && deps.projections) {
        if (!reprojected.has(repair.playerId)) await deps.projections.reproject(repair.playerId);
        reprojected.add(repair.playerId);
        done.push({ finding, result: 'repaired', detail: `re-projected ${repair.playerId} from the table` });
      } else if (repair.action === 'rewrite-snapshot' && deps.rewriteSnapshot) {
        await deps.rewriteSnapshot(type, finding.entityId, repair.version);
        done.push({ finding, result: 'repaired', detail: `snapshot ${repair.version} written again from the events` });
      } else done.push({ finding, result: 'skipped', detail: 'no repairer for it in this process' });
    } catch (error) {
      done.push({ finding, result: 'skipped', detail: `the repair failed: ${String(error)}`.slice(0, 300) });
    }
  }
  return done;
}

/** Records one step: its findings (the first MAX_LISTED are kept), repairs, counts and the segment's cursor. */
async function record(deps: CheckDeps, checkId: string, segmentKey: string, step: Step): Promise<void> {
  const counts = { safe: 0, operator: 0, isolate: 0 };
  for (const f of step.findings) counts[f.class]++;
  // The run record is read only when there is something to list (most pages find nothing).
  const current = step.findings.length + step.repairs.length > 0 ? await checkReport(deps, checkId) : undefined;
  const room = Math.max(0, MAX_LISTED - (current?.findings.length ?? 0));
  const roomForRepairs = Math.max(0, MAX_LISTED - (current?.repairs.length ?? 0));
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.tableName,
      Key: runKey(checkId),
      UpdateExpression:
        'SET cursors.#seg = :cursor, findings = list_append(findings, :findings), repairs = list_append(repairs, :repairs) ADD entitiesChecked :e, claimsChecked :c, counts.safe :safe, counts.#op :op, counts.isolate :iso',
      ExpressionAttributeNames: { '#seg': segmentKey, '#op': 'operator' },
      ExpressionAttributeValues: {
        ':cursor': step.next ?? DONE,
        ':findings': step.findings.slice(0, room),
        ':repairs': step.repairs.slice(0, roomForRepairs),
        ':e': step.entities,
        ':c': step.claims,
        ':safe': counts.safe,
        ':op': counts.operator,
        ':iso': counts.isolate,
      },
    }),
  );
}

/** Strongly consistent reads of many keys (the event store batches them by 100 and retries what was unprocessed). */
function batchGet(
  deps: CheckDeps,
  keys: readonly { pk: string; sk: string }[],
): Promise<Map<string, Record<string, unknown>>> {
  return new EventStore(deps.db, deps.tableName).getMany(keys);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
