import type { SQSBatchItemFailure, SQSRecord } from 'aws-lambda';
import { CommandEnvelope, messageGroupIdFor, payloadHashOf } from './envelope.js';
import { decideBatch, keysToLoad, parseCommand, type IncomingCommand, type Outcome } from './batchDecision.js';
import { commitItems } from './commitItems.js';
import { History, recoveryBasis } from './history.js';
import { isRecoveryCommandType, type RecoveryCommand } from './recovery.js';
import { basisKey, type RecoveryBasis } from './recoveryDecision.js';
import { entityPk } from '../persistence/tableLayout.js';
import type { EntityRegistry } from './registry.js';
import { CommitConflict, MAX_TRANSACTION_ITEMS, type EventStore } from '../persistence/eventStore.js';
import { backoffMs, sleep } from '../backoff.js';
import type { DeadLetters } from '../messaging/deadLetters.js';
import type { AuditRetention } from '../persistence/auditLog.js';

export type OutcomeKind = Outcome['kind'] | 'malformed' | 'failed';
export type OutcomeCounts = Record<OutcomeKind, number>;

export interface BatchReport {
  readonly batchItemFailures: SQSBatchItemFailure[];
  readonly counts: OutcomeCounts;
  /** Enqueue-to-commit latency of each applied or rejected command, in ms (from SQS SentTimestamp). */
  readonly latenciesMs: number[];
  /** TransactWriteItems requests sent for this batch, including those that lost a race. */
  readonly writeRequests: number;
  /** Write capacity DynamoDB reported as consumed by the committed transactions. */
  readonly consumedWriteCapacity: number;
  /** Write capacity AWS would bill for them (DynamoDB Local under-reports transactions). */
  readonly billedWriteCapacity: number;
}

export interface ProcessorLog {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface CommandProcessorOptions {
  readonly store: EventStore;
  readonly registry: EntityRegistry;
  readonly log: ProcessorLog;
  /** Without it, malformed messages are reported as failures and reach the DLQ through the redrive policy. */
  readonly deadLetters?: DeadLetters;
  readonly commandRecordDays: number;
  /** The audit's retention per source kind (defaults in shared/persistence/auditLog.ts). */
  readonly auditRetentionDays?: AuditRetention;
  readonly maxCommitAttempts: number;
  readonly clock?: () => Date;
}

type Parsed = { ok: true; command: IncomingCommand; group: string } | { ok: false; reason: string };

/**
 * Applies a batch of SQS FIFO messages exactly once and in order per group. It tries the cheapest commit
 * that keeps the guarantees first and falls back step by step:
 *   1. the whole batch in ONE transaction (group commit);
 *   2. on a lost race, each message group in its own transaction, groups in parallel, with bounded
 *      optimistic retry (reload, decide again);
 *   3. if a group still fails, its messages one at a time, in order: the first that fails and every later
 *      message of its group are reported in `batchItemFailures`, and SQS redelivers them.
 */
export class CommandProcessor {
  private readonly clock: () => Date;

