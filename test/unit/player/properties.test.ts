import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  currencyFlow,
  decide,
  evolve,
  gameConfig,
  initialPlayerState,
  itemDefinition,
  levelForExperience,
  player,
  playerCommandSchema,
  realmOfLevel,
  type PlayerCommand,
  type PlayerEvent,
  type PlayerState,
} from '../../../shared/domain/player/index.js';
import { contextFor, fold } from './given.js';

// Two players trade with each other; 'ghost' never exists. Commands are valid-shaped, many are meant to be rejected.
const PLAYERS = ['a', 'b'] as const;
type PlayerId = (typeof PLAYERS)[number];
const config = gameConfig;
const itemIds = [...Object.keys(config.items), 'dragon-egg'];

const small = (max: number) => fc.integer({ min: 1, max });
const sometimesHuge = (usual: number, max: number) =>
  fc.oneof({ arbitrary: small(usual), weight: 9 }, { arbitrary: small(max), weight: 1 });
const gold = sometimesHuge(3_000, config.limits.currency);
const experience = sometimesHuge(20_000, config.limits.experience);
const label = fc.constantFrom('quest', 'shop', 'rest', 'combat');
const quantity = fc.oneof({ arbitrary: small(5), weight: 3 }, { arbitrary: small(120), weight: 1 });
const itemsOf = (q: fc.Arbitrary<number>) =>
  fc.uniqueArray(fc.record({ itemId: fc.constantFrom(...itemIds), quantity: q }), {
    minLength: 1,
    maxLength: 3,
    selector: (s) => s.itemId,
  });
const items = itemsOf(quantity);
// Trades mostly move currencies both players can afford, so enough of them settle to test conservation.
const bundle = fc.oneof(
  { arbitrary: fc.record({ gold: small(400), spiritStones: small(100) }, { requiredKeys: [] }), weight: 4 },
  { arbitrary: fc.record({ gold: small(400), items: itemsOf(small(4)) }, { requiredKeys: ['items'] }), weight: 1 },
);

const command: fc.Arbitrary<PlayerCommand> = fc.oneof(
  fc.record({ type: fc.constant('CreatePlayer'), name: fc.constantFrom('Lin Feng', 'Su Yan') }),
  fc.record({
    type: fc.constant('CreditPurchase'),
    provider: fc.constant('stripe'),
    orderId: fc.uuid(),
    sku: fc.constantFrom('stones-100', 'stones-1200', 'stones-7'),
  }),
  fc
    .record(
      { type: fc.constant('GrantReward'), taskId: fc.uuid(), gold, spiritStones: small(600), experience, items },
      { requiredKeys: ['type', 'taskId'] },
    )
    .filter((r) => Object.keys(r).length > 2),
  fc.record({
    type: fc.constant('SpendCurrency'),
    currency: fc.constantFrom('gold', 'spiritStones'),
    amount: gold,
    reason: label,
  }),
  fc.record({ type: fc.constant('AddExperience'), amount: experience, source: label }),
  fc.record({ type: fc.constant('ConsumeEnergy'), amount: small(150), reason: label }),
  fc.record({ type: fc.constant('RestoreEnergy'), amount: small(150), reason: label }),
  fc.record({ type: fc.constant('GrantItem'), itemId: fc.constantFrom(...itemIds), quantity, source: label }),
  fc.record({ type: fc.constant('UseItem'), itemId: fc.constantFrom(...itemIds), quantity: small(4) }),
  fc
    .record({
      type: fc.constant('Trade'),
      tradeId: fc.uuid(),
      counterpartyId: fc.constantFrom<string>('other', 'other', 'other', 'other', 'self', 'ghost'),
      give: bundle,
      receive: bundle,
    })
    .filter((t) => Object.keys(t.give).length + Object.keys(t.receive).length > 0),
  fc.record({
    type: fc.constant('StartCultivation'),
    sessionId: fc.constantFrom('s1', 's2'),
    techniqueId: fc.constantFrom('breathing-method', 'nine-suns-art', 'dragon-art'),
  }),
  fc.record({ type: fc.constant('CompleteCultivation'), sessionId: fc.constantFrom('s1', 's2') }),
  fc.record(
    {
      type: fc.constant('RecordCombatResult'),
      combatId: fc.uuid(),
      kind: fc.constantFrom('duel', 'arena', 'tournament', 'monster'),
      outcome: fc.constantFrom('win', 'loss', 'draw'),
      rewards: fc.record({ gold: small(400), spiritStones: small(100), experience, items }, { requiredKeys: [] }),
    },
    { requiredKeys: ['type', 'combatId', 'kind', 'outcome', 'rewards'] },
  ),
);

