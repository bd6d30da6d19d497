import type { EventStore } from '../shared/persistence/eventStore.js';
import {
  EVENT_SK_PREFIX,
  STATE_SK,
  entityPk,
  type CommandRecord,
  type EventItem,
  type StateItem,
} from '../shared/persistence/tableLayout.js';
import { checkEntity } from '../shared/checker/entityCheck.js';
import { currencyFlow, player, type PlayerEvent, type PlayerState } from '../shared/domain/player/index.js';
import { COMMAND_SK, commandPk } from '../shared/persistence/tableLayout.js';
import type { DemoPayment } from './workload.js';

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
export async function auditPlayers(
  store: EventStore,
  playerIds: readonly string[],
  commandIds: readonly string[],
): Promise<PlayerAudit> {
  const entityProblems: string[] = [];
  const applied = new Map<string, number>(); // commandId -> event items holding it
  let balances = { gold: 0, spiritStones: 0 };
  let flows = { credit: 0, spend: 0, trade: 0, rollback: 0 };
  let negative = 0;
  const states = await store.getMany(playerIds.map((id) => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK })));
  for (const id of playerIds) {
    const pk = entityPk(player.keyPrefix, id);
    const state = states.get(`${pk}|${STATE_SK}`) as StateItem<PlayerState> | undefined;
    const items = await store.partition(pk);
    const events = items.filter((i) => String(i.sk).startsWith(EVENT_SK_PREFIX)) as unknown as EventItem<PlayerEvent>[];
    for (const f of checkEntity(player, { entityId: id, items }).findings) entityProblems.push(`${id}: ${f.detail}`);
    for (const e of events) applied.set(e.commandId, (applied.get(e.commandId) ?? 0) + 1);
    if (state) {
      balances = {
        gold: balances.gold + state.state.gold,
        spiritStones: balances.spiritStones + state.state.spiritStones,
      };
      if (
        state.state.gold < 0 ||
        state.state.spiritStones < 0 ||
        Object.values(state.state.inventory).some((n) => n < 0)
      )
        negative++;
    }
    for (const event of events.flatMap((e) => e.events)) {
      const f = currencyFlow(event);
      if (f.category === 'none') continue;
      flows = { ...flows, [f.category]: flows[f.category] + f.gold + f.spiritStones };
    }
  }

  const records = new Map<string, CommandRecord>();
  const found = await store.getMany(commandIds.map((id) => ({ pk: commandPk(id), sk: COMMAND_SK })));
  for (const item of found.values())
    records.set((item as unknown as CommandRecord).commandId, item as unknown as CommandRecord);
  const missing = commandIds.filter((id) => !records.has(id));
  const appliedRecords = [...records.values()].filter((r) => r.status === 'applied');
  // A trade is in both players' logs; every other command in exactly one.
  const wrongCount = appliedRecords.filter(
    (r) => (applied.get(r.commandId) ?? 0) !== 1 + Object.keys(r.relatedVersions ?? {}).length,
  );
  const rejectedButLogged = [...records.values()].filter((r) => r.status === 'rejected' && applied.has(r.commandId));
  const total = balances.gold + balances.spiritStones;

  const checks: Check[] = [
    {
      name: 'state equals the fold of its events',
      ok: !entityProblems.some((p) => p.includes('fold')),
      detail: `${playerIds.length} players`,
    },
    {
      name: 'versions are gapless',
      ok: !entityProblems.some((p) => p.includes('version')),
      detail: `${applied.size} commands in the logs`,
    },
    {
      name: 'no negative balance or count, energy and levels sound',
      ok: negative === 0 && entityProblems.length === 0,
      detail: entityProblems.slice(0, 3).join('; ') || 'all invariants hold',
    },
    {
      name: 'currency conserved (credits - spends + rollbacks = balances, trades net zero)',
      ok: flows.trade === 0 && flows.credit + flows.spend + flows.rollback === total,
      detail: `credits ${flows.credit} + spends ${flows.spend} + rollbacks ${flows.rollback} = ${flows.credit + flows.spend + flows.rollback}, balances ${total}, trades net ${flows.trade}`,
    },
    {
      name: 'no command id applied twice',
      ok: wrongCount.length === 0 && rejectedButLogged.length === 0 && !entityProblems.some((p) => p.includes('twice')),
      detail: `${appliedRecords.length} applied commands, each in the log exactly once`,
    },
    {
      name: 'every command has an outcome (nothing lost)',
      ok: missing.length === 0,
      detail: missing.length ? `${missing.length} without a record` : `${records.size} records`,
    },
  ];
  return { checks, records };
}

