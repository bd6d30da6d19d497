import { isDeepStrictEqual } from 'node:util';
import type { AnyEntityType } from './entityType.js';
import type { EventItem, StateItem } from '../persistence/tableLayout.js';

/**
 * What must hold for every entity, whatever its type (G1, G3): versions 1..n without gaps, the stored state
 * equal to the fold of its events, no command applied twice, and the type's own invariants.
 */
export function auditEntity(
  type: AnyEntityType,
  stateItem: StateItem | undefined,
  events: readonly EventItem[],
): string[] {
  const broken: string[] = [];
  events.forEach((e, i) => {
    if (e.version !== i + 1) broken.push(`event item ${i + 1} has version ${e.version}`);
  });
  const version = stateItem?.version ?? 0;
  if (version !== events.length)
    broken.push(`state is at version ${version} but ${events.length} versions of events exist`);
  const commands = new Set<string>();
  for (const e of events) {
    if (commands.has(e.commandId)) broken.push(`command ${e.commandId} applied twice`);
    commands.add(e.commandId);
  }
  if (stateItem) {
    const folded = events.flatMap((e) => e.events).reduce((s: unknown, e) => type.evolve(s, e), type.initialState());
    // Stored states went through DynamoDB, so compare in the shape they have there.
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(folded)), JSON.parse(JSON.stringify(stateItem.state))))
      broken.push('state differs from the fold of its events');
    for (const v of type.invariants?.(stateItem.state, type.config) ?? []) broken.push(v);
  }
  return broken;
}
