import { accept, reject, type Decision } from '../../engine/decision.js';
import type { DecideContext } from '../../engine/entityType.js';
import type { PlayerCommand, PlayerCommandOf, TradeBundle } from './commandSchemas.js';
import type { Goods, ItemQuantity, PlayerEvent } from './events.js';
import {
  experienceToReach,
  itemDefinition,
  marketOffer,
  realmOfLevel,
  shopSku,
  technique,
  type GameConfig,
} from './gameConfig.js';
import { banLasting, countOf, type PlayerState } from './state.js';

type Context = DecideContext<PlayerState, GameConfig>;
type PlayerDecision = Decision<PlayerEvent>;
/** Which player of a trade a rejection is about; absent outside trades. */
type Side = 'initiator' | 'counterparty';

const nothing: Goods = { gold: 0, spiritStones: 0, items: [] };

/** The player's rules: every outcome of every command, computed from the command, the state and the context alone. */
export function decide(command: PlayerCommand, state: PlayerState, ctx: Context): PlayerDecision {
  if (command.type !== 'CreatePlayer' && !state.exists)
    return reject('PLAYER_NOT_FOUND', `player ${ctx.entityId} does not exist`);
  const { config } = ctx;
  switch (command.type) {
    case 'CreatePlayer':
      return createPlayer(command, state, config);
    case 'CreditPurchase':
      return creditPurchase(command, state, config);
    case 'GrantReward':
      return grantReward(command, state, config);
    case 'SpendCurrency':
      return spendCurrency(command, state);
    case 'AddExperience':
      return accept(experienceEvents(state, command.amount, command.source, config));
    case 'ConsumeEnergy':
      return consumeEnergy(command, state);
    case 'RestoreEnergy':
      return restoreEnergy(command, state);
    case 'GrantItem':
      return grantItem(command, state, config);
    case 'UseItem':
      return useItem(command, state, config);
    case 'Trade':
      return trade(command, state, ctx);
    case 'PurchaseItem':
      return purchaseItem(command, state, config);
    case 'AdjustBalance':
      return adjustBalance(command, state, config);
    case 'AdjustInventory':
      return adjustInventory(command, state, config);
    case 'StartCultivation':
      return startCultivation(command, state, ctx);
    case 'CompleteCultivation':
      return completeCultivation(command, state, ctx);
    case 'RecordCombatResult':
      return recordCombatResult(command, state, ctx);
    case 'BanPlayer':
      return banPlayer(command, ctx);
    case 'UnbanPlayer':
      return unbanPlayer(command, state, ctx);
    default:
      return unhandled(command);
  }
}

function createPlayer(
  command: PlayerCommandOf<'CreatePlayer'>,
  state: PlayerState,
  config: GameConfig,
): PlayerDecision {
  if (state.exists) return reject('PLAYER_EXISTS', `player ${state.name} already exists`);
  const start = config.newPlayer;
  return accept([
    {
      type: 'PlayerCreated',
      name: command.name,
      configVersion: config.version,
      level: start.level,
      realm: realmOfLevel(config, start.level).id,
      experience: experienceToReach(config, start.level),
      energy: start.energy,
      maxEnergy: start.maxEnergy,
      gold: start.gold,
      spiritStones: start.spiritStones,
      attributes: { ...start.attributes },
    },
  ]);
}

function creditPurchase(
  command: PlayerCommandOf<'CreditPurchase'>,
  state: PlayerState,
  config: GameConfig,
): PlayerDecision {
  const sku = shopSku(config, command.sku);
  if (!sku) return reject('UNKNOWN_SKU', `no shop item ${command.sku}`);
  const overflow = overflowOf(state, nothing, { ...nothing, spiritStones: sku.spiritStones }, config);
  if (overflow) return overflow;
  return accept([
    {
      type: 'PurchaseCredited',
      provider: command.provider,
      orderId: command.orderId,
      sku: command.sku,
      spiritStones: sku.spiritStones,
      price: { ...sku.price },
      ...(command.paid ? { paid: { ...command.paid } } : {}),
      ...(command.resolution ? { resolution: { ...command.resolution } } : {}),
    },
  ]);
}

