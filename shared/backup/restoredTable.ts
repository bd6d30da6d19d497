import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ListTagsOfResourceCommand,
  ResourceNotFoundException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { ListEventSourceMappingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEY, createTableInput } from '../persistence/tableDefinition.js';

/**
 * What a restored table still lacks before it can take the live table's place. PITR, AWS Backup and Gamekeep's own
 * restore give back the items; the stream, TTL, PITR, deletion protection, tags and the stream's consumers come
 * back through the runbook's phases (docs/operations.md). `inspectRestoredTable` reads each from AWS (or the
 * stand-in) and says which phase the table is in and what to do next: the tool checks the phases it does not drive.
 */
export type SetupCheckName =
  | 'table'
  | 'key'
  | 'indexes'
  | 'stream'
  | 'ttl'
  | 'pitr'
  | 'deletionProtection'
  | 'tags'
  | 'streamConsumers';

export interface SetupCheck {
  readonly name: SetupCheckName;
  /** `unchecked`: nothing to compare with here (no source table to copy the tags from, no Lambda to ask). */
  readonly status: 'ok' | 'missing' | 'unchecked';
  readonly detail: string;
  /** What the operator does about a `missing` check. */
  readonly next?: string;
}

/**
 * `restored`: the data is there, nothing of the stack's yet (phase 1 done); `attached`: everything the stack
 * re-attaches is there (phase 3 done); `partial`: in between, see the missing checks; `unusable`: no such table,
 * or not of Gamekeep's shape.
 */
export type RestorePhase = 'unusable' | 'restored' | 'partial' | 'attached';

export interface RestoredTableReport {
  readonly table: string;
  readonly source: string | undefined;
  readonly phase: RestorePhase;
  readonly checks: readonly SetupCheck[];
}

export interface InspectDeps {
  readonly db: DynamoDBDocumentClient;
  /** Present against AWS: the stream's consumers (the projector, the archiver) are event source mappings. */
  readonly lambda?: LambdaClient;
}

const RE_ATTACH = 'the final deploy (`npx cdk deploy -c stage=<stage>`, docs/operations.md step 4) re-attaches it';

/**
 * Inspects `table` against the stack's table definition and, when `source` (the table it replaces) still exists,
 * against the source's deletion protection, tags and stream consumers. Reads only.
 */