  constructor(private readonly options: CommandProcessorOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  async processBatch(records: readonly SQSRecord[]): Promise<BatchReport> {
    const counts: OutcomeCounts = { applied: 0, rejected: 0, duplicate: 0, reused: 0, malformed: 0, failed: 0 };
    const latenciesMs: number[] = [];
    const usage = { writeRequests: 0, consumedWriteCapacity: 0, billedWriteCapacity: 0 };
    const failures = new Set<string>();
    const groups = new Map<string, IncomingCommand[]>();
    const sentAt = new Map(records.map((r) => [r.messageId, Number(r.attributes.SentTimestamp)]));

    for (const record of records) {
      const parsed = this.parse(record);
      if (parsed.ok) {
        const group = groups.get(parsed.group) ?? [];
        group.push(parsed.command);
        groups.set(parsed.group, group);
        continue;
      }
      // A group that already has a failure keeps failing from there on, so its order holds.
      counts.malformed++;
      this.options.log.error('malformed command message', { messageId: record.messageId, reason: parsed.reason });
      if (!this.options.deadLetters) {
        failures.add(record.messageId);
        continue;
      }
      try {
        await this.options.deadLetters.forward(record, parsed.reason);
      } catch (error) {
        this.options.log.error('could not forward to the dead-letter queue', {
          messageId: record.messageId,
          error: String(error),
        });
        failures.add(record.messageId);
      }
    }

    const tally = (commands: readonly IncomingCommand[], outcomes: readonly Outcome[]): void => {
      outcomes.forEach((o, i) => {
        counts[o.kind]++;
        const sent = sentAt.get(commands[i]!.messageId);
        if ((o.kind === 'applied' || o.kind === 'rejected') && sent) latenciesMs.push(Date.now() - sent);
      });
    };
    const fail = (commands: readonly IncomingCommand[]): void => {
      for (const u of commands) failures.add(u.messageId);
      counts.failed += commands.length;
    };

    let pending = [...groups.values()];
    // A group that follows one of its own malformed messages must not overtake it (only without a DLQ).
    pending = pending.map((commands) => cutAtFirstFailure(commands, records, failures, fail));

    // Group commit. A lost race names the items that lost it: only the groups touching them fall back to their
    // own transactions, the rest commit together again after a fresh load.
    let together = pending;
    pending = [];
    for (let round = 1; together.length > 1 && round <= GROUP_COMMIT_ROUNDS; round++) {
      const all = together.flat();
      try {
        tally(all, await this.commitOnce(all, usage));
        together = [];
      } catch (error) {
        if (!(error instanceof CommitConflict) || error.failedKeys.size === 0) {
          if (!(error instanceof CommitConflict || error instanceof TooLarge))
            this.options.log.warn('group commit failed; committing per group', { error: String(error) });
          break;
        }
        const lost = together.filter((commands) => keysToLoad(commands).some((k) => error.failedKeys.has(k.pk)));
        if (lost.length === 0) break;
        pending.push(...lost);
        together = together.filter((commands) => !lost.includes(commands));
      }
    }
    pending.push(...together);

    await Promise.all(
      pending.map(async (commands) => {
        if (commands.length > 1) {
          try {
            tally(commands, await this.commitWithRetry(commands, usage));
            return;
          } catch (error) {
            this.options.log.warn('group commit of one message group failed; committing one by one', {
              error: String(error),
            });
          }
        }
        for (let i = 0; i < commands.length; i++) {
          try {
            tally([commands[i]!], await this.commitWithRetry([commands[i]!], usage));
          } catch (error) {
            this.options.log.error('command failed; it and the rest of its group go back to the queue', {
              messageId: commands[i]!.messageId,
              commandId: commands[i]!.envelope.commandId,
              error: String(error),
            });
            fail(commands.slice(i));
            return;
          }
        }
      }),
    );

    return {
      batchItemFailures: records.filter((r) => failures.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId })),
      counts,
      latenciesMs,
      ...usage,
    };
  }

  private parse(record: SQSRecord): Parsed {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
    const envelope = CommandEnvelope.safeParse(body);
    if (!envelope.success)
      return {
        ok: false,
        reason:
          `not a command envelope: ${envelope.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`.slice(
            0,
            1000,
          ),
      };
    const env = envelope.data;
    const type = this.options.registry.get(env.entityType);
    if (!type) return { ok: false, reason: `unknown entity type ${env.entityType}` };
    if (!type.idPattern.test(env.entityId))
      return { ok: false, reason: `${env.entityType} id does not match ${type.idPattern}` };
    const group = messageGroupIdFor(env.entityType, env.entityId);
    const sentGroup = record.attributes.MessageGroupId;
    if (sentGroup !== undefined && sentGroup !== group)
      return { ok: false, reason: `message group ${sentGroup} is not the group of ${env.entityType} ${env.entityId}` };
    return {
      ok: true,
      group,
      command: {
        messageId: record.messageId,
        envelope: env,
        type,
        payloadHash: payloadHashOf(env),
        command: parseCommand(type, env.command),
      },
    };
  }

