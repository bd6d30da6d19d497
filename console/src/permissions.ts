/**
 * What the console shows each operator: the server's roles (shared/http/operatorRoles.ts) spelled out again for
 * the browser, which only hides what the server would refuse; the server is the authority. A test
 * (test/e2e/consoleApi.test.ts) fails when the two tables disagree.
 */
export const OPERATOR_ROLES = ['viewer', 'support', 'gm', 'ops'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** The roles that hold each role's rights: viewer ⊂ support ⊂ gm, viewer ⊂ ops. */
const HOLDERS: Readonly<Record<OperatorRole, readonly OperatorRole[]>> = {
  viewer: ['viewer', 'support', 'gm', 'ops'],
  support: ['support', 'gm'],
  gm: ['gm'],
  ops: ['ops'],
};

/** Each action the console offers and the least role it takes. */
export const CONSOLE_PERMISSIONS = {
  'players.read': 'viewer',
  'payments.read': 'viewer',
  'deadLetters.read': 'viewer',
  'checks.read': 'viewer',
  'backups.read': 'viewer',
  'audit.read': 'viewer',
  'stats.read': 'viewer',
  'balances.adjust': 'support',
  'items.grant': 'support',
  'payments.resolve': 'support',
  'players.rollback': 'gm',
  'players.quarantine': 'gm',
  'players.ban': 'gm',
  'deadLetters.resolve': 'ops',
  'checks.run': 'ops',
  'players.repair': 'ops',
  'backups.run': 'ops',
  'drills.run': 'ops',
} as const satisfies Record<string, OperatorRole>;

export type ConsolePermission = keyof typeof CONSOLE_PERMISSIONS;

export function rolesAllowed(permission: ConsolePermission): readonly OperatorRole[] {
  return HOLDERS[CONSOLE_PERMISSIONS[permission]];
}

export function can(roles: readonly OperatorRole[], permission: ConsolePermission): boolean {
  const allowed = rolesAllowed(permission);
  return roles.some((r) => allowed.includes(r));
}
