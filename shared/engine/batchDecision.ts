import { DEFAULT_SNAPSHOT_EVERY, type AnyEntityType, type Claim } from './entityType.js';
import {
  isRecoveryCommandType,
  recoveryCommandSchema,
  type EntityQuarantined,
  type RecoveryCommand,
} from './recovery.js';
import { decideRecovery, type RecoveryBasis } from './recoveryDecision.js';
import type { CommandEnvelope } from './envelope.js';
import { keyString } from '../persistence/eventStore.js';
import {
  COMMAND_SK,
  STATE_SK,
  commandPk,
  entityPk,
  type ClaimItem,
  type CommandRecord,
  type Key,
  type Quarantine,
  type StateItem,
} from '../persistence/tableLayout.js';

/** One command message, parsed once, on its way through the engine. */
export interface IncomingCommand {
  readonly messageId: string;
  readonly envelope: CommandEnvelope;
  readonly type: AnyEntityType;
  readonly payloadHash: string;
  /** The command parsed by its entity type's schema, or why it is invalid (recorded as INVALID_COMMAND). */
  readonly command:
    | { readonly valid: true; readonly value: { type: string } }
    | { readonly valid: false; readonly problem: string };
}

/** Parses a command against its entity type's schema, once per message. */
export function parseCommand(type: AnyEntityType, command: unknown): IncomingCommand['command'] {
  const named = (command as { type?: unknown } | null)?.type;
  const schema = typeof named === 'string' && isRecoveryCommandType(named) ? recoveryCommandSchema : type.commandSchema;
  const parsed = schema.safeParse(command);
  if (parsed.success) return { valid: true, value: parsed.data as { type: string } };
  return {
    valid: false,
    problem: parsed.error.issues
      .map((i) => `${i.path.join('.') || 'command'}: ${i.message}`)
      .join('; ')
      .slice(0, 500),
  };
}

export type Outcome =
  | { readonly kind: 'applied'; readonly version: number }
  | { readonly kind: 'rejected'; readonly code: string; readonly message: string; readonly version: number }
  /** Already applied or rejected earlier (a re-send, a redelivery, a replay): no effect, nothing written. */
  | { readonly kind: 'duplicate' }
  /** The id was used before for another payload: recorded as rejected IDEMPOTENCY_KEY_REUSED, never applied. */
  | { readonly kind: 'reused' };

/** The outcome a command's idempotency record keeps. */
export type RecordedOutcome =
  | {
      readonly command: IncomingCommand;
      readonly status: 'applied';
      readonly version: number;
      readonly relatedVersions?: Readonly<Record<string, number>>;
    }
  | {
      readonly command: IncomingCommand;
      readonly status: 'rejected';
      readonly code: string;
      readonly message: string;
      readonly version: number;
    }
  /** A second payload under a used id: recorded beside the first record, never over it. */
  | { readonly command: IncomingCommand; readonly status: 'reused' };

/** One new version of an entity: the events one command produced for it. */
export interface NewVersion {
  readonly entity: EntityInBatch;
  readonly version: number;
  readonly events: readonly { type: string }[];
  readonly command: IncomingCommand;
  /** The versions the same command wrote to other entities. */
  readonly related?: Readonly<Record<string, number>>;
}

/** The state an entity reached at a multiple of its type's `snapshotEvery`. */
export interface Snapshot {
  readonly entity: EntityInBatch;
  readonly version: number;
  readonly state: unknown;
  /** The version the batch loaded the entity at: the snapshot is that state plus the batch's events. */
  readonly foldedFrom: number;
}

/** An entity the batch read, and where the batch leaves it. */
export interface EntityInBatch {
  readonly type: AnyEntityType;
  readonly entityId: string;
  readonly pk: string;
  /** Version it was loaded at: the commit is conditioned on it. */
  readonly loadedVersion: number;
  version: number;
  state: unknown;
  lastCommandId: string;
  quarantine: Quarantine | undefined;
  /** Read together with another entity for one decision (a trade): its version is checked even if unchanged. */
  readJointly: boolean;
}

/** What deciding a batch changes, before any storage layout: the decide step's whole result. */
export interface BatchChanges {
  /** One outcome per command, in the commands' order. */
  readonly outcomes: readonly Outcome[];
  readonly records: readonly RecordedOutcome[];
  readonly versions: readonly NewVersion[];
  readonly snapshots: readonly Snapshot[];
  readonly claims: readonly { readonly claim: Claim; readonly command: IncomingCommand }[];
  readonly entities: readonly EntityInBatch[];
}

const claimKey = (c: Claim): Key => ({ pk: c.key, sk: c.kind });

