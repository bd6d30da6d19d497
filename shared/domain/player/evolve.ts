import type { Attributes } from './gameConfig.js';
import type { Goods, ItemQuantity, PlayerEvent } from './events.js';
import { countOf, noStatistics, type PlayerState } from './state.js';

/** Folds one event into the state. Reads nothing but the event: no config, so history never changes meaning. */
export function evolve(state: PlayerState, event: PlayerEvent): PlayerState {
  switch (event.type) {
    case 'PlayerCreated': {
      const { type: _created, ...profile } = event;
      return { exists: true, ...profile, attributes: { ...profile.attributes }, inventory: {} };
    }
    case 'PurchaseCredited':
      return { ...state, spiritStones: state.spiritStones + event.spiritStones };
    case 'RewardGranted':
      return {
        ...state,
        gold: state.gold + event.gold,
        spiritStones: state.spiritStones + event.spiritStones,
        inventory: withItems(state.inventory, event.items, +1),
      };
    case 'CurrencySpent':
      return { ...state, [event.currency]: state[event.currency] - event.amount };
    case 'ExperienceGained':
      return { ...state, experience: state.experience + event.amount };
    case 'LevelledUp':
      return {
        ...state,
        level: event.level,
        maxEnergy: event.maxEnergy,
        attributes: addAttributes(state.attributes, event.attributeGains),
      };
    case 'RealmAdvanced':
      return {
        ...state,
        realm: event.realm,
        maxEnergy: event.maxEnergy,
        attributes: addAttributes(state.attributes, event.attributeGains),
      };
    case 'EnergyConsumed':
      return { ...state, energy: state.energy - event.amount };
    case 'EnergyRestored':
      return { ...state, energy: state.energy + event.amount };
    case 'ItemGranted':
      return { ...state, inventory: withItems(state.inventory, [event], +1) };
    case 'ItemUsed':
      return { ...state, inventory: withItems(state.inventory, [event], -1) };
    case 'TradeCompleted':
      return receive(give(state, event.gave), event.received);
    case 'ItemPurchased':
      return {
        ...state,
        [event.currency]: state[event.currency] - event.price * event.quantity,
        inventory: withItems(state.inventory, [event], +1),
      };
    case 'CultivationStarted':
      return {
        ...state,
        cultivating: { sessionId: event.sessionId, techniqueId: event.techniqueId, startedAt: event.startedAt },
      };
    case 'CultivationCompleted': {
      const { cultivating: _done, ...rest } = state;
      const stats = state.statistics ?? noStatistics;
      const c = stats.cultivation;
      return {
        ...rest,
        statistics: {
          ...stats,
          cultivation: {
            sessions: c.sessions + 1,
            seconds: c.seconds + event.seconds,
            experience: c.experience + event.experience,
          },
        },
      };
    }
    case 'CombatRecorded': {
      const stats = state.statistics ?? noStatistics;
      const c = stats.combat;
      const rewarded = receive(state, event);
      return {
        ...rewarded,
        statistics: {
          ...stats,
          combat: {
            fought: c.fought + 1,
            wins: c.wins + (event.outcome === 'win' ? 1 : 0),
            losses: c.losses + (event.outcome === 'loss' ? 1 : 0),
            draws: c.draws + (event.outcome === 'draw' ? 1 : 0),
          },
        },
      };
    }
    case 'BalanceAdjusted':
      return { ...state, [event.currency]: state[event.currency] + event.delta };
    case 'PlayerBanned': {
      const { type: _banned, ...ban } = event;
      return { ...state, ban };
    }
    case 'PlayerUnbanned': {
      const { ban: _lifted, ...rest } = state;
      return rest;
    }
    case 'InventoryAdjusted':
      return {
        ...state,
        inventory: withItems(
          state.inventory,
          [{ itemId: event.itemId, quantity: Math.abs(event.delta) }],
          event.delta > 0 ? 1 : -1,
        ),
      };
  }
}

function give(state: PlayerState, goods: Goods): PlayerState {
  return {
    ...state,
    gold: state.gold - goods.gold,
    spiritStones: state.spiritStones - goods.spiritStones,
    inventory: withItems(state.inventory, goods.items, -1),
  };
}

function receive(state: PlayerState, goods: Goods): PlayerState {
  return {
    ...state,
    gold: state.gold + goods.gold,
    spiritStones: state.spiritStones + goods.spiritStones,
    inventory: withItems(state.inventory, goods.items, +1),
  };
}

function withItems(
  inventory: PlayerState['inventory'],
  items: readonly ItemQuantity[],
  sign: 1 | -1,
): PlayerState['inventory'] {
  const next: Record<string, number> = { ...inventory };
  for (const { itemId, quantity } of items) {
    const count = countOf(next, itemId) + sign * quantity;
    if (count === 0) delete next[itemId];
    else next[itemId] = count;
  }
  return next;
}

function addAttributes(attributes: Attributes, gains: Attributes): Attributes {
  return {
    strength: attributes.strength + gains.strength,
    agility: attributes.agility + gains.agility,
    intelligence: attributes.intelligence + gains.intelligence,
    constitution: attributes.constitution + gains.constitution,
  };
}
