import type { AnyEntityType } from './entityType.js';
import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type EventItem, type SnapshotItem, type StateItem } from '../persistence/tableLayout.js';
import { MAX_UNDONE_VERSIONS, fieldDiff, stateHash, type FieldChange, type UndoneVersion } from './recovery.js';
import type { RecoveryBasis } from './recoveryDecision.js';

/** An entity's state at one version, and how it was reached. */
export interface PastState<S = unknown> {
  readonly version: number;
  readonly state: S;
  /** When that version was committed (absent for version 0, before the entity existed). */
  readonly committedAt?: string;
  /** The snapshot the fold started from (0: from the first event). */
  readonly fromSnapshot: number;
  /** Snapshots found unusable on the way (corrupt or not at their version), which the fold went around. */
  readonly skippedSnapshots: readonly number[];
  readonly eventsFolded: number;
}

/** How many snapshots at or before a version are tried, newest first, before folding from the first event. */
const SNAPSHOT_CANDIDATES = 3;

/**
 * Reads an entity's past: its state at any version or time, and the diff between two versions. Folds start at the
 * newest sound snapshot at or before the version (one query), so a read costs at most `snapshotEvery` events.
 */
export class History {
  constructor(
    private readonly store: EventStore,
    private readonly type: AnyEntityType,
  ) {}

  /** The current version (0 if the entity was never written). */
  async currentVersion(entityId: string): Promise<number> {
    const item = await this.store.item<StateItem>({ pk: this.pk(entityId), sk: STATE_SK });
    return item?.version ?? 0;
  }

  /** The state after `version` (0: the initial state); RangeError past the current version. */
  async atVersion(
    entityId: string,
    version: number,
    current?: number,
    options: { snapshots?: boolean } = {},
  ): Promise<PastState> {
    if (!Number.isInteger(version) || version < 0)
      throw new RangeError(`version ${version} is not a version (0 or more)`);
    const pk = this.pk(entityId);
    const useSnapshots = options.snapshots !== false && version > 0;
    // The current version and the newest snapshot are read at once; older snapshots only if that one is unsound.
    const [latest, newest] = await Promise.all([
      current ?? this.currentVersion(entityId),
      useSnapshots ? this.store.snapshotsBefore(pk, version, 1) : Promise.resolve([]),
    ]);
    if (version > latest) throw new RangeError(`version ${version} is not between 0 and the current version ${latest}`);
    if (version === 0)
      return { version: 0, state: this.type.initialState(), fromSnapshot: 0, skippedSnapshots: [], eventsFolded: 0 };
    const skipped: number[] = [];
    let base: { version: number; state: unknown; committedAt?: string } = {
      version: 0,
      state: this.type.initialState(),
    };
    const candidates =
      newest[0] && !soundSnapshot(newest[0])
        ? await this.store.snapshotsBefore(pk, version, SNAPSHOT_CANDIDATES)
        : newest;
    for (const snapshot of candidates) {
      if (soundSnapshot(snapshot) && snapshot.entityId === entityId) {
        base = snapshot;
        break;
      }
      skipped.push(snapshot.version);
    }
    const events = await this.store.eventRange(pk, base.version + 1, version);
    if (events.length !== version - base.version || events.some((e, i) => e.version !== base.version + 1 + i))
      throw new HistoryGap(this.type.name, entityId, base.version + 1, version);
    const state = events.reduce(
      (s, item) => item.events.reduce((acc: unknown, e) => this.type.evolve(acc, e), s),
      structuredClone(base.state),
    );
    return {
      version,
      state,
      committedAt: events.at(-1)?.committedAt ?? base.committedAt,
      fromSnapshot: base.version,
      skippedSnapshots: skipped,
      eventsFolded: events.length,
    };
  }