function grantReward(command: PlayerCommandOf<'GrantReward'>, state: PlayerState, config: GameConfig): PlayerDecision {
  const reward = goodsOf(command);
  const problem = unknownItemIn(reward.items, config) ?? overflowOf(state, nothing, reward, config);
  if (problem) return problem;
  const granted: PlayerEvent = { type: 'RewardGranted', taskId: command.taskId, ...reward };
  if (command.experience === undefined) return accept([granted]);
  return accept([granted, ...experienceEvents(state, command.experience, `task:${command.taskId}`, config)]);
}

function spendCurrency(command: PlayerCommandOf<'SpendCurrency'>, state: PlayerState): PlayerDecision {
  const shortfall = shortfallOf(state, { ...nothing, [command.currency]: command.amount });
  if (shortfall) return shortfall;
  return accept([
    { type: 'CurrencySpent', currency: command.currency, amount: command.amount, reason: command.reason },
  ]);
}

function consumeEnergy(command: PlayerCommandOf<'ConsumeEnergy'>, state: PlayerState): PlayerDecision {
  if (state.energy < command.amount)
    return reject('INSUFFICIENT_ENERGY', `needs ${command.amount} energy, has ${state.energy}`);
  return accept([{ type: 'EnergyConsumed', amount: command.amount, reason: command.reason }]);
}

/** Restoring is clamped to maxEnergy; restoring a full player is rejected (ENERGY_FULL) rather than recorded as 0. */
function restoreEnergy(command: PlayerCommandOf<'RestoreEnergy'>, state: PlayerState): PlayerDecision {
  const room = state.maxEnergy - state.energy;
  if (room <= 0) return reject('ENERGY_FULL', `energy is already full (${state.maxEnergy})`);
  return accept([{ type: 'EnergyRestored', amount: Math.min(command.amount, room), reason: command.reason }]);
}

function grantItem(command: PlayerCommandOf<'GrantItem'>, state: PlayerState, config: GameConfig): PlayerDecision {
  const items = [{ itemId: command.itemId, quantity: command.quantity }];
  const problem = unknownItemIn(items, config) ?? overflowOf(state, nothing, { ...nothing, items }, config);
  if (problem) return problem;
  return accept([{ type: 'ItemGranted', itemId: command.itemId, quantity: command.quantity, source: command.source }]);
}

function useItem(command: PlayerCommandOf<'UseItem'>, state: PlayerState, config: GameConfig): PlayerDecision {
  const { itemId, quantity } = command;
  const definition = itemDefinition(config, itemId);
  if (!definition) return reject('UNKNOWN_ITEM', `no item ${itemId}`);
  const effect = definition.effect;
  if (!effect) return reject('ITEM_NOT_USABLE', `${itemId} cannot be used`);
  const shortfall = shortfallOf(state, { ...nothing, items: [{ itemId, quantity }] });
  if (shortfall) return shortfall;

  const energy = Math.min((effect.restoresEnergy ?? 0) * quantity, state.maxEnergy - state.energy);
  const experience = (effect.grantsExperience ?? 0) * quantity;
  // An item whose only effect is energy would be wasted on a full player.
  if (energy <= 0 && experience <= 0) return reject('ENERGY_FULL', `energy is already full (${state.maxEnergy})`);

  const reason = `item:${itemId}`;
  const events: PlayerEvent[] = [{ type: 'ItemUsed', itemId, quantity }];
  if (energy > 0) events.push({ type: 'EnergyRestored', amount: energy, reason });
  if (experience > 0) events.push(...experienceEvents(state, experience, reason, config));
  return accept(events);
}