/** Every item `decideBatch` may read for these commands: states (with counterparties), command records, claims. */
export function keysToLoad(commands: readonly IncomingCommand[]): Key[] {
  const keys: Key[] = [];
  for (const c of commands) {
    const { envelope: env, type } = c;
    keys.push(
      { pk: entityPk(type.keyPrefix, env.entityId), sk: STATE_SK },
      { pk: commandPk(env.commandId), sk: COMMAND_SK },
    );
    if (!c.command.valid) continue;
    const command = c.command.value;
    for (const id of relatedIds(type, command, env.entityId))
      keys.push({ pk: entityPk(type.keyPrefix, id), sk: STATE_SK });
    if (isRecoveryCommandType(command.type)) continue;
    for (const claim of type.claims?.(command, env.entityId) ?? []) keys.push(claimKey(claim));
  }
  return keys;
}

/**
 * Decides the commands in order against the loaded items, each seeing the effects of those before it, and
 * returns what they change: an outcome and a record per command, the new versions of every entity, the claims
 * taken, and where each entity read ends up. Pure: no I/O, no clock, nothing about transactions.
 */
export function decideBatch(
  commands: readonly IncomingCommand[],
  loaded: ReadonlyMap<string, Record<string, unknown>>,
  bases: ReadonlyMap<string, RecoveryBasis> = new Map(),
): BatchChanges {
  const batch = new Batch(loaded, bases);
  const outcomes = commands.map((c) => batch.decide(c));
  return { outcomes, ...batch.changes(), entities: [...batch.entities.values()] };
}

class Batch {
  readonly entities = new Map<string, EntityInBatch>();
  private readonly records: RecordedOutcome[] = [];
  private readonly versions: NewVersion[] = [];
  private readonly claims: { claim: Claim; command: IncomingCommand }[] = [];
  /** commandId -> payloadHash of the commands decided in this batch, for repeats inside it. */
  private readonly seen = new Map<string, string>();
  /** claim key -> commandId of the claims taken in this batch. */
  private readonly claimed = new Map<string, string>();

  private readonly snapshots: Snapshot[] = [];

  constructor(
    private readonly loaded: ReadonlyMap<string, Record<string, unknown>>,
    private readonly bases: ReadonlyMap<string, RecoveryBasis>,
  ) {}

  changes(): Pick<BatchChanges, 'records' | 'versions' | 'claims' | 'snapshots'> {
    return { records: this.records, versions: this.versions, claims: this.claims, snapshots: this.snapshots };
  }

  decide(c: IncomingCommand): Outcome {
    const { envelope: env, type } = c;
    const earlierHash =
      this.seen.get(env.commandId) ?? this.item<CommandRecord>(commandPk(env.commandId), COMMAND_SK)?.payloadHash;
    if (earlierHash !== undefined) {
      if (earlierHash === c.payloadHash) return { kind: 'duplicate' };
      this.records.push({ command: c, status: 'reused' });
      return { kind: 'reused' };
    }
    this.seen.set(env.commandId, c.payloadHash);

    const own = this.entity(type, env.entityId);
    if (!c.command.valid) return this.reject(c, own, 'INVALID_COMMAND', c.command.problem);
    const command = c.command.value;
    if (isRecoveryCommandType(command.type)) {
      if (env.source.kind !== 'operator' && env.source.kind !== 'system')
        return this.reject(c, own, 'OPERATORS_ONLY', `${command.type} is an operator's recovery command`);
      const others = relatedIds(type, command, env.entityId).map((id) => this.entity(type, id));
      if (others.length > 0) for (const e of [own, ...others]) e.readJointly = true;
      const decision = decideRecovery(command as RecoveryCommand, own, others, this.bases);
      if (decision.outcome === 'rejected') return this.reject(c, own, decision.code, decision.message);
      return this.accept(c, own, others, decision.events, decision.related, []);
    }

    const claims = type.claims?.(command, env.entityId) ?? [];
    const claimHolders = claims.map((claim) => {
      const key = claimKey(claim);
      return this.claimed.get(keyString(key)) ?? this.item<ClaimItem>(key.pk, key.sk)?.commandId;
    });
    // Its claim is ours: applied long ago, and its record has expired since. A replay changes nothing.
    if (claimHolders.includes(env.commandId)) return { kind: 'duplicate' };

    const others = relatedIds(type, command, env.entityId).map((id) => this.entity(type, id));
    if (others.length > 0) for (const e of [own, ...others]) e.readJointly = true;
    const isolated = [own, ...others].find((e) => e.quarantine);
    if (isolated)
      return this.reject(
        c,
        own,
        'ENTITY_QUARANTINED',
        `${type.name} ${isolated.entityId} is quarantined (${isolated.quarantine!.ticket}): commands wait for a release`,
      );
    const decision = type.decide(command, own.state, {
      now: env.issuedAt,
      commandId: env.commandId,
      entityId: env.entityId,
      config: type.config,
      related: Object.fromEntries(others.map((o) => [o.entityId, o.state])),
    });
    if (decision.outcome === 'rejected') return this.reject(c, own, decision.code, decision.message);
    const taken = claimHolders.findIndex((holder) => holder !== undefined);
    if (taken >= 0) return this.reject(c, own, claims[taken]!.conflict.code, claims[taken]!.conflict.message);
    return this.accept(c, own, others, decision.events, decision.related, claims);
  }

