/**
 * Keys of the single table (DESIGN.md §3). Every id reaching a key has been validated against a strict pattern
 * without `#`, so no input can name another item.
 */
export const STATE_SK = 'STATE';
export const COMMAND_SK = 'C';

export const entityPk = (keyPrefix: string, entityId: string): string => `${keyPrefix}#${entityId}`;
/** Zero-padded so the event items of one entity sort by version. */
export const eventSk = (version: number): string => `E#${String(version).padStart(10, '0')}`;
export const commandPk = (commandId: string): string => `C#${commandId}`;
/** A second command that reused an id with another payload is recorded beside the first, never over it. */
export const reusedCommandSk = (payloadHash: string): string => `R#${payloadHash.slice(0, 32)}`;

export const EVENT_SK_PREFIX = 'E#';
export const SNAPSHOT_SK_PREFIX = 'S#';
/** A snapshot of an entity at one version, beside its events: derived data, never the only copy of anything. */
export const snapshotSk = (version: number): string => `${SNAPSHOT_SK_PREFIX}${String(version).padStart(10, '0')}`;

export interface Key {
  readonly pk: string;
  readonly sk: string;
}

export interface StateItem<S = unknown> extends Key {
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  readonly state: S;
  readonly updatedAt: string;
  readonly lastCommandId: string;
  /** Set while operators have the entity quarantined: its commands are then refused ENTITY_QUARANTINED. */
  readonly quarantine?: Quarantine;
}

export interface Quarantine {
  readonly since: string;
  readonly operator: string;
  readonly reason: string;
  readonly ticket: string;
}

/**
 * The state of an entity at `version`, written in the commit that reached it. It carries what it was folded from
 * (`foldedFrom`: the state at that version plus the events after it) and the hash of its state, so a corrupt
 * snapshot is detected and a fold goes around it.
 */
export interface SnapshotItem<S = unknown> extends Key {
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  readonly state: S;
  /** SHA-256 of the state's canonical JSON. */
  readonly stateHash: string;
  readonly foldedFrom: number;
  readonly committedAt: string;
}

export interface SourceRef {
  readonly kind: string;
  readonly actor: string;
}

/** One version of an entity: all events one command produced for it, committed atomically. */
export interface EventItem<E = unknown> extends Key {
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  readonly commandId: string;
  readonly commandType: string;
  readonly events: readonly E[];
  readonly source: SourceRef;
  readonly issuedAt: string;
  readonly committedAt: string;
  readonly correlationId: string;
  readonly causationId?: string;
  /** Versions the same command wrote to other entities (a trade's counterparty): history's references. */
  readonly related?: Readonly<Record<string, number>>;
}

export type CommandStatus = 'applied' | 'rejected';

/** The idempotency record, committed in the same transaction as the effect it records. */
export interface CommandRecord extends Key {
  readonly commandId: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly commandType: string;
  readonly status: CommandStatus;
  readonly code?: string;
  readonly message?: string;
  /** Version of the entity after the command (applied) or the one it was decided against (rejected). */
  readonly version: number;
  /** Versions written to other entities (the counterparty of a trade). */
  readonly relatedVersions?: Readonly<Record<string, number>>;
  readonly payloadHash: string;
  readonly source: SourceRef;
  readonly issuedAt: string;
  readonly decidedAt: string;
  readonly ttl: number;
}

export interface ClaimItem extends Key {
  readonly commandId: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly claimedAt: string;
  readonly ttl?: number;
}
