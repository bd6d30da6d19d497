import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { canonicalJson } from './envelope.js';

/**
 * Operators' recovery commands and the events they append, for every entity type: the engine owns them, so a new
 * entity type gets history, rollback, quarantine and repair without a line of its own. History is never
 * rewritten: each is a new version with a compensating event.
 */
export const RECOVERY_COMMAND_TYPES = ['RollBack', 'Quarantine', 'Release', 'RepairState'] as const;
export type RecoveryCommandType = (typeof RECOVERY_COMMAND_TYPES)[number];

/** At most this many versions are undone by one rollback (the compensating event lists each). */
export const MAX_UNDONE_VERSIONS = 1000;
/** Entities rolled back together in one transaction (the player and its trade partners). */
export const MAX_ROLLED_BACK_TOGETHER = 8;

const note = {
  operator: z.string().min(1).max(128),
  reason: z.string().trim().min(1).max(500),
  ticket: z.string().trim().min(1).max(128),
};
const version = z.int().min(1).max(9_999_999_999);

/** One entity's part of a rollback: where it goes, and the version the preview saw (the rollback is refused if it moved). */
export const rollbackTarget = z.strictObject({ toVersion: version, expectedVersion: version });

export const recoveryCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('RollBack'),
    ...rollbackTarget.shape,
    /** Entities rolled back in the same transaction (the counterparties of undone trades). */
    related: z
      .array(z.strictObject({ entityId: z.string().min(1).max(64), ...rollbackTarget.shape }))
      .max(MAX_ROLLED_BACK_TOGETHER - 1)
      .default([]),
    /** Why undoing only some sides of the undone commands is right: recorded, and the ledger check accounts for it. */
    acknowledgeImbalance: z.string().trim().min(1).max(500).optional(),
    ...note,
  }),
  z.strictObject({ type: z.literal('Quarantine'), ...note }),
  z.strictObject({ type: z.literal('Release'), ...note }),
  /** Sets the state to the fold of its events (a checker finding): the version the operator saw is expected. */
  z.strictObject({
    type: z.literal('RepairState'),
    expectedVersion: version,
    finding: z.string().min(1).max(500),
    ...note,
  }),
]);
export type RecoveryCommand = z.infer<typeof recoveryCommandSchema>;

export const isRecoveryCommandType = (type: string): type is RecoveryCommandType =>
  (RECOVERY_COMMAND_TYPES as readonly string[]).includes(type);

/** A version a rollback undid, with what the read side needs to take back its effects (the period it was earned in). */
export interface UndoneVersion {
  readonly version: number;
  readonly commandId: string;
  readonly commandType: string;
  readonly issuedAt: string;
}

interface OperatorNote {
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
}

/** The compensating event of a rollback: the entity's state becomes `state`, its state at `toVersion`. */
export interface RolledBack extends OperatorNote {
  readonly type: 'RolledBack';
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly state: unknown;
  readonly undone: readonly UndoneVersion[];
  /** Numeric fields that moved, by path (`gold`, `inventory.sword`): what the ledger check accounts for. */
  readonly deltas: Readonly<Record<string, number>>;
  /** The other entities rolled back in the same transaction. */
  readonly together: readonly string[];
  readonly acknowledgedImbalance?: string;
}

export interface EntityQuarantined extends OperatorNote {
  readonly type: 'EntityQuarantined';
}

export interface EntityReleased extends OperatorNote {
  readonly type: 'EntityReleased';
}

/** The state set to the fold of its events, after a checker found they differ. */
export interface StateRepaired extends OperatorNote {
  readonly type: 'StateRepaired';
  readonly state: unknown;
  readonly deltas: Readonly<Record<string, number>>;
  readonly finding: string;
}

export type RecoveryEvent = RolledBack | EntityQuarantined | EntityReleased | StateRepaired;
export const RECOVERY_EVENT_TYPES = ['RolledBack', 'EntityQuarantined', 'EntityReleased', 'StateRepaired'] as const;

export const isRecoveryEvent = (event: { type: string }): event is RecoveryEvent =>
  (RECOVERY_EVENT_TYPES as readonly string[]).includes(event.type);

/** An entity type's evolve, extended with the recovery events: the one fold every reader of history uses. */
export function withRecoveryEvents<S, E extends { type: string }>(
  evolve: (state: S, event: E) => S,
): (state: S, event: E | RecoveryEvent) => S {
  return (state, event) => {
    if (!isRecoveryEvent(event)) return evolve(state, event as E);
    switch (event.type) {
      case 'RolledBack':
      case 'StateRepaired':
        return structuredClone(event.state) as S;
      case 'EntityQuarantined':
      case 'EntityReleased':
        return state;
    }
  };
}

/** SHA-256 of a state's canonical JSON: what a snapshot is checked against. */
export function stateHash(state: unknown): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}

/** Two states are equal the way they are stored (DynamoDB drops undefined fields). */
export function sameState(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? null)), JSON.parse(JSON.stringify(b ?? null)));
}

/** One changed field of a diff, by dotted path. */
export interface FieldChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** Field-level diff: nested objects are walked, every other value (arrays too) compared whole. */
export function fieldDiff(before: unknown, after: unknown, path = ''): FieldChange[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => fieldDiff(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (sameState(before, after)) return [];
  return [
    {
      path: path || '(state)',
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
    },
  ];
}

/** How every numeric field moves from `before` to `after` (an absent field counts as 0): currencies, items, levels. */
export function numericDeltas(before: unknown, after: unknown): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const c of fieldDiff(before, after)) {
    const b = c.before === undefined ? 0 : c.before;
    const a = c.after === undefined ? 0 : c.after;
    if (typeof b === 'number' && typeof a === 'number' && a !== b) deltas[c.path] = a - b;
  }
  return deltas;
}
