import type { z } from 'zod';
import type { Decision } from './decision.js';
import { withRecoveryEvents } from './recovery.js';

/**
 * A unique business fact a command takes ownership of (a player name, a payment order, a reward task),
 * written in the same transaction as the command's effect. A claim outlives the command record, so a replay
 * long after the record expired still changes nothing.
 */
export interface Claim {
  /** Partition key of the claim item, e.g. `PAY#stripe#order-1`. Built only from validated ids. */
  readonly key: string;
  /** Sort key naming the claim's kind, e.g. `PAY`. */
  readonly kind: string;
  /** Days the claim is kept; absent means forever. */
  readonly retentionDays?: number;
  /** Rejection recorded when another command already holds the claim. */
  readonly conflict: { readonly code: string; readonly message: string };
}

export interface DecideContext<S, Cfg> {
  /** Issue time of the command (ISO 8601): deciders never read a clock. */
  readonly now: string;
  readonly commandId: string;
  readonly entityId: string;
  readonly config: Cfg;
  /** Current states of the other entities the command names in `related()`. Absent entities hold `initialState()`. */
  readonly related: Readonly<Record<string, S>>;
}

/**
 * Everything the engine needs to know about one kind of entity. The engine never looks inside states,
 * commands or events: a new entity type is a new declaration, registered next to the player.
 */
export interface EntityType<
  S = unknown,
  C extends { type: string } = { type: string },
  E extends { type: string } = { type: string },
  Cfg = unknown,
> {
  /** Name used in envelopes and records, e.g. `player`. */
  readonly name: string;
  /** Partition-key prefix of the entity's items, e.g. `P` gives `P#<id>`. */
  readonly keyPrefix: string;
  /** Strict pattern every id of this entity matches, so no id can forge another item's key. */
  readonly idPattern: RegExp;
  /** Parses a command (with its `type`) at the edge; unknown fields and types are rejected. */
  readonly commandSchema: z.ZodType<C>;
  readonly config: Cfg;
  readonly initialState: () => S;
  readonly decide: (command: C, state: S, ctx: DecideContext<S, Cfg>) => Decision<E>;
  readonly evolve: (state: S, event: E) => S;
  /** Ids of other entities of the same type the command reads and changes (the counterparty of a trade). */
  readonly related?: (command: C, entityId: string) => readonly string[];
  /** Unique facts the command claims if accepted. */
  readonly claims?: (command: C, entityId: string) => readonly Claim[];
  /** Broken invariants of a state, described; empty when it is sound. Audits call it on every stored state. */
  readonly invariants?: (state: S, config: Cfg) => readonly string[];
  /** The shape of a stored state, which the consistency checker parses every state and snapshot against. */
  readonly stateSchema?: z.ZodType;
  /**
   * The entity's ledger, for the checker: each event's effect on some numeric state fields, independent of
   * `evolve` (a player's currencies: credits, spends, trades, rollbacks). Their sum over the history must equal
   * the state's fields.
   */
  readonly ledger?: {
    readonly fields: readonly string[];
    readonly flow: (event: E) => Readonly<Record<string, number>>;
  };
  /** A snapshot is written in the commit that reaches every multiple of this version (default 100). */
  readonly snapshotEvery?: number;
}

export const DEFAULT_SNAPSHOT_EVERY = 100;

/** Widened form the engine stores in its registry. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds every entity type; each is used through its own typed declaration
export type AnyEntityType = EntityType<any, any, any, any>;

export function defineEntityType<S, C extends { type: string }, E extends { type: string }, Cfg>(
  type: EntityType<S, C, E, Cfg>,
): EntityType<S, C, E, Cfg> {
  if (!/^[A-Z]{1,4}$/.test(type.keyPrefix)) throw new Error(`keyPrefix ${type.keyPrefix} must be 1-4 capital letters`);
  const every = type.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  if (!Number.isInteger(every) || every < 2) throw new Error(`snapshotEvery of ${type.name} must be an integer >= 2`);
  // The engine's recovery events (rollback, repair, quarantine) fold the same way for every type.
  return {
    ...type,
    snapshotEvery: every,
    evolve: withRecoveryEvents(type.evolve) as EntityType<S, C, E, Cfg>['evolve'],
  };
}
