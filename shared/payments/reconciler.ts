import { reconcilePayment, type PaymentDeps } from './intake.js';
import { listPayments, type ListedStatus, type PaymentStatus } from './paymentRecords.js';

/** A credit queued less than this long ago is left alone: it is most likely still waiting in the queue. */
export const DEFAULT_RESEND_AFTER_MS = 2 * 60_000;

export interface ReconciliationReport {
  /** Open payments looked at (queued and unmatched). */
  readonly checked: number;
  /** How many of them ended the pass in each status. */
  readonly ended: Readonly<Record<PaymentStatus, number>>;
  /** Credits sent again because they had no outcome (or an unmatched payment's player appeared). */
  readonly sent: number;
  /** False when the time budget ran out before every open payment was looked at. */
  readonly complete: boolean;
}

/**
 * One pass over every open payment: queued credits become credited or disputed from their outcome (or are re-sent
 * when they have none after `resendAfterMs`), and unmatched payments whose player exists now are credited. Runs
 * on a schedule (every few minutes on AWS, every few seconds in `npm start`) and on demand from the admin API, so
 * no payment depends on its provider replaying the webhook.
 */
export async function reconcileOpenPayments(
  deps: PaymentDeps,
  options: { resendAfterMs?: number; remainingMs?: () => number; pageSize?: number } = {},
): Promise<ReconciliationReport> {
  const { resendAfterMs = DEFAULT_RESEND_AFTER_MS, remainingMs = () => Infinity, pageSize = 100 } = options;
  const ended: Record<PaymentStatus, number> = { queued: 0, credited: 0, unmatched: 0, disputed: 0, dismissed: 0 };
  let checked = 0;
  let sent = 0;
  for (const status of ['queued', 'unmatched'] as const satisfies readonly ListedStatus[]) {
    let after: string | undefined;
    do {
      if (remainingMs() < 2_000) return { checked, ended, sent, complete: false };
      const page = await listPayments(deps, status, pageSize, after);
      // A page's payments belong to different players: reconcile them side by side.
      const results = await Promise.all(page.items.map((record) => reconcilePayment(deps, record, { resendAfterMs })));
      results.forEach((now, i) => {
        const before = page.items[i]!;
        checked++;
        ended[now.status]++;
        if (now.lastSentAt !== before.lastSentAt) sent++;
      });
      after = page.next ?? undefined;
    } while (after);
  }
  return { checked, ended, sent, complete: true };
}