function purchaseItem(
  command: PlayerCommandOf<'PurchaseItem'>,
  state: PlayerState,
  config: GameConfig,
): PlayerDecision {
  const { itemId, quantity } = command;
  const offer = marketOffer(config, itemId);
  if (!offer || !itemDefinition(config, itemId)) return reject('NOT_FOR_SALE', `${itemId} is not sold in the market`);
  const cost = offer.price * quantity;
  const items = [{ itemId, quantity }];
  const problem =
    shortfallOf(state, { ...nothing, [offer.currency]: cost }) ??
    overflowOf(state, nothing, { ...nothing, items }, config);
  if (problem) return problem;
  return accept([{ type: 'ItemPurchased', itemId, quantity, currency: offer.currency, price: offer.price }]);
}

/** A correction may take a balance to zero but never below, nor past the wallet limit. */
function adjustBalance(
  command: PlayerCommandOf<'AdjustBalance'>,
  state: PlayerState,
  config: GameConfig,
): PlayerDecision {
  const { currency, delta } = command;
  const balance = state[currency] + delta;
  if (balance < 0)
    return reject(
      'INSUFFICIENT_FUNDS',
      `an adjustment of ${delta} ${currency} would leave ${balance}, has ${state[currency]}`,
    );
  if (balance > config.limits.balance)
    return reject('BALANCE_LIMIT_EXCEEDED', `would hold ${balance} ${currency}, limit ${config.limits.balance}`);
  return accept([{ type: 'BalanceAdjusted', currency, delta, ...operatorTrail(command) }]);
}

/** A grant of a known item within its stack limit, or a revocation of at most what the player holds. */
function adjustInventory(
  command: PlayerCommandOf<'AdjustInventory'>,
  state: PlayerState,
  config: GameConfig,
): PlayerDecision {
  const { itemId, delta } = command;
  const items = [{ itemId, quantity: Math.abs(delta) }];
  const problem =
    delta > 0
      ? (unknownItemIn(items, config) ?? overflowOf(state, nothing, { ...nothing, items }, config))
      : shortfallOf(state, { ...nothing, items });
  if (problem) return problem;
  return accept([{ type: 'InventoryAdjusted', itemId, delta, ...operatorTrail(command) }]);
}

/** Who changed a player by hand, why, under which ticket, who approved it and as part of which bulk grant. */
function operatorTrail(command: PlayerCommandOf<'AdjustBalance' | 'AdjustInventory'>) {
  const { operator, reason, ticket, approval, bulkGrantId } = command;
  return {
    operator,
    reason,
    ticket,
    ...(approval ? { approval: { ...approval } } : {}),
    ...(bulkGrantId !== undefined ? { bulkGrantId } : {}),
  };
}

/** The initiator (this player) gives `give` and receives `receive`; both sides record the same trade. */
function trade(command: PlayerCommandOf<'Trade'>, state: PlayerState, ctx: Context): PlayerDecision {
  const { tradeId, counterpartyId } = command;
  if (counterpartyId === ctx.entityId) return reject('SELF_TRADE', 'a player cannot trade with themself');
  const counterparty = Object.hasOwn(ctx.related, counterpartyId) ? ctx.related[counterpartyId] : undefined;
  if (!counterparty?.exists) return reject('COUNTERPARTY_NOT_FOUND', `player ${counterpartyId} does not exist`);

  const gave = goodsOf(command.give);
  const received = goodsOf(command.receive);
  const problem =
    unknownItemIn([...gave.items, ...received.items], ctx.config) ??
    shortfallOf(state, gave, 'initiator') ??
    shortfallOf(counterparty, received, 'counterparty') ??
    overflowOf(state, gave, received, ctx.config, 'initiator') ??
    overflowOf(counterparty, received, gave, ctx.config, 'counterparty');
  if (problem) return problem;

  return accept([{ type: 'TradeCompleted', tradeId, counterpartyId, role: 'initiator', gave, received }], {
    [counterpartyId]: [
      {
        type: 'TradeCompleted',
        tradeId,
        counterpartyId: ctx.entityId,
        role: 'counterparty',
        gave: received,
        received: gave,
      },
    ],
  });
}

