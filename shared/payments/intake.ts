import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import type { EventStore } from '../persistence/eventStore.js';
import { commandEnvelope, type CommandEnvelope } from '../engine/envelope.js';
import { entityState } from '../engine/queries.js';
import { gameConfig, paymentCheck, player, type PlayerState } from '../domain/player/index.js';
import {
  paymentRecord,
  replacePayment,
  storePayment,
  type PaidNotice,
  type PaymentHistoryEntry,
  type PaymentRecord,
  type PaymentStatus,
  type PaymentTable,
} from './paymentRecords.js';

export interface PaymentDeps extends PaymentTable {
  readonly db: DynamoDBDocumentClient;
  readonly store: EventStore;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

/** What the webhook answers. `duplicate` is true only for an order seen before whose outcome is known. */
export interface PaymentOutcome {
  readonly status: PaymentStatus;
  readonly duplicate: boolean;
  readonly commandId: string;
  readonly problem?: { readonly code: string; readonly message: string };
}

/**
 * Takes a verified paid notice. The first delivery of an order stores its record (with what the intake decided:
 * queued, unmatched or disputed) before anything is sent, so nothing acknowledged can be lost. A later delivery
 * never trusts the queue to have kept the credit: it reconciles the order, re-sending a credit that has no
 * recorded outcome yet (its command id makes that exactly-once).
 */
export async function acceptPayment(deps: PaymentDeps, notice: PaidNotice): Promise<PaymentOutcome> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const seen = await paymentRecord(deps, notice.provider, notice.orderId);
    if (seen) {
      const now = await reconcilePayment(deps, seen, { resendAfterMs: 0 });
      return outcomeOf(now, now.status !== 'queued');
    }
    const fresh = await firstRecord(deps, notice);
    if (await storePayment(deps, fresh)) {
      if (fresh.status === 'queued') return outcomeOf(await sendCredit(deps, fresh), false);
      return outcomeOf(fresh, false);
    }
    // Another delivery of the same order stored it first: answer from its record.
  }
  throw new Error(`payment ${notice.provider}/${notice.orderId} kept changing under the intake`);
}

/** What a read shows: the payment settled from its credit's outcome, without sending anything. */
export function withCreditOutcome(deps: PaymentDeps, record: PaymentRecord): Promise<PaymentRecord> {
  return reconcilePayment(deps, record, { resendAfterMs: Infinity, match: false });
}

/**
 * Brings one payment's status up to date with its credit's outcome: queued → credited (applied) or disputed
 * (rejected); a queued credit without an outcome is re-sent when it was last sent more than `resendAfterMs` ago;
 * an unmatched payment whose player now exists is queued and sent. Safe to run anywhere, any number of times.
 */
export async function reconcilePayment(
  deps: PaymentDeps,
  record: PaymentRecord,
  options: ReconcileOptions,
): Promise<PaymentRecord> {
  let current = record;
  for (let attempt = 0; attempt < 5; attempt++) {
    const next = await nextStep(deps, current, options);
    if (!next) return current;
    if (next.kind === 'send') return sendCredit(deps, next.record);
    const stored = await replacePayment(deps, current, next.record);
    if (stored) return stored.status === 'queued' ? sendCredit(deps, stored) : stored;
    const reread = await paymentRecord(deps, current.provider, current.orderId);
    if (!reread) throw new Error(`payment ${current.provider}/${current.orderId} vanished`);
    current = reread;
  }
  return current;
}

export interface ReconcileOptions {
  /** Re-send a queued credit without an outcome once it was last sent this long ago (Infinity: never). */
  readonly resendAfterMs: number;
  /** Queue an unmatched payment whose player exists now (default true; reads that only settle pass false). */
  readonly match?: boolean;
}

type Step = { kind: 'move'; record: Omit<PaymentRecord, 'revision'> } | { kind: 'send'; record: PaymentRecord };

/** What the payment needs now, or undefined when it is up to date. */
async function nextStep(
  deps: PaymentDeps,
  record: PaymentRecord,
  options: ReconcileOptions,
): Promise<Step | undefined> {
  const at = deps.now().toISOString();
  if (record.status === 'queued') {
    const outcome = await deps.store.commandRecord(record.credit.commandId);
    if (outcome?.status === 'applied')
      return move(record, 'credited', at, 'reconciler', { note: `credited at version ${outcome.version}` });
    if (outcome?.status === 'rejected') {
      const problem = { code: outcome.code ?? 'REJECTED', message: outcome.message ?? 'the credit was rejected' };
      return move(record, 'disputed', at, 'reconciler', { note: `${problem.code}: ${problem.message}` }, problem);
    }
    const lastSent = record.lastSentAt ? Date.parse(record.lastSentAt) : 0;
    return deps.now().getTime() - lastSent >= options.resendAfterMs ? { kind: 'send', record } : undefined;
  }
  if (record.status === 'unmatched' && options.match !== false && (await playerExists(deps, record.credit.entityId)))
    return move(record, 'queued', at, 'reconciler', { note: `player ${record.credit.entityId} exists now` }, undefined);
  return undefined;
}

