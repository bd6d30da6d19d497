import type { CommandQueue } from '../messaging/commandQueue.js';
import type { EventStore } from '../persistence/eventStore.js';
import type { CommandRecord } from '../persistence/tableLayout.js';
import { commandEnvelope, payloadHashOf, type CommandEnvelope } from '../engine/envelope.js';
import { commandStatus, type CommandStatusView } from '../engine/queries.js';
import { sleep } from '../backoff.js';
import { HttpError } from './errors.js';
import { sourceKindOf, type Caller } from './caller.js';

export interface CommandChannel {
  readonly store: EventStore;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export type Submission = { envelope: CommandEnvelope; outcome: CommandStatusView };

/**
 * Enqueues a player command whose id derives from [caller kind, caller, player, key], so a retried request is the
 * same command. A record for that id with another payload is a reused key: 409, before sending or after the wait.
 */
export async function submitPlayerCommand(
  channel: CommandChannel,
  caller: Exclude<Caller, { kind: 'anonymous' }>,
  playerId: string,
  command: { type: string } & Record<string, unknown>,
  key: string,
  waitMs: number,
): Promise<Submission> {
  const kind = sourceKindOf(caller);
  const envelope = commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command,
    source: { kind, actor: caller.id },
    identity: [kind, caller.id, playerId, key],
    issuedAt: channel.now(),
  });
  let record = await channel.store.commandRecord(envelope.commandId);
  if (!record) {
    await channel.queue.send([envelope]);
    record = await awaitRecord(channel.store, envelope.commandId, waitMs);
  }
  return { envelope, outcome: await outcomeOfThisRequest(channel.store, envelope, record) };
}

/**
 * The outcome of this request's payload: the record may be another payload's under the same key (a reuse in
 * flight), whose outcome is never reported as this one's.
 */
async function outcomeOfThisRequest(
  store: EventStore,
  envelope: CommandEnvelope,
  record: CommandRecord | undefined,
): Promise<CommandStatusView> {
  if (!record) return { commandId: envelope.commandId, status: 'queued' };
  if (record.payloadHash !== payloadHashOf(envelope))
    throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for another request');
  // A command record is written once, so this reads the record just checked.
  return commandStatus(store, envelope.commandId);
}

/** Polls the command record until it exists or `waitMs` has passed (`Prefer: wait=N`); one read when 0. */
async function awaitRecord(store: EventStore, commandId: string, waitMs: number): Promise<CommandRecord | undefined> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(500, delay * 2)) {
    const record = await store.commandRecord(commandId);
    if (record || Date.now() + delay > deadline) return record;
    await sleep(delay);
  }
}

/** The public shape of an outcome: where it applied is the caller's own player, so it is not repeated. */
export function outcomeBody(view: CommandStatusView): Record<string, unknown> {
  if (view.status === 'queued') return { commandId: view.commandId, status: 'queued' };
  if (view.status === 'applied') return { commandId: view.commandId, status: 'applied', version: view.version };
  return {
    commandId: view.commandId,
    status: 'rejected',
    code: view.code,
    message: view.message,
    version: view.version,
  };
}