  private accept(
    c: IncomingCommand,
    own: EntityInBatch,
    others: readonly EntityInBatch[],
    events: readonly { type: string }[],
    related: Readonly<Record<string, readonly { type: string }[]>>,
    claims: readonly Claim[],
  ): Outcome {
    const { envelope: env, type } = c;
    const written: { entity: EntityInBatch; events: readonly { type: string }[] }[] = [];
    if (events.length > 0) written.push({ entity: own, events });
    for (const [id, relatedEvents] of Object.entries(related)) {
      const other = others.find((o) => o.entityId === id);
      if (!other)
        throw new Error(
          `${type.name} decider returned events for ${id}, which ${c.command.valid ? c.command.value.type : ''} does not name as related`,
        );
      if (relatedEvents.length > 0) written.push({ entity: other, events: relatedEvents });
    }
    for (const w of written) this.append(w.entity, w.events, c);
    // Each version of a multi-entity command names the versions it wrote to the others: history's references.
    if (written.length > 1) {
      const mine = this.versions.slice(-written.length);
      this.versions.splice(
        -written.length,
        written.length,
        ...mine.map((v) => ({
          ...v,
          related: Object.fromEntries(mine.filter((o) => o !== v).map((o) => [o.entity.entityId, o.version])),
        })),
      );
    }
    for (const claim of claims) {
      this.claimed.set(keyString(claimKey(claim)), env.commandId);
      this.claims.push({ claim, command: c });
    }
    const relatedVersions = Object.fromEntries(
      written.filter((w) => w.entity !== own).map((w) => [w.entity.entityId, w.entity.version]),
    );
    this.records.push({
      command: c,
      status: 'applied',
      version: own.version,
      ...(Object.keys(relatedVersions).length ? { relatedVersions } : {}),
    });
    return { kind: 'applied', version: own.version };
  }

  private reject(c: IncomingCommand, own: EntityInBatch, code: string, message: string): Outcome {
    this.records.push({ command: c, status: 'rejected', code, message, version: own.version });
    return { kind: 'rejected', code, message, version: own.version };
  }

  private append(target: EntityInBatch, events: readonly { type: string }[], c: IncomingCommand): void {
    target.state = events.reduce((s, e) => target.type.evolve(s, e), target.state);
    for (const e of events) {
      if (e.type === 'EntityQuarantined') {
        const { operator, reason, ticket } = e as EntityQuarantined;
        target.quarantine = { since: c.envelope.issuedAt, operator, reason, ticket };
      } else if (e.type === 'EntityReleased') target.quarantine = undefined;
    }
    target.version += 1;
    target.lastCommandId = c.envelope.commandId;
    this.versions.push({ entity: target, version: target.version, events, command: c });
    if (target.version % (target.type.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY) === 0)
      this.snapshots.push({
        entity: target,
        version: target.version,
        state: target.state,
        foldedFrom: target.loadedVersion,
      });
  }

  private entity(type: AnyEntityType, entityId: string): EntityInBatch {
    const pk = entityPk(type.keyPrefix, entityId);
    let e = this.entities.get(pk);
    if (!e) {
      const item = this.item<StateItem>(pk, STATE_SK);
      e = {
        type,
        entityId,
        pk,
        loadedVersion: item?.version ?? 0,
        version: item?.version ?? 0,
        state: item ? item.state : type.initialState(),
        lastCommandId: item?.lastCommandId ?? '',
        quarantine: item?.quarantine,
        readJointly: false,
      };
      this.entities.set(pk, e);
    }
    return e;
  }

  private item<T>(pk: string, sk: string): T | undefined {
    return this.loaded.get(keyString({ pk, sk })) as T | undefined;
  }
}

/** The other entities a command reads and changes: its type's `related`, or those a rollback names. */
function relatedIds(type: AnyEntityType, command: { type: string }, entityId: string): string[] {
  if (isRecoveryCommandType(command.type)) {
    const recovery = command as RecoveryCommand;
    // Ids off the type's pattern are left out here and refused by the decision, never thrown on.
    const named = recovery.type === 'RollBack' ? recovery.related.map((r) => r.entityId) : [];
    return [...new Set(named)].filter((id) => id !== entityId && type.idPattern.test(id));
  }
  return checkedIds(type, type.related?.(command, entityId) ?? [], entityId);
}

function checkedIds(type: AnyEntityType, named: readonly string[], entityId: string): string[] {
  const ids = [...new Set(named)].filter((id) => id !== entityId);
  for (const id of ids)
    if (!type.idPattern.test(id))
      throw new Error(`${type.name} id ${JSON.stringify(id)} does not match ${type.idPattern}`);
  return ids;
}
