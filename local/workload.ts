import { commandEnvelope, type CommandEnvelope, type SourceKind } from '../shared/engine/envelope.js';
import type { PlayerCommand } from '../shared/domain/player/index.js';

/** A seeded generator (mulberry32), so a workload is the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GameWorkload {
  readonly players: readonly string[];
  readonly creates: readonly CommandEnvelope[];
  readonly commands: readonly CommandEnvelope[];
  /** Commands whose rejection the workload guarantees, by command id, with the expected code. */
  readonly mustReject: ReadonlyMap<string, string>;
}

const ISSUED = Date.parse('2026-11-24T00:00:00Z');

/**
 * A day of the reference game for `players` players: rewards from the schedule, purchases from a payment
 * provider, experience that cascades level-ups, spends (some beyond any balance), energy, items and trades.
 * The commands carry the identity their real source would derive their id from.
 */
export function gameWorkload(options: { players: number; commandsPerPlayer: number; seed?: number; prefix?: string }): GameWorkload {
  const rnd = random(options.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const prefix = options.prefix ?? 'p';
  const players = Array.from({ length: options.players }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}`);
  let tick = 0;
  const make = (playerId: string, command: PlayerCommand, kind: SourceKind, actor: string, identity: string[]): CommandEnvelope =>
    commandEnvelope({
      entityType: 'player',
      entityId: playerId,
      command: command as PlayerCommand & Record<string, unknown>,
      source: { kind, actor },
      identity,
      issuedAt: new Date(ISSUED + tick++ * 10),
    });
  const service = (playerId: string, command: PlayerCommand, key: string) => make(playerId, command, 'service', 'game-server', ['service', 'game-server', playerId, key]);

  const creates = players.map((id, i) => make(id, { type: 'CreatePlayer', name: `Cultivator ${prefix}${i + 1}` }, 'client', id, ['client', id, 'create']));
  const commands: CommandEnvelope[] = [];
  const mustReject = new Map<string, string>();
  for (const [i, id] of players.entries()) {
    for (let n = 0; n < options.commandsPerPlayer; n++) {
      const key = `k${n}`;
      const roll = rnd();
      let envelope: CommandEnvelope;
      if (n === 0) {
        // Far beyond any balance this workload can build: must be rejected.
        envelope = service(id, { type: 'SpendCurrency', currency: 'gold', amount: 900_000_000, reason: 'overdraw' }, key);
        mustReject.set(envelope.commandId, 'INSUFFICIENT_FUNDS');
      } else if (roll < 0.12) {
        const taskId = `daily:2026-11-${String(1 + (n % 28)).padStart(2, '0')}`;
        envelope = make(id, { type: 'GrantReward', taskId, gold: int(10, 200), experience: int(50, 500) }, 'schedule', 'daily-rewards', ['schedule', taskId, id]);
      } else if (roll < 0.22) {
        const orderId = `ord-${id}-${n}`;
        envelope = make(id, { type: 'CreditPurchase', provider: 'demo-pay', orderId, sku: pick(['stones-100', 'stones-550', 'stones-1200']) }, 'payment', 'demo-pay', ['payment', 'demo-pay', orderId]);
      } else if (roll < 0.4) {
        envelope = service(id, { type: 'AddExperience', amount: pick([80, 400, 2_500, 12_000, 30_000]), source: 'quest' }, key);
      } else if (roll < 0.55) {
        envelope = service(id, { type: 'SpendCurrency', currency: rnd() < 0.7 ? 'gold' : 'spiritStones', amount: int(5, 400), reason: 'shop' }, key);
      } else if (roll < 0.65) {
        envelope = service(id, rnd() < 0.6 ? { type: 'ConsumeEnergy', amount: int(5, 40), reason: 'cultivate' } : { type: 'RestoreEnergy', amount: int(5, 60), reason: 'rest' }, key);
      } else if (roll < 0.75) {
        envelope = service(id, { type: 'GrantItem', itemId: pick(['qi-pill', 'spirit-herb', 'spirit-ore', 'iron-sword']), quantity: int(1, 3), source: 'loot' }, key);
      } else if (roll < 0.83) {
        envelope = service(id, { type: 'UseItem', itemId: pick(['qi-pill', 'spirit-herb']), quantity: 1 }, key);
      } else {
        const other = players[(i + int(1, players.length - 1)) % players.length]!;
        const tradeId = `tr-${id}-${n}`;
        envelope = make(
          id,
          { type: 'Trade', tradeId, counterpartyId: other, give: { gold: int(10, 150) }, receive: rnd() < 0.5 ? { spiritStones: int(1, 50) } : { gold: int(1, 100) } },
          'service',
          'game-server',
          ['service', 'trade', tradeId],
        );
      }
      commands.push(envelope);
    }
  }
  return { players, creates, commands, mustReject };
}
