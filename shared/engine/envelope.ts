import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Who sent a command: the source kind says through which door, the actor who exactly. */
export const SourceKind = z.enum(['client', 'service', 'payment', 'schedule', 'operator', 'system']);
export type SourceKind = z.infer<typeof SourceKind>;

const opaqueId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/,
    'must be 1-128 of A-Z a-z 0-9 _ . : @ - and start with a letter or digit',
  );

export const COMMAND_ID_PATTERN = /^c[0-9a-f]{40}$/;

/**
 * The message on the queue. The command itself stays a plain object here: it is parsed against its entity
 * type's schema by the processor, so a bad command becomes a recorded rejection instead of a poison message.
 */
export const CommandEnvelope = z.strictObject({
  commandId: z.string().regex(COMMAND_ID_PATTERN, 'is not a command id'),
  entityType: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  entityId: z.string().min(1).max(64),
  command: z.looseObject({ type: z.string().min(1).max(64) }),
  source: z.strictObject({ kind: SourceKind, actor: opaqueId }),
  issuedAt: z.iso.datetime(),
  correlationId: opaqueId,
  causationId: opaqueId.optional(),
});
export type CommandEnvelope = z.infer<typeof CommandEnvelope>;

/**
 * Deterministic command id from a command's business identity (payment: provider + order; scheduled reward:
 * task + player; API call: caller + player + Idempotency-Key). The parts are length-prefixed so no two
 * different identities can join into the same string.
 */
export function commandIdFor(...identity: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of identity) hash.update(`${Buffer.byteLength(part)}:${part};`);
  return `c${hash.digest('hex').slice(0, 40)}`;
}

/**
 * SQS MessageDeduplicationId: a hash of the command id and its payload hash, so a re-send within the 5-minute
 * window is dropped, while the same id with another payload (a reused Idempotency-Key) still reaches the engine,
 * which records the reuse. Without a payload hash (synthetic test records) it is the command id's alone.
 */
export function deduplicationIdFor(commandId: string, payloadHash?: string): string {
  const hash = createHash('sha256').update(commandId);
  if (payloadHash !== undefined) hash.update(`#${payloadHash}`);
  return hash.digest('hex');
}

/** SQS MessageGroupId: one group per entity, so one entity's commands apply in the order they were accepted. */
export function messageGroupIdFor(entityType: string, entityId: string): string {
  return `${entityType}.${entityId}`;
}

/** Hash of what a command asks for, stored with its record: the same id with another payload is a reused key. */
export function payloadHashOf(envelope: Pick<CommandEnvelope, 'entityType' | 'entityId' | 'command'>): string {
  return createHash('sha256')
    .update(canonicalJson({ entityType: envelope.entityType, entityId: envelope.entityId, command: envelope.command }))
    .digest('hex');
}

/** JSON with object keys sorted at every depth, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export interface NewCommand {
  readonly entityType: string;
  readonly entityId: string;
  readonly command: { type: string } & Record<string, unknown>;
  readonly source: { kind: SourceKind; actor: string };
  /** The business identity the command id is derived from (see `commandIdFor`). */
  readonly identity: readonly string[];
  readonly issuedAt: Date;
  readonly correlationId?: string;
  readonly causationId?: string;
}

/** Builds the envelope a producer sends; the same identity always yields the same command id. */
export function commandEnvelope(c: NewCommand): CommandEnvelope {
  const commandId = commandIdFor(c.entityType, ...c.identity);
  return {
    commandId,
    entityType: c.entityType,
    entityId: c.entityId,
    command: c.command,
    source: c.source,
    issuedAt: c.issuedAt.toISOString(),
    correlationId: c.correlationId ?? commandId,
    ...(c.causationId ? { causationId: c.causationId } : {}),
  };
}