/** The record after a change of status, with the change appended to its history. */
export function move(
  record: PaymentRecord,
  status: PaymentStatus,
  at: string,
  by: string,
  entry: Omit<PaymentHistoryEntry, 'at' | 'status' | 'by'>,
  problem: PaymentRecord['problem'] = record.problem,
  changes: Partial<PaymentRecord> = {},
): { kind: 'move'; record: Omit<PaymentRecord, 'revision'> } {
  const { revision: _revision, problem: _problem, ...rest } = record;
  return {
    kind: 'move',
    record: {
      ...rest,
      ...(problem && status !== 'queued' && status !== 'credited' ? { problem } : {}),
      ...changes,
      status,
      updatedAt: at,
      history: [...record.history, { at, status, by, ...entry }],
    },
  };
}

/** Sends the record's credit and notes when; the note is best effort (a lost one only means an earlier re-send). */
async function sendCredit(deps: PaymentDeps, record: PaymentRecord): Promise<PaymentRecord> {
  await deps.queue.send([record.credit]);
  const sent = await replacePayment(deps, record, { ...withoutRevision(record), lastSentAt: deps.now().toISOString() });
  return sent ?? record;
}

async function firstRecord(deps: PaymentDeps, notice: PaidNotice): Promise<PaymentRecord> {
  const at = deps.now().toISOString();
  const credit = creditCommand(notice, notice.playerId, 0, deps.now());
  const base = { ...notice, credit, attempts: 1, receivedAt: at, updatedAt: at, revision: 0 };
  const check = paymentCheck(gameConfig, notice);
  if (!check.ok) {
    const problem = { code: check.code, message: check.message };
    return {
      ...base,
      status: 'disputed',
      problem,
      history: [{ at, status: 'disputed', by: 'intake', note: `${check.code}: ${check.message}` }],
    };
  }
  if (!(await playerExists(deps, notice.playerId))) {
    const problem = { code: 'PLAYER_NOT_FOUND', message: `player ${notice.playerId} does not exist (yet)` };
    return {
      ...base,
      status: 'unmatched',
      problem,
      history: [{ at, status: 'unmatched', by: 'intake', note: problem.message }],
    };
  }
  return { ...base, status: 'queued', history: [{ at, status: 'queued', by: 'intake' }] };
}

/**
 * The credit of an order. Attempt 0 has the id every path derives from [payment, provider, order], so a replay,
 * the reconciler and an operator assignment are all one command; a later attempt (after a rejection) is a new
 * id, and the PAY claim still credits the order at most once.
 */
export function creditCommand(
  notice: PaidNotice,
  playerId: string,
  attempt: number,
  now: Date,
  resolution?: { operator: string; reason: string; ticket: string },
): CommandEnvelope {
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: {
      type: 'CreditPurchase',
      provider: notice.provider,
      orderId: notice.orderId,
      sku: notice.sku,
      paid: { amount: notice.amount, currency: notice.currency.toUpperCase() },
      ...(resolution ? { resolution } : {}),
    },
    source: resolution ? { kind: 'operator', actor: resolution.operator } : { kind: 'payment', actor: notice.provider },
    identity:
      attempt === 0
        ? ['payment', notice.provider, notice.orderId]
        : ['payment', notice.provider, notice.orderId, `attempt:${attempt}`],
    issuedAt: now,
    correlationId: notice.eventId,
  });
}

export async function playerExists(deps: Pick<PaymentDeps, 'store'>, playerId: string): Promise<boolean> {
  const found = await entityState<PlayerState>(deps.store, player, playerId);
  return found?.state.exists === true;
}

export function withoutRevision(record: PaymentRecord): Omit<PaymentRecord, 'revision'> {
  const { revision: _revision, ...rest } = record;
  return rest;
}

function outcomeOf(record: PaymentRecord, duplicate: boolean): PaymentOutcome {
  return {
    status: record.status,
    duplicate,
    commandId: record.credit.commandId,
    ...(record.problem && record.status !== 'credited' && record.status !== 'queued'
      ? { problem: record.problem }
      : {}),
  };
}
