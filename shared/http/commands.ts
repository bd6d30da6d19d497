import type { CommandQueue } from '../messaging/commandQueue.js';
import type { EventStore } from '../persistence/eventStore.js';
import { commandEnvelope, payloadHashOf, type CommandEnvelope } from '../engine/envelope.js';
import { commandStatus, type CommandStatusView } from '../engine/queries.js';
import { sleep } from '../persistence/eventStore.js';
import { HttpError } from './errors.js';
import { sourceKindOf, type Caller } from './caller.js';

export interface CommandGateway {
  readonly store: EventStore;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export type Submission = { envelope: CommandEnvelope; outcome: CommandStatusView };

/**
 * Enqueues a player command whose id derives from [caller kind, caller, player, key], so a retried request is the
 * same command. A record for that id with another payload is a reused key: 409, nothing sent.
 */
export async function submitPlayerCommand(
  gw: CommandGateway,
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
    issuedAt: gw.now(),
  });
  const record = await gw.store.commandRecord(envelope.commandId);
  if (record) {
    if (record.payloadHash !== payloadHashOf(envelope))
      throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for another request');
    return { envelope, outcome: await commandStatus(gw.store, envelope.commandId) };
  }
  await gw.queue.send([envelope]);
  return { envelope, outcome: await awaitOutcome(gw.store, envelope.commandId, waitMs) };
}

/** Polls the command record until it exists or `waitMs` has passed (`Prefer: wait=N`). */
export async function awaitOutcome(store: EventStore, commandId: string, waitMs: number): Promise<CommandStatusView> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(500, delay * 2)) {
    const status = await commandStatus(store, commandId);
    if (status.status !== 'queued' || Date.now() + delay > deadline) return status;
    await sleep(delay);
  }
}

/** The public shape of an outcome: where it applied is the caller's own player, so it is not repeated. */
export function outcomeBody(view: CommandStatusView): Record<string, unknown> {
  if (view.status === 'queued') return { commandId: view.commandId, status: 'queued' };
  if (view.status === 'applied') return { commandId: view.commandId, status: 'applied', version: view.version };
  return { commandId: view.commandId, status: 'rejected', code: view.code, message: view.message, version: view.version };
}
