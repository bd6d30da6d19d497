import type { AnyEntityType } from '../engine/entityType.js';
import type { EntityRegistry } from '../engine/registry.js';
import { entityShardOf } from '../persistence/tableDefinition.js';
import {
  COMMAND_SK,
  EVENT_SK_PREFIX,
  SNAPSHOT_SK_PREFIX,
  STATE_SK,
  type EventItem,
  type Quarantine,
} from '../persistence/tableLayout.js';

/** What the consistency pass did to one item of the backup. */
export interface CutChange {
  readonly key: { readonly pk: string; readonly sk: string };
  readonly action: 'dropped' | 'rewritten' | 'created';
  readonly reason: string;
}

/** An entity the pass took back (or forward) to a version where its state, events and other sides agree. */
export interface RepairedEntity {
  readonly entityType: string;
  readonly entityId: string;
  /** The state item's version in the backup (0: none). */
  readonly backedUpVersion: number;
  readonly restoredVersion: number;
  readonly droppedVersions: readonly number[];
  readonly reason: string;
}

/** An entity the pass left as backed up: what disagrees is older than any transaction the Scan could have split. */
export interface PreservedEntity {
  readonly entityType: string;
  readonly entityId: string;
  readonly reason: string;
}

export interface CutResult {
  readonly items: Record<string, unknown>[];
  readonly changes: CutChange[];
  readonly repaired: RepairedEntity[];
  readonly preserved: PreservedEntity[];
}

export interface CutOptions {
  /** The backup's high-water mark (its start). */
  readonly consistentUpTo: string;
  /**
   * How long before the high-water mark a transaction that was still committing can have been decided (its
   * `committedAt` is the decision's clock): one Lambda invocation, at most 15 minutes. Older disagreements are
   * damage in the source, which a restore preserves for the checker to report, never hides.
   */
  readonly commitWindowMs?: number;
}

interface Entity {
  readonly type: AnyEntityType;
  readonly entityId: string;
  readonly pk: string;
  state: Record<string, unknown> | undefined;
  readonly events: Map<number, EventItem & Record<string, unknown>>;
  readonly snapshots: Record<string, unknown>[];
  readonly rest: Record<string, unknown>[];
  /** The version it is restored at: its events up to it are kept, and its state is their fold. */
  keep: number;
  frozen: string | undefined;
  reasons: string[];
}

const DEFAULT_WINDOW_MS = 15 * 60_000;

/**
 * Makes a backup's items one consistent cut (docs/recovery.md, "Consistency while commands flow"). A Scan is not a
 * snapshot: a transaction committing while it runs can be read in part. Every entity is restored at the last
 * version where its events run without a gap and every multi-entity command it took part in is there on every
 * side; its state item is the fold of those events (rewritten where the backed-up one disagrees), snapshots past
 * it are dropped, and so are the command records and claims of commands that, after that, applied nowhere.
 */
