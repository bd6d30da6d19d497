import { creditCommand, move, playerExists, reconcilePayment, type PaymentDeps } from './intake.js';
import { paymentRecord, replacePayment, type OperatorNote, type PaymentRecord } from './paymentRecords.js';

/** Why an operator's resolution was refused; the HTTP layer maps these to 404 / 409. */
export type ResolutionRefusal =
  | { readonly refused: 'PAYMENT_NOT_FOUND'; readonly message: string }
  | { readonly refused: 'PAYMENT_NOT_OPEN'; readonly message: string }
  | { readonly refused: 'PLAYER_NOT_FOUND'; readonly message: string };

export type ResolutionResult = { readonly payment: PaymentRecord } | ResolutionRefusal;

/**
 * An operator credits a payment the intake could not: a disputed one (an amount outside the policy, a rejected
 * credit) or an unmatched one, optionally to another player. The credit is a CreditPurchase carrying the operator,
 * the reason and the ticket, so the ledger row and the audit row commit with the effect; the order's PAY claim
 * still credits it at most once.
 */
export async function creditByOperator(
  deps: PaymentDeps,
  provider: string,
  orderId: string,
  note: OperatorNote & { playerId?: string },
): Promise<ResolutionResult> {
  const result = await resolveOpenPayment(deps, provider, orderId, 'credited', async (record) => {
    const playerId = note.playerId ?? record.credit.entityId;
    if (!(await playerExists(deps, playerId)))
      return { refused: 'PLAYER_NOT_FOUND', message: `player ${playerId} does not exist` };
    // A credit that was never sent keeps its id; one that was sent (and rejected) is spent, so the next is a new id.
    const number = record.lastSentAt !== undefined ? record.attempts : record.attempts - 1;
    const resolution = { operator: note.operator, reason: note.reason, ticket: note.ticket };
    const at = deps.now().toISOString();
    const next = move(
      record,
      'queued',
      at,
      `operator:${note.operator}`,
      { note: `credit to ${playerId}`, reason: note.reason, ticket: note.ticket },
      undefined,
      {
        credit: creditCommand(record, playerId, number, deps.now(), resolution),
        attempts: number + 1,
        resolution: { action: 'credit', ...resolution, at },
      },
    );
    const { lastSentAt: _lastSentAt, ...unsent } = next.record;
    return unsent;
  });
  return 'payment' in result ? { payment: await reconcilePayment(deps, result.payment, { resendAfterMs: 0 }) } : result;
}

/** An operator closes a disputed or unmatched payment without crediting it (refunded at the provider, fraud, a test). */
export function dismissByOperator(
  deps: PaymentDeps,
  provider: string,
  orderId: string,
  note: OperatorNote,
): Promise<ResolutionResult> {
  return resolveOpenPayment(deps, provider, orderId, 'dismissed', async (record) => {
    const at = deps.now().toISOString();
    const resolution = {
      action: 'dismiss' as const,
      operator: note.operator,
      reason: note.reason,
      ticket: note.ticket,
      at,
    };
    const by = `operator:${note.operator}`;
    return move(record, 'dismissed', at, by, { reason: note.reason, ticket: note.ticket }, record.problem, {
      resolution,
    }).record;
  });
}

/**
 * The shared part of every resolution: only a disputed or unmatched payment is resolved, and the change is written
 * only if nobody changed the record in between (else it is read and decided again).
 */
async function resolveOpenPayment(
  deps: PaymentDeps,
  provider: string,
  orderId: string,
  verb: string,
  resolve: (record: PaymentRecord) => Promise<Omit<PaymentRecord, 'revision'> | ResolutionRefusal>,
): Promise<ResolutionResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = await paymentRecord(deps, provider, orderId);
    if (!record) return { refused: 'PAYMENT_NOT_FOUND', message: `no payment ${provider}/${orderId}` };
    if (record.status !== 'disputed' && record.status !== 'unmatched')
      return {
        refused: 'PAYMENT_NOT_OPEN',
        message: `payment ${provider}/${orderId} is ${record.status}; only disputed or unmatched payments are ${verb} by hand`,
      };
    const next = await resolve(record);
    if ('refused' in next) return next;
    const stored = await replacePayment(deps, record, next);
    if (stored) return { payment: stored };
  }
  throw new Error(`payment ${provider}/${orderId} kept changing under an operator's resolution`);
}