/**
 * ExperienceGained, then one LevelledUp per threshold crossed, each followed by RealmAdvanced when its level opens a
 * new realm. Every event carries the resulting values, computed here from the config.
 */
function experienceEvents(state: PlayerState, amount: number, source: string, config: GameConfig): PlayerEvent[] {
  const events: PlayerEvent[] = [{ type: 'ExperienceGained', amount, source }];
  const experience = state.experience + amount;
  let { maxEnergy, realm } = state;
  for (
    let level = state.level + 1;
    level <= config.maxLevel && experience >= experienceToReach(config, level);
    level++
  ) {
    maxEnergy += config.levelUp.maxEnergyGain;
    events.push({ type: 'LevelledUp', level, attributeGains: { ...config.levelUp.attributeGains }, maxEnergy });
    const reached = realmOfLevel(config, level).id;
    if (reached !== realm) {
      realm = reached;
      maxEnergy += config.breakthrough.maxEnergyGain;
      events.push({
        type: 'RealmAdvanced',
        realm,
        attributeGains: { ...config.breakthrough.attributeGains },
        maxEnergy,
      });
    }
  }
  return events;
}

function startCultivation(
  command: PlayerCommandOf<'StartCultivation'>,
  state: PlayerState,
  ctx: Context,
): PlayerDecision {
  if (state.cultivating) return reject('ALREADY_CULTIVATING', `session ${state.cultivating.sessionId} is under way`);
  const chosen = technique(ctx.config, command.techniqueId);
  if (!chosen) return reject('UNKNOWN_TECHNIQUE', `no technique ${command.techniqueId}`);
  if (state.energy < chosen.energyCost)
    return reject('INSUFFICIENT_ENERGY', `needs ${chosen.energyCost} energy, has ${state.energy}`);
  return accept([
    { type: 'CultivationStarted', sessionId: command.sessionId, techniqueId: command.techniqueId, startedAt: ctx.now },
    { type: 'EnergyConsumed', amount: chosen.energyCost, reason: `cultivation:${command.sessionId}` },
  ]);
}

/** Experience from the elapsed time (the command's issue time minus the start) at the technique's rate, capped. */
function completeCultivation(
  command: PlayerCommandOf<'CompleteCultivation'>,
  state: PlayerState,
  ctx: Context,
): PlayerDecision {
  const session = state.cultivating;
  if (!session) return reject('NOT_CULTIVATING', 'no cultivation session is under way');
  if (session.sessionId !== command.sessionId)
    return reject('UNKNOWN_SESSION', `session ${command.sessionId} is not the one under way (${session.sessionId})`);
  const used = technique(ctx.config, session.techniqueId);
  const seconds = Math.max(0, Math.floor((Date.parse(ctx.now) - Date.parse(session.startedAt)) / 1000));
  const experience = used
    ? Math.min(Math.floor((seconds * used.experiencePerMinute) / 60), used.maxExperiencePerSession)
    : 0;
  const completed: PlayerEvent = {
    type: 'CultivationCompleted',
    sessionId: session.sessionId,
    techniqueId: session.techniqueId,
    seconds,
    experience,
  };
  if (experience === 0) return accept([completed]);
  return accept([completed, ...experienceEvents(state, experience, `cultivation:${session.sessionId}`, ctx.config)]);
}

function recordCombatResult(
  command: PlayerCommandOf<'RecordCombatResult'>,
  state: PlayerState,
  ctx: Context,
): PlayerDecision {
  if (command.opponentId === ctx.entityId) return reject('SELF_COMBAT', 'a player cannot fight themself');
  const rewards = goodsOf(command.rewards);
  const problem = unknownItemIn(rewards.items, ctx.config) ?? overflowOf(state, nothing, rewards, ctx.config);
  if (problem) return problem;
  const recorded: PlayerEvent = {
    type: 'CombatRecorded',
    combatId: command.combatId,
    ...(command.opponentId !== undefined ? { opponentId: command.opponentId } : {}),
    kind: command.kind,
    outcome: command.outcome,
    ...rewards,
  };
  if (command.rewards.experience === undefined) return accept([recorded]);
  return accept([
    recorded,
    ...experienceEvents(state, command.rewards.experience, `combat:${command.combatId}`, ctx.config),
  ]);
}