  /**
   * The version an entity was at, at time `at`: the last version committed at or before it, found from the
   * snapshots' commit times and then the events after the latest snapshot before `at`.
   */
  async versionAt(entityId: string, at: Date): Promise<number> {
    const pk = this.pk(entityId);
    const limit = at.toISOString();
    const before = (await this.store.snapshotIndex(pk)).filter((s) => s.committedAt <= limit).at(-1);
    let version = before?.version ?? 0;
    for (let after = version; ; ) {
      const page = await this.store.events(pk, after, 200);
      for (const e of page.items) {
        if (e.committedAt > limit) return version;
        version = e.version;
      }
      if (page.nextAfterVersion === undefined) return version;
      after = page.nextAfterVersion;
    }
  }

  /** The fields that changed from version `from` to version `to`. */
  async diff(
    entityId: string,
    from: number,
    to: number,
  ): Promise<{ from: PastState; to: PastState; changes: FieldChange[] }> {
    const current = await this.currentVersion(entityId);
    const [a, b] = await Promise.all([this.atVersion(entityId, from, current), this.atVersion(entityId, to, current)]);
    return { from: a, to: b, changes: fieldDiff(a.state, b.state) };
  }

  /** The versions after `version` up to `until`, with what each command was: what a rollback to `version` undoes. */
  async versionsAfter(entityId: string, version: number, until: number): Promise<EventItem[]> {
    return this.store.eventRange(this.pk(entityId), version + 1, until);
  }

  private pk(entityId: string): string {
    if (!this.type.idPattern.test(entityId))
      throw new Error(`${this.type.name} id does not match ${this.type.idPattern}`);
    return entityPk(this.type.keyPrefix, entityId);
  }
}

/** A snapshot whose state still hashes to what was written, at the version its key names. */
export function soundSnapshot(s: SnapshotItem): boolean {
  return (
    typeof s.version === 'number' &&
    s.sk.endsWith(String(s.version).padStart(10, '0')) &&
    stateHash(s.state) === s.stateHash
  );
}

/** The undone versions a compensating event lists. */
export function undoneVersions(items: readonly EventItem[]): UndoneVersion[] {
  return items.map((e) => ({
    version: e.version,
    commandId: e.commandId,
    commandType: e.commandType,
    issuedAt: e.issuedAt,
  }));
}

/**
 * What a rollback of one entity to `toVersion`, or a repair at `expectedVersion` (`toVersion` equal to it, folded
 * from the first event, not trusting snapshots), rests on: read before deciding, so the decision stays pure.
 */
export async function recoveryBasis(
  history: History,
  entityId: string,
  toVersion: number,
  expectedVersion: number,
): Promise<RecoveryBasis | undefined> {
  const repair = toVersion === expectedVersion;
  // Too long to undo at once: refused by the decision without reading the history it would need.
  if (expectedVersion - toVersion > MAX_UNDONE_VERSIONS)
    return {
      toVersion,
      expectedVersion,
      state: undefined,
      undone: [],
      touched: [],
      undoneCount: expectedVersion - toVersion,
      crossesRollback: false,
    };
  try {
    const [past, undone] = await Promise.all([
      history.atVersion(entityId, toVersion, expectedVersion, repair ? { snapshots: false } : {}),
      repair ? Promise.resolve([]) : history.versionsAfter(entityId, toVersion, expectedVersion),
    ]);
    if (undone.length !== expectedVersion - toVersion) return undefined;
    return {
      toVersion,
      expectedVersion,
      state: past.state,
      undone: undoneVersions(undone),
      touched: undone.flatMap((e) =>
        Object.entries(e.related ?? {})
          .filter(([id]) => id !== entityId)
          .map(([id, version]) => ({ entityId: id, version })),
      ),
      undoneCount: undone.length,
      crossesRollback: undone.some((e) => e.events.some((ev) => (ev as { type: string }).type === 'RolledBack')),
    };
  } catch (error) {
    // The entity has not reached `expectedVersion`: the decision refuses the command as stale.
    if (error instanceof RangeError || error instanceof HistoryGap) return undefined;
    throw error;
  }
}

export class HistoryGap extends Error {
  constructor(type: string, entityId: string, from: number, to: number) {
    super(`${type} ${entityId}: events ${from}..${to} are not all there (an event item is missing)`);
  }
}
