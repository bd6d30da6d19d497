import { defineEntityType, type Claim } from '../../engine/entityType.js';
import {
  normalizePlayerName,
  playerCommandSchema,
  type PlayerCommand,
  type PlayerCommandOf,
} from './commandSchemas.js';
import { decide } from './decide.js';
import { currencyFlow, type PlayerEvent } from './events.js';
import { evolve } from './evolve.js';
import { gameConfig, type GameConfig } from './gameConfig.js';
import { initialPlayerState, playerStateSchema, type PlayerState } from './state.js';
import { playerInvariantViolations } from './invariants.js';

/**
 * The unique facts a player command takes: a name forever, a payment order forever (a provider may redeliver a
 * webhook years later), a task's reward and a trade for long enough to outlive any retry.
 */
export function claims(command: PlayerCommand, playerId: string): readonly Claim[] {
  switch (command.type) {
    case 'CreatePlayer':
      return [
        {
          key: `NAME#${normalizePlayerName(command.name)}`,
          kind: 'NAME',
          conflict: { code: 'NAME_TAKEN', message: `the name ${command.name} is taken` },
        },
      ];
    case 'CreditPurchase':
      return [
        {
          key: `PAY#${command.provider}#${command.orderId}`,
          kind: 'PAY',
          conflict: {
            code: 'ORDER_ALREADY_CREDITED',
            message: `${command.provider} order ${command.orderId} was already credited`,
          },
        },
      ];
    case 'GrantReward':
      return [
        {
          key: `TASK#${command.taskId}#${playerId}`,
          kind: 'TASK',
          retentionDays: 400,
          conflict: {
            code: 'REWARD_ALREADY_GRANTED',
            message: `the reward of task ${command.taskId} was already granted`,
          },
        },
      ];
    case 'Trade':
      return [
        {
          key: `TRADE#${command.tradeId}`,
          kind: 'TRADE',
          retentionDays: 400,
          conflict: { code: 'TRADE_ALREADY_SETTLED', message: `trade ${command.tradeId} was already settled` },
        },
      ];
    case 'StartCultivation':
      return [
        {
          key: `CULTIVATION#${command.sessionId}#${playerId}`,
          kind: 'CULTIVATION',
          retentionDays: 400,
          conflict: {
            code: 'SESSION_ALREADY_STARTED',
            message: `cultivation session ${command.sessionId} was already started`,
          },
        },
      ];
    case 'RecordCombatResult':
      return [
        {
          key: `COMBAT#${command.combatId}#${playerId}`,
          kind: 'COMBAT',
          retentionDays: 400,
          conflict: {
            code: 'COMBAT_ALREADY_RECORDED',
            message: `combat ${command.combatId} was already recorded for ${playerId}`,
          },
        },
      ];
    case 'AdjustBalance':
    case 'AdjustInventory':
      return operatorClaims(command, playerId);
    case 'BanPlayer':
    case 'UnbanPlayer':
    case 'SpendCurrency':
    case 'AddExperience':
    case 'ConsumeEnergy':
    case 'RestoreEnergy':
    case 'GrantItem':
    case 'UseItem':
    case 'PurchaseItem':
    case 'CompleteCultivation':
      return [];
  }
}

/**
 * An approved change applies once per approval, and a bulk grant once per player, for longer than any command
 * record lives (two approvals racing, a bulk grant resumed weeks later).
 */
function operatorClaims(command: PlayerCommandOf<'AdjustBalance' | 'AdjustInventory'>, playerId: string): Claim[] {
  const claims: Claim[] = [];
  if (command.approval)
    claims.push({
      key: `APPROVAL#${command.approval.approvalId}#${playerId}`,
      kind: 'APPROVAL',
      retentionDays: 400,
      conflict: {
        code: 'APPROVAL_ALREADY_APPLIED',
        message: `approval ${command.approval.approvalId} was already applied`,
      },
    });
  if (command.bulkGrantId !== undefined)
    claims.push({
      key: `BULK#${command.bulkGrantId}#${playerId}`,
      kind: 'BULK',
      retentionDays: 400,
      conflict: {
        code: 'BULK_GRANT_ALREADY_APPLIED',
        message: `bulk grant ${command.bulkGrantId} was already applied to ${playerId}`,
      },
    });
  return claims;
}

export const player = defineEntityType<PlayerState, PlayerCommand, PlayerEvent, GameConfig>({
  name: 'player',
  keyPrefix: 'P',
  idPattern: /^[A-Za-z0-9_-]{1,64}$/,
  commandSchema: playerCommandSchema,
  config: gameConfig,
  initialState: initialPlayerState,
  decide,
  evolve,
  related: (command) => (command.type === 'Trade' ? [command.counterpartyId] : []),
  claims,
  invariants: playerInvariantViolations,
  stateSchema: playerStateSchema,
  ledger: {
    fields: ['gold', 'spiritStones'],
    flow: (event) => {
      const f = currencyFlow(event);
      return { gold: f.gold, spiritStones: f.spiritStones };
    },
  },
});

export { decide } from './decide.js';
export { evolve } from './evolve.js';
export { playerInvariantViolations } from './invariants.js';
export {
  initialPlayerState,
  PROFILE_FIELDS,
  type PlayerProfile,
  countOf,
  banLasting,
  type Ban,
  noStatistics,
  type PlayerState,
  type CultivationSession,
  type StatisticsCounters,
} from './state.js';
export {
  normalizePlayerName,
  playerCommandSchema,
  type PlayerCommand,
  type PlayerCommandType,
  type PlayerCommandOf,
} from './commandSchemas.js';
export {
  currencyFlow,
  type CurrencyFlow,
  type PlayerEvent,
  type PlayerEventType,
  type Goods,
  type ItemQuantity,
} from './events.js';
export { ownerViewOfEvent, ownerViewOfSource, type OwnerEvent } from './ownerView.js';
export {
  gameConfig,
  maxAmount,
  levelForExperience,
  realmOfLevel,
  experienceToReach,
  itemDefinition,
  marketOffer,
  shopSku,
  paymentCheck,
  type PaymentCheck,
  type PaymentPolicy,
  technique,
  type Technique,
  type GameConfig,
  type Attributes,
  type AttributeName,
  type Currency,
  type ItemDefinition,
  type Realm,
} from './gameConfig.js';
