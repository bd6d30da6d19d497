import type {
  BatchChanges,
  EntityInBatch,
  IncomingCommand,
  NewVersion,
  RecordedOutcome,
  Snapshot,
} from './batchDecision.js';
import { stateHash } from './recovery.js';
import type { Claim } from './entityType.js';
import type { TransactItem } from '../persistence/eventStore.js';
import { entityShardOf } from '../persistence/tableDefinition.js';
import { auditAttributes, type AuditRetention } from '../persistence/auditLog.js';
import {
  COMMAND_SK,
  STATE_SK,
  commandPk,
  eventSk,
  reusedCommandSk,
  snapshotSk,
  type ClaimItem,
  type CommandRecord,
  type EventItem,
  type SnapshotItem,
  type StateItem,
} from '../persistence/tableLayout.js';

export interface CommitOptions {
  readonly tableName: string;
  readonly now: Date;
  readonly commandRecordDays: number;
  /** Days the audit keeps a record, by source kind (shared/persistence/auditLog.ts has the defaults). */
  readonly auditRetentionDays?: AuditRetention;
}

const IS_NEW = { ConditionExpression: 'attribute_not_exists(pk)' };

/**
 * The append step: ONE set of transaction items that commits everything a batch decided. Each changed entity's
 * final state is put under a condition on the version it was loaded at; every event item, command record and
 * claim is new, so put only if absent. Entities read jointly for a decision that changed neither (a refused
 * trade) get a condition check, so no outcome rests on two reads from different moments. Empty when there is
 * nothing to record (every command was a duplicate).
 */
export function commitItems(changes: BatchChanges, options: CommitOptions): TransactItem[] {
  if (changes.records.length + changes.versions.length + changes.claims.length === 0) return [];
  const { tableName } = options;
  const at = { iso: options.now.toISOString(), epochSeconds: Math.floor(options.now.getTime() / 1000) };
  const recordTtl = at.epochSeconds + options.commandRecordDays * 86_400;
  const put = (Item: object, condition: object = IS_NEW): TransactItem => ({
    Put: { TableName: tableName, Item, ...condition },
  });
  return [
    ...changes.versions.map((v) => put(eventItem(v, at.iso))),
    ...changes.snapshots.map((snapshot) => put(snapshotItem(snapshot, at.iso))),
    ...changes.claims.map(({ claim, command }) => put(claimItem(claim, command, at))),
    ...changes.records.map((r) =>
      // A reuse recorded twice writes the same item: unconditional.
      r.status === 'reused'
        ? put(commandRecord(r, at.iso, recordTtl), {})
        : put(audited(commandRecord(r, at.iso, recordTtl), at.epochSeconds, options.auditRetentionDays)),
    ),
    ...changes.entities.flatMap((e) => stateItem(e, tableName, at.iso)),
  ];
}

function eventItem({ entity, version, events, command, related }: NewVersion, committedAt: string): EventItem {
  const env = command.envelope;
  return {
    pk: entity.pk,
    sk: eventSk(version),
    entityType: entity.type.name,
    entityId: entity.entityId,
    version,
    commandId: env.commandId,
    commandType: env.command.type,
    events,
    source: env.source,
    issuedAt: env.issuedAt,
    committedAt,
    correlationId: env.correlationId,
    ...(env.causationId ? { causationId: env.causationId } : {}),
    ...(related ? { related } : {}),
  };
}

function snapshotItem({ entity, version, state, foldedFrom }: Snapshot, committedAt: string): SnapshotItem {
  return {
    pk: entity.pk,
    sk: snapshotSk(version),
    entityType: entity.type.name,
    entityId: entity.entityId,
    version,
    state,
    stateHash: stateHash(state),
    foldedFrom,
    committedAt,
  };
}

function claimItem(claim: Claim, command: IncomingCommand, at: { iso: string; epochSeconds: number }): ClaimItem {
  return {
    pk: claim.key,
    sk: claim.kind,
    commandId: command.envelope.commandId,
    entityType: command.type.name,
    entityId: command.envelope.entityId,
    claimedAt: at.iso,
    ...(claim.retentionDays !== undefined ? { ttl: at.epochSeconds + claim.retentionDays * 86_400 } : {}),
  };
}

/**
 * A decided command's record is also its audit entry: the audit indexes' keys, and a TTL that keeps it as long as
 * its source kind's audit retention asks (never less than the idempotency horizon). No item is added.
 */
function audited(record: CommandRecord | ReuseRecord, decidedAtSeconds: number, days: AuditRetention | undefined) {
  return {
    ...record,
    ...auditAttributes(record, { recordTtl: record.ttl, decidedAtSeconds, ...(days ? { days } : {}) }),
  };
}

/** A reuse is recorded beside the record under the id, which stays the authority: it carries no version. */
type ReuseRecord = Omit<CommandRecord, 'version'>;

function commandRecord(r: RecordedOutcome, decidedAt: string, ttl: number): CommandRecord | ReuseRecord {
  const { envelope: env, payloadHash } = r.command;
  const common = {
    pk: commandPk(env.commandId),
    commandId: env.commandId,
    entityType: env.entityType,
    entityId: env.entityId,
    commandType: env.command.type,
    payloadHash,
    source: env.source,
    issuedAt: env.issuedAt,
    decidedAt,
    ttl,
  };
  switch (r.status) {
    case 'reused':
      return {
        ...common,
        sk: reusedCommandSk(payloadHash),
        status: 'rejected',
        code: 'IDEMPOTENCY_KEY_REUSED',
        message: 'this command id was used before with another payload',
      };
    case 'rejected':
      return { ...common, sk: COMMAND_SK, status: 'rejected', code: r.code, message: r.message, version: r.version };
    case 'applied':
      return {
        ...common,
        sk: COMMAND_SK,
        status: 'applied',
        version: r.version,
        ...(r.relatedVersions ? { relatedVersions: r.relatedVersions } : {}),
      };
  }
}

function stateItem(e: EntityInBatch, tableName: string, updatedAt: string): TransactItem[] {
  // A lone rejection needs no check: it changes nothing, so recording it at the version it read is a valid order.
  if (e.version === e.loadedVersion && !e.readJointly) return [];
  const condition =
    e.loadedVersion === 0
      ? IS_NEW
      : {
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': e.loadedVersion },
        };
  if (e.version === e.loadedVersion)
    return [{ ConditionCheck: { TableName: tableName, Key: { pk: e.pk, sk: STATE_SK }, ...condition } }];
  // `entityShard` puts the state item (and only it) in the sparse index that lists a type's entities.
  const state: StateItem & { entityShard: string } = {
    pk: e.pk,
    sk: STATE_SK,
    entityType: e.type.name,
    entityId: e.entityId,
    entityShard: entityShardOf(e.type.name, e.entityId),
    version: e.version,
    state: e.state,
    updatedAt,
    lastCommandId: e.lastCommandId,
    ...(e.quarantine ? { quarantine: e.quarantine } : {}),
  };
  return [{ Put: { TableName: tableName, Item: state, ...condition } }];
}
