import type { Caller } from './caller.js';
import { forbidden, HttpError, unauthorized } from './errors.js';

/**
 * What an operator may do, checked on the server for every admin action (the console only hides what is refused
 * here). Four roles, from the operator's `groups` (`cognito:groups` on AWS):
 *
 * - `viewer` reads everything: players' history and diffs, payments, dead letters, check reports, backups, the audit.
 * - `support` is a viewer who also adjusts balances up to a limit per action, grants and revokes items, and credits
 *   or dismisses disputed and unmatched payments.
 * - `gm` is a support operator without the limit, who also rolls back, quarantines and releases, bans and unbans.
 * - `ops` is a viewer who also runs the machinery: dead letters, checks and repairs, rebuilds, reconciliation and
 *   reward runs, backups, restores and drills. It moves no money by hand: that stays with support and gm.
 *
 * So `viewer` ⊂ `support` ⊂ `gm`, and `viewer` ⊂ `ops`; an operator with several roles has the union. Callers the
 * internal API authenticates by IAM (automation, the local admin token) carry every role.
 */
export const OPERATOR_ROLES = ['viewer', 'support', 'gm', 'ops'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** The roles that hold each role's rights: the inheritance above, spelled out. */
const HOLDERS: Readonly<Record<OperatorRole, readonly OperatorRole[]>> = {
  viewer: ['viewer', 'support', 'gm', 'ops'],
  support: ['support', 'gm'],
  gm: ['gm'],
  ops: ['ops'],
};

/** Every admin action, the least role it needs, and how a refusal names it. */
const PERMISSIONS = {
  'players.read': { role: 'viewer', does: 'read player history' },
  'payments.read': { role: 'viewer', does: 'read payments' },
  'deadLetters.read': { role: 'viewer', does: 'list dead letters' },
  'checks.read': { role: 'viewer', does: 'read consistency checks' },
  'backups.read': { role: 'viewer', does: 'read backups and drills' },
  'audit.read': { role: 'viewer', does: 'read the audit' },
  'stats.read': { role: 'viewer', does: 'read the system statistics' },
  'approvals.read': { role: 'viewer', does: 'read approval requests' },
  'bulkGrants.read': { role: 'viewer', does: 'read bulk grants' },
  'balances.adjust': { role: 'support', does: 'adjust balances' },
  'items.grant': { role: 'support', does: 'grant or revoke items' },
  'payments.resolve': { role: 'support', does: 'credit or dismiss payments' },
  'players.rollback': { role: 'gm', does: 'roll players back' },
  'players.quarantine': { role: 'gm', does: 'quarantine or release players' },
  'players.ban': { role: 'gm', does: 'ban or unban players' },
  'bulkGrants.run': { role: 'gm', does: 'run bulk grants' },
  'deadLetters.resolve': { role: 'ops', does: 'replay or discard dead letters' },
  'checks.run': { role: 'ops', does: 'run consistency checks' },
  'players.repair': { role: 'ops', does: 'repair players from their events' },
  'readSide.rebuild': { role: 'ops', does: 'rebuild the read side' },
  'payments.reconcile': { role: 'ops', does: 'reconcile payments' },
  'rewards.run': { role: 'ops', does: 'run daily rewards' },
  'backups.run': { role: 'ops', does: 'take or verify backups' },
  'backups.restore': { role: 'ops', does: 'restore backups' },
  'drills.run': { role: 'ops', does: 'run recovery drills' },
} as const satisfies Record<string, { role: OperatorRole; does: string }>;

export type Permission = keyof typeof PERMISSIONS;

/** The roles allowed `permission`. */
export function rolesAllowed(permission: Permission): readonly OperatorRole[] {
  return HOLDERS[PERMISSIONS[permission].role];
}

type Operator = Extract<Caller, { kind: 'operator' }>;

/**
 * Refuses the call unless the caller is an operator holding a role allowed `permission`: anonymous is 401, a
 * player or service 403, an operator without the role 403. Call it first: a refusal writes nothing.
 */
export function requirePermission(caller: Caller, permission: Permission): Operator {
  if (caller.kind === 'anonymous') throw unauthorized();
  if (caller.kind !== 'operator') throw forbidden(`${caller.kind} callers may not use this route`);
  const allowed = rolesAllowed(permission);
  if (caller.roles.some((r) => allowed.includes(r))) return caller;
  throw forbidden(
    `operator ${caller.id} (${caller.roles.join(', ') || 'no role'}) may not ${PERMISSIONS[permission].does}: it takes the ${allowed.join(' or ')} role`,
  );
}

/** Limits of the support role (the gm role has none). */
export interface OperatorLimits {
  /** The largest balance change (either sign) one support adjustment may make. */
  readonly supportAdjustmentLimit: number;
}

/** Until the config carries GAMEKEEP_SUPPORT_ADJUSTMENT_LIMIT. */
export const DEFAULT_OPERATOR_LIMITS: OperatorLimits = { supportAdjustmentLimit: 1000 };

/** A support operator's adjustment beyond its limit is refused (403 `OVER_ADJUSTMENT_LIMIT`); a gm's never is. */
export function requireAdjustmentWithinLimit(operator: Operator, delta: number, limits: OperatorLimits): void {
  if (operator.roles.includes('gm') || Math.abs(delta) <= limits.supportAdjustmentLimit) return;
  throw new HttpError(
    403,
    'OVER_ADJUSTMENT_LIMIT',
    `operator ${operator.id} may adjust a balance by at most ${limits.supportAdjustmentLimit} per action; ${Math.abs(delta)} takes the gm role`,
  );
}