  private async commitWithRetry(commands: readonly IncomingCommand[], usage: Usage): Promise<Outcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commitOnce(commands, usage);
      } catch (error) {
        if (!(error instanceof CommitConflict) || attempt >= this.options.maxCommitAttempts) throw error;
        await sleep(backoffMs(attempt, 10, 500, 'equal'));
      }
    }
  }

  /** Load, decide, commit: one consistent read round and one transaction. */
  private async commitOnce(commands: readonly IncomingCommand[], usage: Usage): Promise<Outcome[]> {
    const [loaded, bases] = await Promise.all([
      this.options.store.getMany(keysToLoad(commands)),
      recoveryBases(this.options.store, commands),
    ]);
    const changes = decideBatch(commands, loaded, bases);
    const items = commitItems(changes, {
      tableName: this.options.store.tableName,
      now: this.clock(),
      commandRecordDays: this.options.commandRecordDays,
      ...(this.options.auditRetentionDays ? { auditRetentionDays: this.options.auditRetentionDays } : {}),
    });
    if (items.length > MAX_TRANSACTION_ITEMS) throw new TooLarge(items.length);
    if (items.length > 0) usage.writeRequests++;
    const capacity = await this.options.store.commit(items);
    usage.consumedWriteCapacity += capacity.reported;
    usage.billedWriteCapacity += capacity.billed;
    return [...changes.outcomes];
  }
}

/** The history each rollback or repair in the batch rests on (rare: most batches read nothing here). */
async function recoveryBases(
  store: EventStore,
  commands: readonly IncomingCommand[],
): Promise<Map<string, RecoveryBasis>> {
  const bases = new Map<string, RecoveryBasis>();
  const reads = commands.flatMap((c) => {
    if (!c.command.valid || !isRecoveryCommandType(c.command.value.type)) return [];
    const command = c.command.value as RecoveryCommand;
    const own = c.envelope.entityId;
    const targets =
      command.type === 'RollBack'
        ? [
            { entityId: own, toVersion: command.toVersion, expectedVersion: command.expectedVersion },
            ...command.related,
          ]
        : command.type === 'RepairState'
          ? [{ entityId: own, toVersion: command.expectedVersion, expectedVersion: command.expectedVersion }]
          : [];
    const history = new History(store, c.type);
    return targets
      .filter((t) => c.type.idPattern.test(t.entityId))
      .map(async (t) => {
        const basis = await recoveryBasis(history, t.entityId, t.toVersion, t.expectedVersion);
        if (basis) bases.set(basisKey(entityPk(c.type.keyPrefix, t.entityId), t.toVersion, t.expectedVersion), basis);
      });
  });
  await Promise.all(reads);
  return bases;
}

/** Whole-batch transactions tried before every remaining group commits on its own. */
const GROUP_COMMIT_ROUNDS = 3;

interface Usage {
  writeRequests: number;
  consumedWriteCapacity: number;
  billedWriteCapacity: number;
}

class TooLarge extends Error {
  constructor(items: number) {
    super(`${items} items do not fit in one transaction`);
  }
}

function cutAtFirstFailure(
  commands: IncomingCommand[],
  records: readonly SQSRecord[],
  failures: Set<string>,
  fail: (commands: readonly IncomingCommand[]) => void,
): IncomingCommand[] {
  if (failures.size === 0 || commands.length === 0) return commands;
  const position = new Map(records.map((r, i) => [r.messageId, i]));
  const group = records.find((r) => r.messageId === commands[0]!.messageId)?.attributes.MessageGroupId;
  const firstFailed = records.findIndex((r) => failures.has(r.messageId) && r.attributes.MessageGroupId === group);
  if (firstFailed < 0) return commands;
  const cut = commands.findIndex((u) => position.get(u.messageId)! > firstFailed);
  if (cut < 0) return commands;
  fail(commands.slice(cut));
  return commands.slice(0, cut);
}
