import type { AnyEntityType } from '../engine/entityType.js';
import { sameState, stateHash } from '../engine/recovery.js';
import { eventItemSchema, snapshotItemSchema, stateItemSchema } from '../persistence/itemSchemas.js';
import {
  EVENT_SK_PREFIX,
  SNAPSHOT_SK_PREFIX,
  STATE_SK,
  type EventItem,
  type SnapshotItem,
  type StateItem,
} from '../persistence/tableLayout.js';
import type { Finding } from './findings.js';

/** Every item under one entity's partition, as one Query returns it. */
export interface EntityItems {
  readonly entityId: string;
  readonly items: readonly Record<string, unknown>[];
}

/** What one entity's check found, and what it needs checked elsewhere (the other sides of its multi-entity commands). */
export interface EntityCheck {
  readonly findings: Finding[];
  readonly state: StateItem | undefined;
  /** Other entity, version, the command id its event there must carry. */
  readonly references: { readonly entityId: string; readonly version: number; readonly commandId: string }[];
  /** Command id → version, of every applied version: the command records must agree. */
  readonly commands: ReadonlyMap<string, number>;
}

/**
 * The table-only checks of one entity, for any entity type (G1, G3, G6): every item parses, versions run 1..n
 * without a gap, no command applied twice, the state equals the fold of its events (from the first, trusting no snapshot), every snapshot
 * equals the fold at its version and hashes to what it says, the type's invariants hold, and its ledger adds up.
 */
