import type { EventStore } from '../shared/persistence/eventStore.js';
import { STATE_SK, entityPk, type CommandRecord, type EventItem, type StateItem } from '../shared/persistence/tableLayout.js';
import { auditEntity } from '../shared/engine/audit.js';
import { currencyFlow, player, type PlayerEvent, type PlayerState } from '../shared/domain/player/index.js';
import { COMMAND_SK, commandPk } from '../shared/persistence/tableLayout.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface PlayerAudit {
  readonly checks: Check[];
  readonly records: Map<string, CommandRecord>;
}

/**
 * Reads every player's state and events and every command's record back from the table and checks the
 * guarantees end to end: G3 per player, currency conservation across players, and G1 per command (each sent
 * command has exactly one outcome, and an applied one is in the event log exactly once).
 */
export async function auditPlayers(store: EventStore, playerIds: readonly string[], commandIds: readonly string[]): Promise<PlayerAudit> {
  const entityProblems: string[] = [];
  const applied = new Map<string, number>(); // commandId -> event items holding it
  let balances = { gold: 0, spiritStones: 0 };
  let flows = { credit: 0, spend: 0, trade: 0 };
  let negative = 0;
  const states = await store.getMany(playerIds.map((id) => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK })));
  for (const id of playerIds) {
    const pk = entityPk(player.keyPrefix, id);
    const state = states.get(`${pk}|${STATE_SK}`) as StateItem<PlayerState> | undefined;
    const events: EventItem<PlayerEvent>[] = await store.allEvents<PlayerEvent>(pk);
    for (const p of auditEntity(player, state, events)) entityProblems.push(`${id}: ${p}`);
    for (const e of events) applied.set(e.commandId, (applied.get(e.commandId) ?? 0) + 1);
    if (state) {
      balances = { gold: balances.gold + state.state.gold, spiritStones: balances.spiritStones + state.state.spiritStones };
      if (state.state.gold < 0 || state.state.spiritStones < 0 || Object.values(state.state.inventory).some((n) => n < 0)) negative++;
    }
    for (const event of events.flatMap((e) => e.events)) {
      const f = currencyFlow(event);
      if (f.category === 'none') continue;
      flows = { ...flows, [f.category]: flows[f.category] + f.gold + f.spiritStones };
    }
  }

  const records = new Map<string, CommandRecord>();
  const found = await store.getMany(commandIds.map((id) => ({ pk: commandPk(id), sk: COMMAND_SK })));
  for (const item of found.values()) records.set((item as unknown as CommandRecord).commandId, item as unknown as CommandRecord);
  const missing = commandIds.filter((id) => !records.has(id));
  const appliedRecords = [...records.values()].filter((r) => r.status === 'applied');
  // A trade is in both players' logs; every other command in exactly one.
  const wrongCount = appliedRecords.filter((r) => (applied.get(r.commandId) ?? 0) !== 1 + Object.keys(r.relatedVersions ?? {}).length);
  const rejectedButLogged = [...records.values()].filter((r) => r.status === 'rejected' && applied.has(r.commandId));
  const total = balances.gold + balances.spiritStones;

  const checks: Check[] = [
    { name: 'state equals the fold of its events', ok: !entityProblems.some((p) => p.includes('fold')), detail: `${playerIds.length} players` },
    { name: 'versions are gapless', ok: !entityProblems.some((p) => p.includes('version')), detail: `${applied.size} commands in the logs` },
    { name: 'no negative balance or count, energy and levels sound', ok: negative === 0 && entityProblems.length === 0, detail: entityProblems.slice(0, 3).join('; ') || 'all invariants hold' },
    {
      name: 'currency conserved (credits - spends = balances, trades net zero)',
      ok: flows.trade === 0 && flows.credit + flows.spend === total,
      detail: `credits ${flows.credit} + spends ${flows.spend} = ${flows.credit + flows.spend}, balances ${total}, trades net ${flows.trade}`,
    },
    {
      name: 'no command id applied twice',
      ok: wrongCount.length === 0 && rejectedButLogged.length === 0 && !entityProblems.some((p) => p.includes('twice')),
      detail: `${appliedRecords.length} applied commands, each in the log exactly once`,
    },
    { name: 'every command has an outcome (nothing lost)', ok: missing.length === 0, detail: missing.length ? `${missing.length} without a record` : `${records.size} records` },
  ];
  return { checks, records };
}