export function consistentCut(
  items: readonly Record<string, unknown>[],
  registry: EntityRegistry,
  options: CutOptions,
): CutResult {
  const guard = new Date(
    Date.parse(options.consistentUpTo) - (options.commitWindowMs ?? DEFAULT_WINDOW_MS),
  ).toISOString();
  const recent = (at: unknown): boolean => typeof at === 'string' && at >= guard;
  const entities = new Map<string, Entity>();
  const others: Record<string, unknown>[] = [];
  const types = registry.all();
  for (const item of items) {
    const pk = String(item.pk);
    const type = types.find((t) => pk.startsWith(`${t.keyPrefix}#`));
    if (!type) {
      others.push(item);
      continue;
    }
    const entityId = pk.slice(type.keyPrefix.length + 1);
    const id = `${type.name}|${entityId}`;
    let entity = entities.get(id);
    if (!entity) {
      entity = {
        type,
        entityId,
        pk,
        state: undefined,
        events: new Map(),
        snapshots: [],
        rest: [],
        keep: 0,
        frozen: undefined,
        reasons: [],
      };
      entities.set(id, entity);
    }
    const sk = String(item.sk);
    if (sk === STATE_SK) entity.state = item;
    else if (sk.startsWith(EVENT_SK_PREFIX) && typeof item.version === 'number')
      entity.events.set(item.version, item as EventItem & Record<string, unknown>);
    else if (sk.startsWith(SNAPSHOT_SK_PREFIX)) entity.snapshots.push(item);
    else entity.rest.push(item);
  }

  /** Takes an entity back to `version`, unless what that drops is too old to be a split transaction. */
  const cutTo = (e: Entity, version: number, reason: string): boolean => {
    if (e.frozen || version >= e.keep) return false;
    const dropped = [...e.events.values()].filter((ev) => ev.version > version);
    const stateVersion = Number(e.state?.version ?? 0);
    const old = dropped.find((ev) => !recent(ev.committedAt));
    if (old || (stateVersion > version && !recent(e.state?.updatedAt))) {
      e.frozen = `${reason}, but ${old ? `version ${old.version} committed at ${old.committedAt}` : `its state was written at ${String(e.state?.updatedAt)}`}, before any transaction this backup can have split`;
      return false;
    }
    e.keep = version;
    e.reasons.push(reason);
    return true;
  };

  for (const e of entities.values()) {
    let gapless = 0;
    while (e.events.has(gapless + 1)) gapless++;
    const stateVersion = Number(e.state?.version ?? 0);
    e.keep = Math.max(stateVersion, ...e.events.keys(), 0);
    if (gapless < e.keep)
      cutTo(
        e,
        gapless,
        stateVersion > gapless && !e.events.has(stateVersion)
          ? `its state is at version ${stateVersion}, its events end at ${gapless}`
          : `its events break off after version ${gapless}`,
      );
    if (!e.frozen && stateVersion < e.keep) {
      const behind = [...e.events.values()].filter((ev) => ev.version > stateVersion && ev.version <= e.keep);
      if (behind.some((ev) => !recent(ev.committedAt)))
        e.frozen = `its state is at version ${stateVersion} behind events committed before this backup started`;
      else e.reasons.push(`its state is at version ${stateVersion}, its events reach ${e.keep}`);
    }
  }

  // A multi-entity command is restored on every side or on none: dropping one side can drop another's, so repeat.
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of entities.values()) {
      if (e.frozen) continue;
      for (const ev of [...e.events.values()].sort((a, b) => a.version - b.version)) {
        if (ev.version > e.keep) break;
        const missing = Object.entries(ev.related ?? {}).find(([otherId, v]) => {
          const other = entities.get(`${e.type.name}|${otherId}`);
          return !(other && v <= other.keep && other.events.get(v)?.commandId === ev.commandId);
        });
        if (
          missing &&
          cutTo(
            e,
            ev.version - 1,
            `its version ${ev.version} (${ev.commandType}) is not in the backup on ${missing[0]}`,
          )
        ) {
          changed = true;
          break;
        }
      }
    }
  }

  const out: Record<string, unknown>[] = [];
  const changes: CutChange[] = [];
  const repaired: RepairedEntity[] = [];
  const preserved: PreservedEntity[] = [];
  const keyOf = (i: Record<string, unknown>) => ({ pk: String(i.pk), sk: String(i.sk) });
  for (const e of entities.values()) {
    const all = [e.state, ...e.events.values(), ...e.snapshots, ...e.rest].filter((i) => i !== undefined);
    if (e.frozen) preserved.push({ entityType: e.type.name, entityId: e.entityId, reason: e.frozen });
    const stateVersion = Number(e.state?.version ?? 0);
    const consistent =
      stateVersion === e.keep &&
      ![...e.events.keys()].some((v) => v > e.keep) &&
      !e.snapshots.some((s) => Number(s.version) > e.keep);
    if (e.frozen || consistent) {
      out.push(...all);
      continue;
    }
    const reason = e.reasons.join('; ');
    const droppedVersions: number[] = [];
    for (const ev of e.events.values())
      if (ev.version <= e.keep) out.push(ev);
      else {
        droppedVersions.push(ev.version);
        changes.push({ key: keyOf(ev), action: 'dropped', reason });
      }
    for (const s of e.snapshots)
      if (Number(s.version) <= e.keep) out.push(s);
      else changes.push({ key: keyOf(s), action: 'dropped', reason });
    out.push(...e.rest);
    if (e.keep === 0) {
      if (e.state) changes.push({ key: keyOf(e.state), action: 'dropped', reason });
    } else if (stateVersion !== e.keep) {
      const state = foldedState(e);
      out.push(state);
      changes.push({ key: keyOf(state), action: e.state ? 'rewritten' : 'created', reason });
    } else if (e.state) out.push(e.state);
    repaired.push({
      entityType: e.type.name,
      entityId: e.entityId,
      backedUpVersion: stateVersion,
      restoredVersion: e.keep,
      droppedVersions: droppedVersions.sort((a, b) => a - b),
      reason,
    });
  }

  // Command records and claims follow their commands: one whose command applied nowhere after the cut goes too.
  function appliedAt(entityType: string, entityId: string, version: number, commandId: string): boolean {
    const e = entities.get(`${entityType}|${entityId}`);
    return !!e && version <= e.keep && e.events.get(version)?.commandId === commandId;
  }
  function appliedOn(entityType: string, entityId: string, commandId: string): boolean {
    const e = entities.get(`${entityType}|${entityId}`);
    return !!e && [...e.events.values()].some((ev) => ev.version <= e.keep && ev.commandId === commandId);
  }
  function droppedOther(item: Record<string, unknown>): boolean {
    const pk = String(item.pk);
    const entityType = String(item.entityType);
    const commandId = String(item.commandId);
    let why: string | undefined;
    if (pk.startsWith('C#') && item.sk === COMMAND_SK && item.status === 'applied' && recent(item.decidedAt)) {
      const sides = [
        [String(item.entityId), Number(item.version)],
        ...Object.entries((item.relatedVersions as Record<string, number> | undefined) ?? {}),
      ] as [string, number][];
      const gone = sides.find(([id, v]) => !appliedAt(entityType, id, v, commandId));
      if (gone) why = `the command it records is not restored on ${gone[0]} version ${gone[1]}`;
    } else if (typeof item.claimedAt === 'string' && recent(item.claimedAt) && registry.get(entityType)) {
      if (!appliedOn(entityType, String(item.entityId), commandId))
        why = `the command holding it is not restored on ${String(item.entityId)}`;
    }
    if (why) changes.push({ key: keyOf(item), action: 'dropped', reason: why });
    return why !== undefined;
  }

  for (const item of others) if (!droppedOther(item)) out.push(item);
  return { items: out, changes, repaired, preserved };
}

/** The state item at the entity's kept version: the fold of its events with the engine's evolve, and its marks. */
function foldedState(e: Entity): Record<string, unknown> {
  let state: unknown = e.type.initialState();
  let quarantine: Quarantine | undefined;
  let last: EventItem | undefined;
  for (let v = 1; v <= e.keep; v++) {
    const item = e.events.get(v)!;
    for (const event of item.events as { type: string; operator?: string; reason?: string; ticket?: string }[]) {
      state = e.type.evolve(state, event);
      if (event.type === 'EntityQuarantined')
        quarantine = {
          since: item.issuedAt,
          operator: String(event.operator),
          reason: String(event.reason),
          ticket: String(event.ticket),
        };
      else if (event.type === 'EntityReleased') quarantine = undefined;
    }
    last = item;
  }
  const { quarantine: _was, ...base } = e.state ?? {};
  return {
    ...base,
    pk: e.pk,
    sk: STATE_SK,
    entityType: e.type.name,
    entityId: e.entityId,
    entityShard: entityShardOf(e.type.name, e.entityId),
    version: e.keep,
    state,
    updatedAt: last!.committedAt,
    lastCommandId: last!.commandId,
    ...(quarantine ? { quarantine } : {}),
  };
}
