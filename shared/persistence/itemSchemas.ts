import { z } from 'zod';

/**
 * Every kind of item the engine writes, as the consistency checker parses it (DESIGN.md §3, docs/engine.md): a
 * field missing, of the wrong kind or a key that does not match its content is a finding, whoever wrote it.
 */
const version = z.int().min(1).max(9_999_999_999);
const instant = z.iso.datetime({ offset: true });
const padded = (prefix: string, v: number): string => `${prefix}${String(v).padStart(10, '0')}`;

const quarantine = z.strictObject({
  since: z.string(),
  operator: z.string(),
  reason: z.string(),
  ticket: z.string(),
});

export const stateItemSchema = z.strictObject({
  pk: z.string(),
  sk: z.literal('STATE'),
  entityType: z.string(),
  entityId: z.string(),
  entityShard: z.string().optional(),
  version,
  state: z.unknown(),
  updatedAt: instant,
  lastCommandId: z.string(),
  quarantine: quarantine.optional(),
});

export const eventItemSchema = z
  .strictObject({
    pk: z.string(),
    sk: z.string().startsWith('E#'),
    entityType: z.string(),
    entityId: z.string(),
    version,
    commandId: z.string(),
    commandType: z.string(),
    events: z.array(z.looseObject({ type: z.string().min(1) })).min(1),
    source: z.strictObject({ kind: z.string(), actor: z.string() }),
    issuedAt: instant,
    committedAt: instant,
    correlationId: z.string(),
    causationId: z.string().optional(),
    related: z.record(z.string(), version).optional(),
  })
  .refine((e) => e.sk === padded('E#', e.version), { error: 'its key does not name its version' });

export const snapshotItemSchema = z
  .strictObject({
    pk: z.string(),
    sk: z.string().startsWith('S#'),
    entityType: z.string(),
    entityId: z.string(),
    version,
    state: z.unknown(),
    stateHash: z.string().regex(/^[0-9a-f]{64}$/),
    foldedFrom: z.int().min(0),
    committedAt: instant,
  })
  .refine((s) => s.sk === padded('S#', s.version), { error: 'its key does not name its version' });

export const commandRecordSchema = z.strictObject({
  pk: z.string().startsWith('C#'),
  sk: z.string(),
  commandId: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  commandType: z.string(),
  status: z.enum(['applied', 'rejected']),
  code: z.string().optional(),
  message: z.string().optional(),
  version: z.int().min(0).optional(),
  relatedVersions: z.record(z.string(), version).optional(),
  payloadHash: z.string(),
  source: z.strictObject({ kind: z.string(), actor: z.string() }),
  issuedAt: instant,
  decidedAt: instant,
  ttl: z.int(),
  // The audit's index keys (shared/persistence/auditLog.ts), on every record decided since the audit exists.
  auditActor: z.string().optional(),
  auditSource: z.string().optional(),
  auditEntity: z.string().optional(),
  auditAt: z.string().optional(),
});

export const claimItemSchema = z.strictObject({
  pk: z.string(),
  sk: z.string(),
  commandId: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  claimedAt: instant,
  ttl: z.int().optional(),
});