/** A ban starts at the command's issue time; a new ban over a lasting one replaces it (a longer or shorter term). */
function banPlayer(command: PlayerCommandOf<'BanPlayer'>, ctx: Context): PlayerDecision {
  const { operator, reason, ticket, until } = command;
  if (until !== undefined && Date.parse(until) <= Date.parse(ctx.now))
    return reject('BAN_ALREADY_OVER', `a ban until ${until} would end before it starts (${ctx.now})`);
  return accept([
    {
      type: 'PlayerBanned',
      since: ctx.now,
      operator,
      reason,
      ticket,
      ...(until !== undefined ? { until: new Date(until).toISOString() } : {}),
    },
  ]);
}

function unbanPlayer(command: PlayerCommandOf<'UnbanPlayer'>, state: PlayerState, ctx: Context): PlayerDecision {
  if (!banLasting(state.ban, ctx.now)) return reject('NOT_BANNED', `player ${ctx.entityId} is not banned`);
  const { operator, reason, ticket } = command;
  return accept([{ type: 'PlayerUnbanned', operator, reason, ticket }]);
}

function goodsOf(bundle: TradeBundle): Goods {
  return { gold: bundle.gold ?? 0, spiritStones: bundle.spiritStones ?? 0, items: bundle.items ?? [] };
}

function unknownItemIn(items: readonly ItemQuantity[], config: GameConfig): PlayerDecision | undefined {
  const unknown = items.find((item) => !itemDefinition(config, item.itemId));
  return unknown && reject('UNKNOWN_ITEM', `no item ${unknown.itemId}`);
}

/** The first thing `holder` lacks to hand over `goods`, as a rejection naming the side in trades. */
function shortfallOf(holder: PlayerState, goods: Goods, side?: Side): PlayerDecision | undefined {
  const who = side ? `${side} ` : '';
  for (const currency of ['gold', 'spiritStones'] as const) {
    if (holder[currency] < goods[currency])
      return reject('INSUFFICIENT_FUNDS', `${who}needs ${goods[currency]} ${currency}, has ${holder[currency]}`);
  }
  for (const { itemId, quantity } of goods.items) {
    const held = countOf(holder.inventory, itemId);
    if (held < quantity) return reject('INSUFFICIENT_ITEMS', `${who}needs ${quantity} ${itemId}, has ${held}`);
  }
  return undefined;
}

/** What would push `holder` past a wallet or stack limit after handing over `out` and taking in `incoming`. */
function overflowOf(
  holder: PlayerState,
  out: Goods,
  incoming: Goods,
  config: GameConfig,
  side?: Side,
): PlayerDecision | undefined {
  const who = side ? `${side} ` : '';
  for (const currency of ['gold', 'spiritStones'] as const) {
    const balance = holder[currency] - out[currency] + incoming[currency];
    if (balance > config.limits.balance)
      return reject(
        'BALANCE_LIMIT_EXCEEDED',
        `${who}would hold ${balance} ${currency}, limit ${config.limits.balance}`,
      );
  }
  for (const { itemId, quantity } of incoming.items) {
    const given = out.items.find((item) => item.itemId === itemId)?.quantity ?? 0;
    const count = countOf(holder.inventory, itemId) - given + quantity;
    const stackLimit = itemDefinition(config, itemId)?.stackLimit ?? 0;
    if (count > stackLimit)
      return reject('STACK_LIMIT_EXCEEDED', `${who}would hold ${count} ${itemId}, stack limit ${stackLimit}`);
  }
  return undefined;
}

function unhandled(command: never): never {
  throw new Error(`unhandled player command ${JSON.stringify(command)}`);
}
