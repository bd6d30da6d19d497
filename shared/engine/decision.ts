/** What a decider returns: events to commit, or a domain rejection (a recorded outcome, not an error). */
export type Decision<E> =
  | {
      readonly outcome: 'accepted';
      readonly events: readonly E[];
      readonly related: Readonly<Record<string, readonly E[]>>;
    }
  | { readonly outcome: 'rejected'; readonly code: string; readonly message: string };

/** Accept with the events of the command's own entity and, for multi-entity commands (a trade), those of the others. */
export function accept<E>(events: readonly E[], related: Readonly<Record<string, readonly E[]>> = {}): Decision<E> {
  return { outcome: 'accepted', events, related };
}

export function reject<E = never>(code: string, message: string): Decision<E> {
  return { outcome: 'rejected', code, message };
}