/** Every player's spirit stones, read from the table (0 for a player without state). */
export async function spiritStonesOf(store: EventStore, playerIds: readonly string[]): Promise<Map<string, number>> {
  const states = await store.getMany(playerIds.map((id) => ({ pk: entityPk(player.keyPrefix, id), sk: STATE_SK })));
  return new Map(
    playerIds.map((id) => [
      id,
      (states.get(`${entityPk(player.keyPrefix, id)}|${STATE_SK}`) as StateItem<PlayerState> | undefined)?.state
        .spiritStones ?? 0,
    ]),
  );
}

/**
 * Checks from the table what a provider's payments did to their players: every payment expected to end credited
 * is one PurchaseCredited in its player's events and every other is none, and each payer's spirit stones moved
 * by exactly the credited SKUs' sizes from `stonesBefore` (or from the PlayerCreated event of a player created
 * since). The expectations come from the caller, never from the code under test.
 */
export async function auditPayments(
  store: EventStore,
  provider: string,
  payments: readonly DemoPayment[],
  stonesBefore: ReadonlyMap<string, number>,
): Promise<Check[]> {
  const payers = [...new Set(payments.map((p) => p.notice.playerId))];
  const credits = new Map<string, number>(); // orderId -> PurchaseCredited events of this provider
  const start = new Map<string, number>(stonesBefore);
  for (const id of payers) {
    for (const item of await store.allEvents<PlayerEvent>(entityPk(player.keyPrefix, id)))
      for (const e of item.events) {
        if (e.type === 'PurchaseCredited' && e.provider === provider)
          credits.set(e.orderId, (credits.get(e.orderId) ?? 0) + 1);
        if (e.type === 'PlayerCreated' && !start.has(id)) start.set(id, e.spiritStones);
      }
  }
  const wrongCredits = payments.filter((p) => (credits.get(p.notice.orderId) ?? 0) !== (p.ends === 'credited' ? 1 : 0));
  const expected = new Map<string, number>();
  for (const p of payments) expected.set(p.notice.playerId, (expected.get(p.notice.playerId) ?? 0) + p.stones);
  const after = await spiritStonesOf(store, payers);
  const wrongStones = payers.filter((id) => after.get(id)! !== (start.get(id) ?? 0) + expected.get(id)!);
  const credited = payments.filter((p) => p.ends === 'credited');
  return [
    {
      name: 'every credited order has exactly one PurchaseCredited, every other none',
      ok: wrongCredits.length === 0,
      detail: wrongCredits.length
        ? wrongCredits
            .slice(0, 3)
            .map((p) => `${p.notice.orderId}: ${credits.get(p.notice.orderId) ?? 0} credits, expected ${p.ends}`)
            .join('; ')
        : `${credited.length} orders credited once in their players' events, ${payments.length - credited.length} never`,
    },
    {
      name: "each payer's spirit stones moved by the credited SKUs' sizes",
      ok: wrongStones.length === 0,
      detail: wrongStones.length
        ? wrongStones
            .slice(0, 3)
            .map((id) => `${id}: ${after.get(id)} stones, expected ${(start.get(id) ?? 0) + expected.get(id)!}`)
            .join('; ')
        : `${payers.length} payers, +${credited.reduce((sum, p) => sum + p.stones, 0)} stones in all`,
    },
  ];
}
