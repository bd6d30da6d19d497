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
