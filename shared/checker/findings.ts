/**
 * What the consistency checker reports (docs/recovery.md). Every finding has one class, which says who acts:
 *   - `safe`: derived data that is wrong (a stale cached view, a wrong leaderboard entry, a corrupt snapshot):
 *     `--repair` re-derives it from the table and records what it did;
 *   - `operator`: the table disagrees with itself in a way an operator must judge (a state that differs from the
 *     fold of its events, a broken invariant, a ledger that does not add up): the finding proposes the audited
 *     repair command (`RepairState`, a `StateRepaired` event);
 *   - `isolate`: history itself is damaged (a missing event, an unreadable item): quarantine the entity.
 */
export type FindingClass = 'safe' | 'operator' | 'isolate';

export type FindingKind =
  | 'schema'
  | 'invariant'
  | 'version-gap'
  | 'applied-twice'
  | 'state-not-fold'
  | 'snapshot'
  | 'ledger'
  | 'reference'
  | 'claim'
  | 'command-record'
  | 'cached-view'
  | 'leaderboard'
  | 'projection-ahead';

export interface Finding {
  readonly class: FindingClass;
  readonly kind: FindingKind;
  readonly entityType?: string;
  readonly entityId?: string;
  /** The item concerned, when there is one. */
  readonly key?: { readonly pk: string; readonly sk: string };
  readonly detail: string;
  /** What repairs it: done by `--repair` for the safe class, proposed otherwise. */
  readonly repair?: Repair;
}

export type Repair =
  | { readonly action: 'reproject'; readonly playerId: string }
  | { readonly action: 'rewrite-snapshot'; readonly version: number }
  | {
      readonly action: 'repair-state';
      /** The body of POST /v1/admin/players/{id}/repairs that appends the StateRepaired event. */
      readonly command: { readonly expectedVersion: number; readonly finding: string };
    }
  | { readonly action: 'quarantine' };

export interface RepairDone {
  readonly finding: Finding;
  readonly result: 'repaired' | 'skipped';
  readonly detail: string;
}
