import type { AnyEntityType, Claim } from './entityType.js';
import type { CommandEnvelope } from './envelope.js';
import { keyString, type TransactItem } from '../persistence/eventStore.js';
import { entityShardOf } from '../persistence/tableDefinition.js';
import {
  COMMAND_SK,
  STATE_SK,
  commandPk,
  entityPk,
  eventSk,
  reusedCommandSk,
  type ClaimItem,
  type CommandRecord,
  type EventItem,
  type Key,
  type StateItem,
} from '../persistence/tableLayout.js';

/** One parsed message on its way through the engine. */
export interface CommandUnit {
  readonly messageId: string;
  readonly envelope: CommandEnvelope;
  readonly type: AnyEntityType;
  readonly payloadHash: string;
  /** The command parsed once by its entity type's schema, or why it is invalid (recorded as INVALID_COMMAND). */
  readonly command:
    | { readonly valid: true; readonly value: { type: string } }
    | { readonly valid: false; readonly problem: string };
}

/** Parses a command against its entity type's schema, once per message. */
export function parseCommand(type: AnyEntityType, command: unknown): CommandUnit['command'] {
  const parsed = type.commandSchema.safeParse(command);
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

export interface Plan {
  readonly items: TransactItem[];
  /** One outcome per unit, in the units' order. */
  readonly outcomes: Outcome[];
}

export interface PlanOptions {
  readonly tableName: string;
  readonly now: Date;
  readonly commandRecordDays: number;
}

const claimKey = (c: Claim): Key => ({ pk: c.key, sk: c.kind });

/** Every item `planCommit` may read for these units: states (with counterparties), command records, claims. */
export function keysToLoad(units: readonly CommandUnit[]): Key[] {
  const keys: Key[] = [];
  for (const u of units) {
    const { envelope: env, type } = u;
    keys.push(
      { pk: entityPk(type.keyPrefix, env.entityId), sk: STATE_SK },
      { pk: commandPk(env.commandId), sk: COMMAND_SK },
    );
    if (!u.command.valid) continue;
    for (const id of relatedIds(type, u.command.value, env.entityId))
      keys.push({ pk: entityPk(type.keyPrefix, id), sk: STATE_SK });
    for (const c of type.claims?.(u.command.value, env.entityId) ?? []) keys.push(claimKey(c));
  }
  return keys;
}

interface Working {
  readonly type: AnyEntityType;
  readonly entityId: string;
  readonly pk: string;
  readonly loadedVersion: number;
  version: number;
  state: unknown;
  lastCommandId: string;
}

/**
 * Decides the units in order against the loaded items and returns ONE set of transaction items that commits
 * all their effects: each changed entity's final state under a condition on the version it was loaded at,
 * an event item per new version, a command record per command and every claim, all conditional. Entities
 * read together for a decision that changed neither (a refused trade) get a condition check, so no outcome
 * rests on two reads from different moments. Pure: no I/O, the clock arrives in `options`.
 */
export function planCommit(
  units: readonly CommandUnit[],
  loaded: ReadonlyMap<string, Record<string, unknown>>,
  options: PlanOptions,
): Plan {
  const { tableName, now } = options;
  const nowIso = now.toISOString();
  const recordTtl = Math.floor(now.getTime() / 1000) + options.commandRecordDays * 86_400;
  const working = new Map<string, Working>();
  // Entities whose read state a recorded outcome depends on jointly with another's (a refused trade): their
  // versions are checked at commit, so no decision rests on a skewed pair of reads.
  const jointlyRead = new Set<string>();
  const seen = new Map<string, string>(); // commandId -> payloadHash, for repeats inside one batch
  const claimed = new Map<string, string>(); // claim key -> commandId, for claims taken inside one batch
  const items: TransactItem[] = [];
  const outcomes: Outcome[] = [];

  const entity = (type: AnyEntityType, entityId: string): Working => {
    const pk = entityPk(type.keyPrefix, entityId);
    let w = working.get(pk);
    if (!w) {
      const item = loaded.get(keyString({ pk, sk: STATE_SK })) as StateItem | undefined;
      w = {
        type,
        entityId,
        pk,
        loadedVersion: item?.version ?? 0,
        version: item?.version ?? 0,
        state: item ? item.state : type.initialState(),
        lastCommandId: item?.lastCommandId ?? '',
      };
      working.set(pk, w);
    }
    return w;
  };

  const putRecord = (
    u: CommandUnit,
    fields: Pick<CommandRecord, 'status' | 'version'> & Partial<CommandRecord>,
  ): void => {
    const env = u.envelope;
    const record: CommandRecord = {
      pk: commandPk(env.commandId),
      sk: COMMAND_SK,
      commandId: env.commandId,
      entityType: env.entityType,
      entityId: env.entityId,
      commandType: env.command.type,
      payloadHash: u.payloadHash,
      source: env.source,
      issuedAt: env.issuedAt,
      decidedAt: nowIso,
      ttl: recordTtl,
      ...fields,
    };
    items.push({ Put: { TableName: tableName, Item: record, ConditionExpression: 'attribute_not_exists(pk)' } });
  };

  for (const u of units) {
    const { envelope: env, type } = u;
    const earlierHash =
      seen.get(env.commandId) ??
      (loaded.get(keyString({ pk: commandPk(env.commandId), sk: COMMAND_SK })) as CommandRecord | undefined)
        ?.payloadHash;
    if (earlierHash !== undefined) {
      if (earlierHash === u.payloadHash) {
        outcomes.push({ kind: 'duplicate' });
      } else {
        // Unconditional: recording the same reuse twice writes the same item.
        items.push({
          Put: {
            TableName: tableName,
            Item: {
              pk: commandPk(env.commandId),
              sk: reusedCommandSk(u.payloadHash),
              commandId: env.commandId,
              entityType: env.entityType,
              entityId: env.entityId,
              commandType: env.command.type,
              status: 'rejected',
              code: 'IDEMPOTENCY_KEY_REUSED',
              message: 'this command id was used before with another payload',
              payloadHash: u.payloadHash,
              source: env.source,
              issuedAt: env.issuedAt,
              decidedAt: nowIso,
              ttl: recordTtl,
            },
          },
        });
        outcomes.push({ kind: 'reused' });
      }
      continue;
    }
    seen.set(env.commandId, u.payloadHash);

    const w = entity(type, env.entityId);
    if (!u.command.valid) {
      const message = u.command.problem;
      putRecord(u, { status: 'rejected', code: 'INVALID_COMMAND', message, version: w.version });
      outcomes.push({ kind: 'rejected', code: 'INVALID_COMMAND', message, version: w.version });
      continue;
    }
    const command = u.command.value;
    const claims = type.claims?.(command, env.entityId) ?? [];
    const holders = claims.map(
      (c) =>
        claimed.get(keyString(claimKey(c))) ?? (loaded.get(keyString(claimKey(c))) as ClaimItem | undefined)?.commandId,
    );
    if (holders.some((h) => h === env.commandId)) {
      // Its claim is ours: applied long ago, and its record has expired since. A replay changes nothing.
      outcomes.push({ kind: 'duplicate' });
      continue;
    }

    const others = relatedIds(type, command, env.entityId).map((id) => entity(type, id));
    if (others.length > 0) for (const e of [w, ...others]) jointlyRead.add(e.pk);
    const decision = type.decide(command, w.state, {
      now: env.issuedAt,
      commandId: env.commandId,
      entityId: env.entityId,
      config: type.config,
      related: Object.fromEntries(others.map((o) => [o.entityId, o.state])),
    });
    const conflict = claims.findIndex((_, i) => holders[i] !== undefined);
    if (decision.outcome === 'rejected' || conflict >= 0) {
      const { code, message } = decision.outcome === 'rejected' ? decision : claims[conflict]!.conflict;
      putRecord(u, { status: 'rejected', code, message, version: w.version });
      outcomes.push({ kind: 'rejected', code, message, version: w.version });
      continue;
    }

    const relatedVersions: Record<string, number> = {};
    const apply = (target: Working, events: readonly { type: string }[]): void => {
      if (events.length === 0) return;
      target.state = events.reduce((s, e) => target.type.evolve(s, e), target.state);
      target.version += 1;
      target.lastCommandId = env.commandId;
      const eventItem: EventItem = {
        pk: target.pk,
        sk: eventSk(target.version),
        entityType: type.name,
        entityId: target.entityId,
        version: target.version,
        commandId: env.commandId,
        commandType: command.type,
        events,
        source: env.source,
        issuedAt: env.issuedAt,
        committedAt: nowIso,
        correlationId: env.correlationId,
        ...(env.causationId ? { causationId: env.causationId } : {}),
      };
      items.push({ Put: { TableName: tableName, Item: eventItem, ConditionExpression: 'attribute_not_exists(pk)' } });
    };
    apply(w, decision.events);
    for (const [id, events] of Object.entries(decision.related)) {
      const other = others.find((o) => o.entityId === id);
      if (!other)
        throw new Error(
          `${type.name} decider returned events for ${id}, which ${command.type} does not name as related`,
        );
      apply(other, events);
      relatedVersions[id] = other.version;
    }
    for (const c of claims) {
      claimed.set(keyString(claimKey(c)), env.commandId);
      const claim: ClaimItem = {
        pk: c.key,
        sk: c.kind,
        commandId: env.commandId,
        entityType: type.name,
        entityId: env.entityId,
        claimedAt: nowIso,
        ...(c.retentionDays !== undefined ? { ttl: Math.floor(now.getTime() / 1000) + c.retentionDays * 86_400 } : {}),
      };
      items.push({ Put: { TableName: tableName, Item: claim, ConditionExpression: 'attribute_not_exists(pk)' } });
    }
    putRecord(u, {
      status: 'applied',
      version: w.version,
      ...(Object.keys(relatedVersions).length ? { relatedVersions } : {}),
    });
    outcomes.push({ kind: 'applied', version: w.version });
  }

  for (const w of working.values()) {
    const pk = w.pk;
    // A lone rejection needs no check: it changes nothing, so recording it at the version it read is a valid order.
    if (w.version === w.loadedVersion && !jointlyRead.has(pk)) continue;
    const condition =
      w.loadedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': w.loadedVersion },
          };
    if (w.version === w.loadedVersion) {
      items.push({ ConditionCheck: { TableName: tableName, Key: { pk, sk: STATE_SK }, ...condition } });
    } else {
      // `entityShard` puts the state item (and only it) in the sparse index that lists a type's entities.
      const state: StateItem & { entityShard: string } = {
        pk,
        sk: STATE_SK,
        entityType: w.type.name,
        entityId: w.entityId,
        entityShard: entityShardOf(w.type.name, w.entityId),
        version: w.version,
        state: w.state,
        updatedAt: nowIso,
        lastCommandId: w.lastCommandId,
      };
      items.push({ Put: { TableName: tableName, Item: state, ...condition } });
    }
  }
  // Only condition checks left means nothing to record: every unit was a duplicate.
  return { items: items.some((i) => !i.ConditionCheck) ? items : [], outcomes };
}

function relatedIds(type: AnyEntityType, command: { type: string }, entityId: string): string[] {
  const ids = [...new Set(type.related?.(command, entityId) ?? [])].filter((id) => id !== entityId);
  for (const id of ids)
    if (!type.idPattern.test(id))
      throw new Error(`${type.name} id ${JSON.stringify(id)} does not match ${type.idPattern}`);
  return ids;
}
