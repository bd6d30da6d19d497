import { createContext, useContext } from 'react';
import type { Api } from './api/client';
import type { Session } from './auth';
import { can, type ConsolePermission } from './permissions';

export interface Operator {
  readonly api: Api;
  readonly session: Session;
}

export const OperatorContext = createContext<Operator | undefined>(undefined);

export function useOperator(): Operator {
  const operator = useContext(OperatorContext);
  if (!operator) throw new Error('no signed-in operator');
  return operator;
}

/** Whether the operator's roles allow `permission` (the console hides what the server would refuse). */
export function useCan(permission: ConsolePermission): boolean {
  return can(useOperator().session.roles, permission);
}
