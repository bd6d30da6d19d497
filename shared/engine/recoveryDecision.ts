import { accept, reject, type Decision } from './decision.js';
import {
  MAX_UNDONE_VERSIONS,
  numericDeltas,
  sameState,
  type RecoveryCommand,
  type RecoveryEvent,
  type UndoneVersion,
} from './recovery.js';
import type { Quarantine } from '../persistence/tableLayout.js';

/**
 * What a rollback or repair of one entity rests on, read from its history before deciding (the decision stays
 * pure): its state at `toVersion`, the versions after it up to `expectedVersion`, and which other entities those
 * versions touched.
 */
export interface RecoveryBasis {
  readonly toVersion: number;
  readonly expectedVersion: number;
  readonly state: unknown;
  readonly undone: readonly UndoneVersion[];
  /** Other entities the undone versions changed too (a trade's counterparty), at the version the shared command wrote. */
  readonly touched: readonly { readonly entityId: string; readonly version: number }[];
  /** Versions after `toVersion` up to `expectedVersion`; `undone` is empty when they are more than may be undone. */
  readonly undoneCount: number;
  /** An undone version is itself a rollback: going back across it is refused (its undone gains stay retracted). */
  readonly crossesRollback: boolean;
}

export const basisKey = (pk: string, toVersion: number, expectedVersion: number): string =>
  `${pk}@${toVersion}..${expectedVersion}`;

/** The parts of an entity a recovery decision reads. */
export interface RecoveredEntity {
  readonly entityId: string;
  readonly pk: string;
  readonly version: number;
  readonly state: unknown;
  readonly quarantine?: Quarantine | undefined;
}

/** Decides an operator's recovery command against the entity (and, for a rollback, the others it names). */
export function decideRecovery(
  command: RecoveryCommand,
  own: RecoveredEntity,
  others: readonly RecoveredEntity[],
  bases: ReadonlyMap<string, RecoveryBasis>,
): Decision<RecoveryEvent> {
  const note = { operator: command.operator, reason: command.reason, ticket: command.ticket };
  switch (command.type) {
    case 'Quarantine':
      if (own.quarantine) return reject('ALREADY_QUARANTINED', `quarantined since ${own.quarantine.since}`);
      return accept([{ type: 'EntityQuarantined', ...note }]);
    case 'Release':
      if (!own.quarantine) return reject('NOT_QUARANTINED', 'the entity is not quarantined');
      return accept([{ type: 'EntityReleased', ...note }]);
    case 'RepairState': {
      if (own.version !== command.expectedVersion)
        return reject('REPAIR_STALE', `the entity is at version ${own.version}, not ${command.expectedVersion}`);
      const basis = bases.get(basisKey(own.pk, command.expectedVersion, command.expectedVersion));
      if (!basis) return reject('REPAIR_STALE', `no history up to version ${command.expectedVersion}`);
      if (sameState(basis.state, own.state))
        return reject('NOTHING_TO_REPAIR', 'the state equals the fold of its events');
      return accept([
        {
          type: 'StateRepaired',
          state: basis.state,
          deltas: numericDeltas(own.state, basis.state),
          finding: command.finding,
          ...note,
        },
      ]);
    }
    case 'RollBack': {
      const named = command.related.map((r) => r.entityId);
      const unusable = named.find(
        (id, i) => id === own.entityId || named.indexOf(id) !== i || !others.some((o) => o.entityId === id),
      );
      if (unusable !== undefined)
        return reject('INVALID_COMMAND', `related: ${unusable} is not another valid id, or is named twice`);
      const targets = [
        { entity: own, toVersion: command.toVersion, expectedVersion: command.expectedVersion },
        ...command.related.map((r) => ({
          entity: others.find((o) => o.entityId === r.entityId)!,
          toVersion: r.toVersion,
          expectedVersion: r.expectedVersion,
        })),
      ];
      const together = targets.map((t) => t.entity.entityId);
      const events: Record<string, RecoveryEvent[]> = {};
      for (const { entity, toVersion, expectedVersion } of targets) {
        const who = entity.entityId;
        if (entity.version !== expectedVersion)
          return reject('ROLLBACK_STALE', `${who} is at version ${entity.version}, the preview saw ${expectedVersion}`);
        if (toVersion >= expectedVersion)
          return reject('NOTHING_TO_ROLL_BACK', `${who} is at version ${expectedVersion}, not after ${toVersion}`);
        const basis = bases.get(basisKey(entity.pk, toVersion, expectedVersion));
        if (!basis) return reject('ROLLBACK_STALE', `no history of ${who} up to version ${expectedVersion}`);
        if (basis.crossesRollback)
          return reject('ROLLBACK_ACROSS_ROLLBACK', `${who}: a version after ${toVersion} is a rollback`);
        if (basis.undoneCount > MAX_UNDONE_VERSIONS)
          return reject('ROLLBACK_TOO_LONG', `${basis.undoneCount} versions; at most ${MAX_UNDONE_VERSIONS} at once`);
        // A side is undone only if its own rollback goes back before the version the shared command wrote there.
        const left = [
          ...new Set(
            basis.touched
              .filter((t) => !targets.some((x) => x.entity.entityId === t.entityId && x.toVersion < t.version))
              .map((t) => t.entityId),
          ),
        ];
        if (left.length > 0 && !command.acknowledgeImbalance)
          return reject(
            'ROLLBACK_BREAKS_TRADE',
            `undone commands of ${who} also changed ${left.join(', ')}: include them or acknowledge the imbalance`,
          );
        events[who] = [
          {
            type: 'RolledBack',
            fromVersion: expectedVersion,
            toVersion,
            state: basis.state,
            undone: basis.undone,
            deltas: numericDeltas(entity.state, basis.state),
            together: together.filter((id) => id !== who),
            ...(left.length > 0 && command.acknowledgeImbalance
              ? { acknowledgedImbalance: command.acknowledgeImbalance }
              : {}),
            ...note,
          },
        ];
      }
      const { [own.entityId]: ownEvents, ...related } = events;
      return accept(ownEvents ?? [], related);
    }
  }
}