export function checkEntity(type: AnyEntityType, { entityId, items }: EntityItems): EntityCheck {
  const findings: Finding[] = [];
  const at = { entityType: type.name, entityId };
  const find = (f: Omit<Finding, 'entityType' | 'entityId'>): void => {
    findings.push({ ...at, ...f });
  };
  const keyOf = (i: Record<string, unknown>) => ({ pk: String(i.pk), sk: String(i.sk) });

  let state: StateItem | undefined;
  const events: EventItem[] = [];
  const snapshots: SnapshotItem[] = [];
  for (const item of items) {
    const sk = String(item.sk);
    const schema =
      sk === STATE_SK
        ? stateItemSchema
        : sk.startsWith(EVENT_SK_PREFIX)
          ? eventItemSchema
          : sk.startsWith(SNAPSHOT_SK_PREFIX)
            ? snapshotItemSchema
            : undefined;
    if (!schema) {
      find({ class: 'isolate', kind: 'schema', key: keyOf(item), detail: `an item of no known kind (sk ${sk})` });
      continue;
    }
    const parsed = schema.safeParse(item);
    const typed = sk === STATE_SK || sk.startsWith(SNAPSHOT_SK_PREFIX);
    const stateProblem = typed && type.stateSchema ? type.stateSchema.safeParse(item.state) : undefined;
    if (!parsed.success || stateProblem?.success === false) {
      const issues = (parsed.success ? stateProblem!.error! : parsed.error).issues;
      const detail = issues.map((i) => `${i.path.join('.') || 'item'}: ${i.message}`).join('; ');
      // A broken snapshot is derived data (rewritten from the events); anything else is history or its result.
      find({
        class: sk.startsWith(SNAPSHOT_SK_PREFIX) ? 'safe' : 'isolate',
        kind: 'schema',
        key: keyOf(item),
        detail: `does not parse: ${detail}`.slice(0, 500),
        ...(sk.startsWith(SNAPSHOT_SK_PREFIX) && typeof item.version === 'number'
          ? { repair: { action: 'rewrite-snapshot' as const, version: item.version } }
          : {}),
      });
      // An unreadable snapshot is only rewritten; a state is still compared with its events.
      if (!parsed.success || sk.startsWith(SNAPSHOT_SK_PREFIX)) continue;
    }
    if (sk === STATE_SK) state = item as unknown as StateItem;
    else if (sk.startsWith(EVENT_SK_PREFIX)) events.push(item as unknown as EventItem);
    else snapshots.push(item as unknown as SnapshotItem);
  }
  events.sort((a, b) => a.version - b.version);

  const version = state?.version ?? 0;
  const missing: number[] = [];
  for (let v = 1, i = 0; v <= Math.max(version, events.at(-1)?.version ?? 0); v++) {
    if (events[i]?.version === v) i++;
    else missing.push(v);
  }
  if (missing.length > 0 || events.length !== version) {
    find({
      class: 'isolate',
      kind: 'version-gap',
      detail: `state at version ${version}, ${events.length} event items; missing ${missing.slice(0, 10).join(', ') || 'none'}${events.length > version ? `, ${events.length - version} beyond the state` : ''}`,
      repair: { action: 'quarantine' },
    });
  }

  // The fold from the first event; a snapshot is compared with the fold at its version on the way.
  const byVersion = new Map(snapshots.map((s) => [s.version, s]));
  let folded: unknown = type.initialState();
  let foldable = missing.length === 0;
  const commands = new Map<string, number>();
  const references: EntityCheck['references'] = [];
  const ledger: Record<string, number> = {};
  for (const item of events) {
    const earlier = commands.get(item.commandId);
    if (earlier !== undefined)
      find({
        class: 'operator',
        kind: 'applied-twice',
        detail: `command ${item.commandId} applied twice: versions ${earlier} and ${item.version}`,
      });
    commands.set(item.commandId, item.version);
    for (const [other, v] of Object.entries(item.related ?? {}))
      references.push({ entityId: other, version: v, commandId: item.commandId });
    if (!foldable) continue;
    try {
      for (const e of item.events) {
        folded = type.evolve(folded, e);
        if (type.ledger)
          for (const [field, delta] of Object.entries(type.ledger.flow(e)))
            ledger[field] = (ledger[field] ?? 0) + delta;
      }
    } catch (error) {
      foldable = false;
      find({
        class: 'isolate',
        kind: 'schema',
        key: keyOf(item as unknown as Record<string, unknown>),
        detail: `its events do not fold: ${String(error)}`.slice(0, 500),
        repair: { action: 'quarantine' },
      });
      continue;
    }
    const snapshot = byVersion.get(item.version);
    if (snapshot && (!sameState(snapshot.state, folded) || snapshot.stateHash !== stateHash(snapshot.state)))
      find({
        class: 'safe',
        kind: 'snapshot',
        key: { pk: snapshot.pk, sk: snapshot.sk },
        detail: `the snapshot at version ${item.version} ${sameState(snapshot.state, folded) ? 'does not hash to its stateHash' : 'differs from the fold of the events'}`,
        repair: { action: 'rewrite-snapshot', version: item.version },
      });
  }
  const every = type.snapshotEvery ?? 100;
  if (foldable)
    for (let v = every; v <= version; v += every)
      if (!byVersion.has(v))
        find({
          class: 'safe',
          kind: 'snapshot',
          detail: `no snapshot at version ${v}`,
          repair: { action: 'rewrite-snapshot', version: v },
        });

  if (state && foldable) {
    if (!sameState(folded, state.state))
      find({
        class: 'operator',
        kind: 'state-not-fold',
        key: { pk: state.pk, sk: state.sk },
        detail: 'the state differs from the fold of its events',
        repair: {
          action: 'repair-state',
          command: { expectedVersion: state.version, finding: 'the state differs from the fold of its events' },
        },
      });
    const last = events.at(-1);
    if (last && state.lastCommandId !== last.commandId)
      find({
        class: 'operator',
        kind: 'state-not-fold',
        key: { pk: state.pk, sk: state.sk },
        detail: `lastCommandId ${state.lastCommandId} is not the last event's ${last.commandId}`,
      });
    for (const field of type.ledger?.fields ?? []) {
      const held = (state.state as Record<string, unknown>)[field];
      if (held !== (ledger[field] ?? 0))
        find({
          class: 'operator',
          kind: 'ledger',
          detail: `${field}: the ledger of its events adds up to ${ledger[field] ?? 0}, the state holds ${String(held)}`,
        });
    }
  }
  if (state)
    for (const broken of type.invariants?.(state.state, type.config) ?? [])
      find({ class: 'operator', kind: 'invariant', detail: broken });
  return { findings, state, references, commands };
}