const step = fc.record({ actor: fc.constantFrom(...PLAYERS), command });
// Mostly two live players, so most commands get past PLAYER_NOT_FOUND to the rules behind it.
const scenario = fc.record({
  createBothFirst: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
  steps: fc.array(step, { minLength: 1, maxLength: 40, size: 'max' }),
});

/** Trades name their counterparty relative to the actor, so one generated step works for either player. */
const reachableOutcomes = [
  ...[
    'CreatePlayer',
    'CreditPurchase',
    'GrantReward',
    'SpendCurrency',
    'AddExperience',
    'ConsumeEnergy',
    'RestoreEnergy',
    'GrantItem',
    'UseItem',
    'Trade',
  ].map((type) => `${type} accepted`),
  ...[
    'PLAYER_NOT_FOUND',
    'PLAYER_EXISTS',
    'UNKNOWN_SKU',
    'UNKNOWN_ITEM',
    'INSUFFICIENT_FUNDS',
    'INSUFFICIENT_ITEMS',
    'INSUFFICIENT_ENERGY',
  ],
  ...['ENERGY_FULL', 'ITEM_NOT_USABLE', 'STACK_LIMIT_EXCEEDED', 'SELF_TRADE', 'COUNTERPARTY_NOT_FOUND'],
];

function resolve(command: PlayerCommand, actor: PlayerId): PlayerCommand {
  if (command.type !== 'Trade') return command;
  const other = actor === 'a' ? 'b' : 'a';
  const counterpartyId = { other, self: actor }[command.counterpartyId] ?? command.counterpartyId;
  return { ...command, counterpartyId };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const nested of Object.values(value)) deepFreeze(nested);
    Object.freeze(value);
  }
  return value;
}

function expectInvariants(state: PlayerState): void {
  if (!state.exists) {
    expect(state).toEqual(initialPlayerState());
    return;
  }
  for (const balance of [state.gold, state.spiritStones]) {
    expect(Number.isSafeInteger(balance)).toBe(true);
    expect(balance).toBeGreaterThanOrEqual(0);
    expect(balance).toBeLessThanOrEqual(config.limits.balance);
  }
  for (const [itemId, count] of Object.entries(state.inventory)) {
    expect(Number.isInteger(count)).toBe(true);
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(itemDefinition(config, itemId)?.stackLimit ?? 0);
  }
  expect(state.energy).toBeGreaterThanOrEqual(0);
  expect(state.energy).toBeLessThanOrEqual(state.maxEnergy);
  expect(state.level).toBeGreaterThanOrEqual(1);
  expect(state.level).toBeLessThanOrEqual(config.maxLevel);
  expect(state.level).toBe(levelForExperience(config, state.experience));
  expect(state.realm).toBe(realmOfLevel(config, state.level).id);
  // Growth is exactly the sum of every level-up and breakthrough on the way.
  const breakthroughs = config.realms.findIndex((r) => r.id === state.realm);
  const start = config.newPlayer;
  expect(state.maxEnergy).toBe(
    start.maxEnergy +
      (state.level - 1) * config.levelUp.maxEnergyGain +
      breakthroughs * config.breakthrough.maxEnergyGain,
  );
  expect(state.attributes.strength).toBe(
    start.attributes.strength +
      (state.level - 1) * config.levelUp.attributeGains.strength +
      breakthroughs * config.breakthrough.attributeGains.strength,
  );
}

