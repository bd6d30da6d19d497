import { creditCommand, move, playerExists, reconcilePayment, type PaymentDesk } from './intake.js';
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
  desk: PaymentDesk,
  provider: string,
  orderId: string,
  note: OperatorNote & { playerId?: string },
): Promise<ResolutionResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = await paymentRecord(desk, provider, orderId);
    if (!record) return { refused: 'PAYMENT_NOT_FOUND', message: `no payment ${provider}/${orderId}` };
    if (record.status !== 'disputed' && record.status !== 'unmatched')
      return {
        refused: 'PAYMENT_NOT_OPEN',
        message: `payment ${provider}/${orderId} is ${record.status}; only disputed or unmatched payments are credited by hand`,
      };
    const playerId = note.playerId ?? record.credit.entityId;
    if (!(await playerExists(desk, playerId)))
      return { refused: 'PLAYER_NOT_FOUND', message: `player ${playerId} does not exist` };
    // A credit that was never sent keeps its id; one that was sent (and rejected) is spent, so the next is a new id.
    const spent = record.lastSentAt !== undefined;
    const number = spent ? record.attempts : record.attempts - 1;
    const resolution = { operator: note.operator, reason: note.reason, ticket: note.ticket };
    const credit = creditCommand(record, playerId, number, desk.now(), resolution);
    const at = desk.now().toISOString();
    const next = move(
      record,
      'queued',
      at,
      `operator:${note.operator}`,
      { note: `credit to ${playerId}`, reason: note.reason, ticket: note.ticket },
      undefined,
      {
        credit,
        attempts: number + 1,
        resolution: { action: 'credit', ...resolution, at },
      },
    );
    const { lastSentAt: _lastSentAt, ...unsent } = next.record;
    const stored = await replacePayment(desk, record, unsent);
    if (stored) return { payment: await reconcilePayment(desk, stored, { resendAfterMs: 0 }) };
  }
  throw new Error(`payment ${provider}/${orderId} kept changing under the operator's credit`);
}

/** An operator closes a disputed or unmatched payment without crediting it (refunded at the provider, fraud, a test). */
export async function dismissByOperator(
  desk: PaymentDesk,
  provider: string,
  orderId: string,
  note: OperatorNote,
): Promise<ResolutionResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = await paymentRecord(desk, provider, orderId);
    if (!record) return { refused: 'PAYMENT_NOT_FOUND', message: `no payment ${provider}/${orderId}` };
    if (record.status !== 'disputed' && record.status !== 'unmatched')
      return {
        refused: 'PAYMENT_NOT_OPEN',
        message: `payment ${provider}/${orderId} is ${record.status}; only disputed or unmatched payments are dismissed`,
      };
    const at = desk.now().toISOString();
    const next = move(
      record,
      'dismissed',
      at,
      `operator:${note.operator}`,
      { reason: note.reason, ticket: note.ticket },
      record.problem,
      {
        resolution: { action: 'dismiss', operator: note.operator, reason: note.reason, ticket: note.ticket, at },
      },
    );
    const stored = await replacePayment(desk, record, next.record);
    if (stored) return { payment: stored };
  }
  throw new Error(`payment ${provider}/${orderId} kept changing under the operator's dismissal`);
}
