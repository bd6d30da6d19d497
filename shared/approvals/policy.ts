import type { Config } from '../config.js';
import { DEFAULT_OPERATOR_LIMITS, type OperatorLimits } from '../http/operatorRoles.js';

/** What a change is measured in for approvals and limits: a currency, or items (their quantity). */
export type Measure = 'gold' | 'spiritStones' | 'items';

/** The limits operators work under, from the config (shared/config.ts) with these defaults. */
export interface OperatorPolicy extends OperatorLimits {
  /** Per UTC day and currency, the sum of absolute amounts a support operator may adjust without an approval. */
  readonly supportDailyLimit: number;
  /** Above these an adjustment, or a bulk grant's total, is a request a second operator approves or declines. */
  readonly approvalThresholds: Readonly<Record<Measure, number>>;
  /** How long a request stays pending before it expires. */
  readonly approvalTtlMs: number;
}

export const DEFAULT_SUPPORT_DAILY_LIMIT = 5_000;
export const DEFAULT_APPROVAL_THRESHOLDS: Readonly<Record<Measure, number>> = {
  gold: 100_000,
  spiritStones: 10_000,
  items: 1_000,
};
export const DEFAULT_APPROVAL_TTL_HOURS = 72;

export function operatorPolicy(
  config: Pick<Config, 'supportAdjustmentLimit' | 'supportDailyLimit' | 'approvalThresholds' | 'approvalTtlHours'>,
): OperatorPolicy {
  return {
    supportAdjustmentLimit: config.supportAdjustmentLimit ?? DEFAULT_OPERATOR_LIMITS.supportAdjustmentLimit,
    supportDailyLimit: config.supportDailyLimit ?? DEFAULT_SUPPORT_DAILY_LIMIT,
    approvalThresholds: { ...DEFAULT_APPROVAL_THRESHOLDS, ...config.approvalThresholds },
    approvalTtlMs: (config.approvalTtlHours ?? DEFAULT_APPROVAL_TTL_HOURS) * 3_600_000,
  };
}

/** True if moving `amount` (absolute) of `measure` takes a second operator's approval. */
export function needsApproval(policy: OperatorPolicy, measure: Measure, amount: number): boolean {
  return Math.abs(amount) > policy.approvalThresholds[measure];
}