export async function inspectRestoredTable(
  deps: InspectDeps,
  table: string,
  source?: string,
): Promise<RestoredTableReport> {
  const restored = await describe(deps.db, table);
  if (!restored)
    return {
      table,
      source,
      phase: 'unusable',
      checks: [{ name: 'table', status: 'missing', detail: `no table ${table}`, next: 'restore it first' }],
    };
  const original = source !== undefined && source !== table ? await describe(deps.db, source) : undefined;
  const wanted = createTableInput(table, true);
  const checks: SetupCheck[] = [
    {
      name: 'table',
      status: restored.TableStatus === 'ACTIVE' ? 'ok' : 'missing',
      detail: `${restored.TableStatus}, ${restored.ItemCount ?? 0} items (DynamoDB's estimate)`,
      ...(restored.TableStatus === 'ACTIVE' ? {} : { next: 'wait until the restore finishes' }),
    },
  ];

  const key = (restored.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  const wantedKey = (wanted.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  checks.push({
    name: 'key',
    status: key === wantedKey ? 'ok' : 'missing',
    detail: key === wantedKey ? wantedKey : `${key || 'none'}, not ${wantedKey}: not a Gamekeep table`,
  });

  const indexes = new Map((restored.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i.IndexStatus]));
  const lacking = (wanted.GlobalSecondaryIndexes ?? [])
    .map((i) => i.IndexName!)
    .filter((name) => indexes.get(name) !== 'ACTIVE');
  checks.push({
    name: 'indexes',
    status: lacking.length === 0 ? 'ok' : 'missing',
    detail:
      lacking.length === 0
        ? [...indexes.keys()].join(', ') || 'none needed'
        : `${lacking.map((n) => `${n} (${indexes.get(n) ?? 'absent'})`).join(', ')}`,
    ...(lacking.length === 0
      ? {}
      : {
          next: `a restore keeps the indexes unless told otherwise; without them ${RE_ATTACH} and DynamoDB builds it`,
        }),
  });

  const stream = restored.StreamSpecification;
  const wantedView = wanted.StreamSpecification?.StreamViewType;
  const streamOk = stream?.StreamEnabled === true && stream.StreamViewType === wantedView;
  checks.push({
    name: 'stream',
    status: streamOk ? 'ok' : 'missing',
    detail: stream?.StreamEnabled ? `${stream.StreamViewType}${streamOk ? '' : `, not ${wantedView}`}` : 'none',
    ...(streamOk ? {} : { next: RE_ATTACH }),
  });

  const ttl = (await deps.db.send(new DescribeTimeToLiveCommand({ TableName: table }))).TimeToLiveDescription;
  const ttlOk = ttl?.TimeToLiveStatus === 'ENABLED' && ttl.AttributeName === TABLE_KEY.ttlAttribute;
  checks.push({
    name: 'ttl',
    status: ttlOk ? 'ok' : 'missing',
    detail: ttl?.AttributeName
      ? `${ttl.TimeToLiveStatus} on ${ttl.AttributeName}`
      : (ttl?.TimeToLiveStatus ?? 'DISABLED'),
    ...(ttlOk ? {} : { next: RE_ATTACH }),
  });

  const pitr = await unlessUnsupported(
    async () =>
      (await deps.db.send(new DescribeContinuousBackupsCommand({ TableName: table }))).ContinuousBackupsDescription
        ?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus ?? 'DISABLED',
  );
  checks.push(
    pitr === UNSUPPORTED
      ? { name: 'pitr', status: 'unchecked', detail: 'the stand-in has no point-in-time recovery' }
      : {
          name: 'pitr',
          status: pitr === 'ENABLED' ? 'ok' : 'missing',
          detail: pitr,
          ...(pitr === 'ENABLED' ? {} : { next: RE_ATTACH }),
        },
  );

  if (original) {
    const wantedProtection = original.DeletionProtectionEnabled === true;
    const protectionOk = !wantedProtection || restored.DeletionProtectionEnabled === true;
    checks.push({
      name: 'deletionProtection',
      status: protectionOk ? 'ok' : 'missing',
      detail: `${restored.DeletionProtectionEnabled ? 'on' : 'off'} (the source's is ${wantedProtection ? 'on' : 'off'})`,
      ...(protectionOk ? {} : { next: RE_ATTACH }),
    });
    const have = await unlessUnsupported(() => tagsOf(deps.db, restored.TableArn!));
    const want = await unlessUnsupported(() => tagsOf(deps.db, original.TableArn!));
    if (have === UNSUPPORTED || want === UNSUPPORTED)
      checks.push({ name: 'tags', status: 'unchecked', detail: 'the stand-in has no tags' });
    else {
      const absent = [...want].filter(([k, v]) => have.get(k) !== v).map(([k]) => k);
      checks.push({
        name: 'tags',
        status: absent.length === 0 ? 'ok' : 'missing',
        detail: absent.length === 0 ? `${want.size} of the source's tags` : `lacks ${absent.join(', ')}`,
        ...(absent.length === 0 ? {} : { next: RE_ATTACH }),
      });
    }
  } else {
    const why = source === undefined ? 'no source table named' : `the source ${source} is gone`;
    checks.push({
      name: 'deletionProtection',
      status: 'unchecked',
      detail: `${restored.DeletionProtectionEnabled ? 'on' : 'off'} (${why})`,
    });
    checks.push({ name: 'tags', status: 'unchecked', detail: why });
  }

  checks.push(await streamConsumers(deps, restored, original));

  const wanting = checks.filter((c) => c.status === 'missing').map((c) => c.name);
  const dataOnly: readonly SetupCheckName[] = [
    'stream',
    'ttl',
    'pitr',
    'deletionProtection',
    'tags',
    'streamConsumers',
  ];
  const phase: RestorePhase = wanting.some((n) => n === 'table' || n === 'key')
    ? 'unusable'
    : wanting.length === 0
      ? 'attached'
      : wanting.every((n) => dataOnly.includes(n)) && !streamOk && pitr !== 'ENABLED'
        ? 'restored'
        : 'partial';
  return { table, source, phase, checks };
}

const UNSUPPORTED = Symbol('unsupported');

/** DynamoDB Local has neither PITR nor tags (UnknownOperationException): those checks say so instead of failing. */
async function unlessUnsupported<T>(read: () => Promise<T>): Promise<T | typeof UNSUPPORTED> {
  try {
    return await read();
  } catch (error) {
    if ((error as { name?: string }).name === 'UnknownOperationException') return UNSUPPORTED;
    throw error;
  }
}

async function describe(db: DynamoDBDocumentClient, table: string): Promise<TableDescription | undefined> {
  try {
    return (await db.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function tagsOf(db: DynamoDBDocumentClient, arn: string): Promise<Map<string, string>> {
  const tags = new Map<string, string>();
  let next: string | undefined;
  do {
    const page = await db.send(new ListTagsOfResourceCommand({ ResourceArn: arn, NextToken: next }));
    for (const t of page.Tags ?? []) tags.set(t.Key!, t.Value!);
    next = page.NextToken;
  } while (next);
  return tags;
}

/** The functions reading a table's stream: enabled event source mappings on its newest stream. */
async function consumersOf(lambda: LambdaClient, streamArn: string): Promise<Set<string>> {
  const names = new Set<string>();
  let marker: string | undefined;
  do {
    const page = await lambda.send(new ListEventSourceMappingsCommand({ EventSourceArn: streamArn, Marker: marker }));
    for (const m of page.EventSourceMappings ?? [])
      if (m.State !== 'Disabled' && m.State !== 'Disabling' && m.FunctionArn)
        names.add(m.FunctionArn.split(':function:')[1]?.split(':')[0] ?? m.FunctionArn);
    marker = page.NextMarker;
  } while (marker);
  return names;
}

async function streamConsumers(
  deps: InspectDeps,
  restored: TableDescription,
  original: TableDescription | undefined,
): Promise<SetupCheck> {
  if (!deps.lambda)
    return {
      name: 'streamConsumers',
      status: 'unchecked',
      detail: 'no Lambda to ask (locally the stack polls the stream itself)',
    };
  if (!restored.LatestStreamArn)
    return { name: 'streamConsumers', status: 'missing', detail: 'no stream to consume', next: RE_ATTACH };
  const have = await consumersOf(deps.lambda, restored.LatestStreamArn);
  const want = original?.LatestStreamArn ? await consumersOf(deps.lambda, original.LatestStreamArn) : undefined;
  // The source's consumers move to the restored stream with the final deploy; with the source gone, at least one.
  const ok = want ? [...want].every((f) => have.has(f)) && have.size > 0 : have.size > 0;
  return {
    name: 'streamConsumers',
    status: ok ? 'ok' : 'missing',
    detail: `${[...have].join(', ') || 'none'}${want ? ` (the source's: ${[...want].join(', ') || 'none'})` : ''}`,
    ...(ok ? {} : { next: RE_ATTACH }),
  };
}