describe('player decider properties', () => {
  it('keeps every invariant over random command sequences between two players', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(scenario, ({ createBothFirst, steps }) => {
        const history: Record<PlayerId, PlayerEvent[]> = { a: [], b: [] };
        const state: Record<PlayerId, PlayerState> = { a: initialPlayerState(), b: initialPlayerState() };
        const record = (id: string, events: readonly PlayerEvent[]) => {
          if (id !== 'a' && id !== 'b') throw new Error(`events for a player outside the game: ${id}`);
          history[id].push(...events);
          state[id] = deepFreeze(events.reduce(evolve, state[id]));
        };
        const creates = createBothFirst
          ? PLAYERS.map((actor) => ({
              actor,
              command: { type: 'CreatePlayer', name: `Player ${actor}` } as PlayerCommand,
            }))
          : [];

        for (const { actor, command: generated } of [...creates, ...steps]) {
          const command = playerCommandSchema.parse(resolve(generated, actor));
          const related = Object.fromEntries(
            (player.related?.(command, actor) ?? []).map((id) => [
              id,
              id === 'a' || id === 'b' ? state[id] : initialPlayerState(),
            ]),
          );
          const ctx = contextFor(actor, related);
          const decision = decide(command, deepFreeze(state[actor]), ctx);
          expect(decide(command, state[actor], ctx)).toEqual(decision);

          outcomes.add(decision.outcome === 'accepted' ? `${command.type} accepted` : decision.code);
          if (decision.outcome === 'accepted') {
            record(actor, decision.events);
            for (const [id, events] of Object.entries(decision.related)) record(id, events);
          }
          for (const id of PLAYERS) expectInvariants(state[id]);
        }

        let tradeGold = 0;
        let tradeStones = 0;
        for (const id of PLAYERS) {
          // Events are plain, self-contained data: replaying them after a round trip rebuilds the same state.
          expect(fold(JSON.parse(JSON.stringify(history[id])) as PlayerEvent[])).toEqual(state[id]);

          const flows = history[id].map(currencyFlow);
          const sum = (category: string, currency: 'gold' | 'spiritStones') =>
            flows.filter((f) => f.category === category).reduce((total, f) => total + f[currency], 0);
          for (const currency of ['gold', 'spiritStones'] as const) {
            expect(sum('credit', currency) + sum('spend', currency) + sum('trade', currency)).toBe(state[id][currency]);
          }
          tradeGold += sum('trade', 'gold');
          tradeStones += sum('trade', 'spiritStones');
        }
        // Trades only move currency between players: across both sides they create and destroy nothing.
        expect(tradeGold).toBe(0);
        expect(tradeStones).toBe(0);
      }),
      { numRuns: 300 },
    );

    // The generator must reach every rule, or the invariants above prove little.
    expect([...outcomes].sort()).toEqual(expect.arrayContaining(reachableOutcomes));
  });

  it('emits level-ups in order, one per level, never past the max level', () => {
    const created = decide({ type: 'CreatePlayer', name: 'Lin Feng' }, initialPlayerState(), contextFor('a'));
    if (created.outcome !== 'accepted') throw new Error('expected acceptance');
    fc.assert(
      fc.property(fc.array(experience, { minLength: 1, maxLength: 8 }), (amounts) => {
        let state = fold(created.events);
        for (const amount of amounts) {
          const decision = decide({ type: 'AddExperience', amount, source: 'cultivation' }, state, contextFor('a'));
          if (decision.outcome !== 'accepted')
            throw new Error('AddExperience is never rejected for an existing player');
          const levels = decision.events.flatMap((e) => (e.type === 'LevelledUp' ? [e.level] : []));
          expect(levels).toEqual(Array.from({ length: levels.length }, (_, i) => state.level + 1 + i));
          expect(decision.events[0]).toEqual({ type: 'ExperienceGained', amount, source: 'cultivation' });
          state = fold(decision.events, state);
          expect(state.level).toBe(levelForExperience(config, state.experience));
        }
      }),
      { numRuns: 200 },
    );
  });
});
