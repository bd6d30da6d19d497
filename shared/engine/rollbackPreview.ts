import type { AnyEntityType } from './entityType.js';
import type { EventStore } from '../persistence/eventStore.js';
import type { EventItem, SourceRef } from '../persistence/tableLayout.js';
import { History } from './history.js';
import { MAX_ROLLED_BACK_TOGETHER, MAX_UNDONE_VERSIONS, numericDeltas } from './recovery.js';

/** One command a rollback undoes, as an operator reviews it. */
export interface UndoneCommand {
  readonly version: number;
  readonly commandId: string;
  readonly commandType: string;
  readonly source: SourceRef;
  readonly issuedAt: string;
  readonly committedAt: string;
  /** The versions the same command wrote to other entities. */
  readonly related?: Readonly<Record<string, number>>;
}

/** What rolling back one entity does to it. */
export interface EntityRollback {
  readonly entityId: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly undone: readonly UndoneCommand[];
  /** How every numeric field moves (currencies, items, experience): the state at `toVersion` minus the current. */
  readonly deltas: Readonly<Record<string, number>>;
  /** The state it returns to. */
  readonly state: unknown;
}

/**
 * The impact analysis of a rollback (seed 004: 回滚影响分析): every command it undoes, the deltas, and every other
 * entity those commands touched. With `includeRelated`, each of those is rolled back too, to the version before
 * the first shared command, and so on for what that undoes (the closure, at most MAX_ROLLED_BACK_TOGETHER
 * entities): then the rollback is balanced. Without, the untouched sides are listed and the rollback needs an
 * acknowledged imbalance.
 */
export interface RollbackPreview {
  readonly entityType: string;
  readonly entity: EntityRollback;
  /** The other entities rolled back in the same transaction (`includeRelated`). */
  readonly related: readonly EntityRollback[];
  /** Entities the undone commands changed that this rollback leaves as they are: each breaks conservation. */
  readonly untouched: readonly { readonly entityId: string; readonly versions: readonly number[] }[];
  readonly balanced: boolean;
}

export class RollbackRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function previewRollback(
  store: EventStore,
  type: AnyEntityType,
  entityId: string,
  toVersion: number,
  options: { includeRelated?: boolean } = {},
): Promise<RollbackPreview> {
  const history = new History(store, type);
  const targets = new Map<string, number>([[entityId, toVersion]]);
  const rollbacks = new Map<string, EntityRollback>();
  // Fixed point: an entity's target only ever moves earlier, so this ends (bounded by the entity count).
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, to] of targets) {
      if (rollbacks.get(id)?.toVersion === to) continue;
      rollbacks.set(id, await entityRollback(history, id, to));
    }
    if (!options.includeRelated) break;
    for (const r of rollbacks.values())
      for (const u of r.undone)
        for (const [other, version] of Object.entries(u.related ?? {})) {
          const before = version - 1;
          const target = targets.get(other);
          if (target === undefined || before < target) {
            targets.set(other, before);
            changed = true;
          }
        }
    if (targets.size > MAX_ROLLED_BACK_TOGETHER)
      throw new RollbackRefused(
        'TOO_MANY_RELATED',
        `the rollback reaches ${targets.size} entities; at most ${MAX_ROLLED_BACK_TOGETHER} roll back together`,
      );
  }
  const untouched = new Map<string, number[]>();
  for (const r of rollbacks.values())
    for (const u of r.undone)
      for (const [other, version] of Object.entries(u.related ?? {}))
        if (!rollbacks.has(other)) untouched.set(other, [...(untouched.get(other) ?? []), version]);
  const { [entityId]: entity, ...others } = Object.fromEntries(rollbacks);
  return {
    entityType: type.name,
    entity: entity!,
    related: Object.values(others),
    untouched: [...untouched].map(([id, versions]) => ({ entityId: id, versions })),
    balanced: untouched.size === 0,
  };
}

async function entityRollback(history: History, entityId: string, toVersion: number): Promise<EntityRollback> {
  const current = await history.currentVersion(entityId);
  if (toVersion < 1)
    throw new RollbackRefused('INVALID_TARGET', `${entityId}: a rollback goes back to version 1 at the earliest`);
  if (toVersion >= current)
    throw new RollbackRefused('NOTHING_TO_ROLL_BACK', `${entityId} is at version ${current}, not after ${toVersion}`);
  if (current - toVersion > MAX_UNDONE_VERSIONS)
    throw new RollbackRefused(
      'ROLLBACK_TOO_LONG',
      `${current - toVersion} versions; at most ${MAX_UNDONE_VERSIONS} at once`,
    );
  const [past, now, items] = await Promise.all([
    history.atVersion(entityId, toVersion, current),
    history.atVersion(entityId, current, current),
    history.versionsAfter(entityId, toVersion, current),
  ]);
  if (items.some((e) => e.events.some((ev) => (ev as { type: string }).type === 'RolledBack')))
    throw new RollbackRefused(
      'ROLLBACK_ACROSS_ROLLBACK',
      `${entityId}: a version after ${toVersion} is a rollback; roll forward with an adjustment instead`,
    );
  return {
    entityId,
    fromVersion: current,
    toVersion,
    undone: items.map(undoneCommand),
    deltas: numericDeltas(now.state, past.state),
    state: past.state,
  };
}

function undoneCommand(e: EventItem): UndoneCommand {
  return {
    version: e.version,
    commandId: e.commandId,
    commandType: e.commandType,
    source: e.source,
    issuedAt: e.issuedAt,
    committedAt: e.committedAt,
    ...(e.related ? { related: e.related } : {}),
  };
}

/** The engine command that carries out a preview: every entity at the version the preview saw, or refused as stale. */
export function rollbackCommandOf(
  preview: RollbackPreview,
  note: { operator: string; reason: string; ticket: string },
  acknowledgeImbalance?: string,
) {
  return {
    type: 'RollBack' as const,
    toVersion: preview.entity.toVersion,
    expectedVersion: preview.entity.fromVersion,
    related: preview.related.map((r) => ({
      entityId: r.entityId,
      toVersion: r.toVersion,
      expectedVersion: r.fromVersion,
    })),
    ...(acknowledgeImbalance && !preview.balanced ? { acknowledgeImbalance } : {}),
    ...note,
  };
}
