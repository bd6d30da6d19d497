import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type EventItem, type StateItem } from '../persistence/tableLayout.js';
import type { AnyEntityType } from './entityType.js';
import { COMMAND_ID_PATTERN } from './envelope.js';

export type CommandStatusView =
  | { commandId: string; status: 'queued' }
  | { commandId: string; status: 'applied'; version: number; entityType: string; entityId: string }
  | { commandId: string; status: 'rejected'; code: string; message: string; version: number; entityType: string; entityId: string };

/** A command's outcome; `queued` until its record exists (it may also never have been sent). */
export async function commandStatus(store: EventStore, commandId: string): Promise<CommandStatusView> {
  if (!COMMAND_ID_PATTERN.test(commandId)) throw new Error('not a command id');
  const r = await store.commandRecord(commandId);
  if (!r) return { commandId, status: 'queued' };
  const where = { version: r.version, entityType: r.entityType, entityId: r.entityId };
  return r.status === 'applied' ? { commandId, status: 'applied', ...where } : { commandId, status: 'rejected', code: r.code ?? 'REJECTED', message: r.message ?? '', ...where };
}

/** The current state of an entity with its version (strongly consistent), or undefined if it was never written. */
export async function entityState<S>(store: EventStore, type: AnyEntityType, entityId: string): Promise<{ version: number; state: S } | undefined> {
  if (!type.idPattern.test(entityId)) throw new Error(`${type.name} id does not match ${type.idPattern}`);
  const item = await store.item<StateItem<S>>({ pk: entityPk(type.keyPrefix, entityId), sk: STATE_SK });
  return item ? { version: item.version, state: item.state } : undefined;
}

/** One page of an entity's audit trail after `afterVersion`, with the cursor for the next page. */
export async function entityEvents<E>(
  store: EventStore,
  type: AnyEntityType,
  entityId: string,
  afterVersion = 0,
  limit = 100,
): Promise<{ items: EventItem<E>[]; nextAfterVersion: number | undefined }> {
  if (!type.idPattern.test(entityId)) throw new Error(`${type.name} id does not match ${type.idPattern}`);
  return store.events<E>(entityPk(type.keyPrefix, entityId), afterVersion, Math.min(Math.max(1, limit), 500));
}
