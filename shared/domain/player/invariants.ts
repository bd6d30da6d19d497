import { itemDefinition, levelForExperience, realmOfLevel, type GameConfig } from './gameConfig.js';
import type { PlayerState } from './state.js';

/** G3 for a player: what must hold after every command, whatever happened before. */
export function playerInvariantViolations(state: PlayerState, config: GameConfig): string[] {
  if (!state.exists) return [];
  const broken: string[] = [];
  for (const currency of ['gold', 'spiritStones'] as const) {
    const balance = state[currency];
    if (!Number.isSafeInteger(balance) || balance < 0) broken.push(`${currency} is ${balance}`);
  }
  for (const [itemId, count] of Object.entries(state.inventory)) {
    const limit = itemDefinition(config, itemId)?.stackLimit ?? 0;
    if (!Number.isInteger(count) || count <= 0 || count > limit)
      broken.push(`${count} of ${itemId} (stack limit ${limit})`);
  }
  if (state.energy < 0 || state.energy > state.maxEnergy)
    broken.push(`energy ${state.energy} outside [0, ${state.maxEnergy}]`);
  if (state.level !== levelForExperience(config, state.experience))
    broken.push(`level ${state.level} does not match ${state.experience} experience`);
  if (state.realm !== realmOfLevel(config, state.level).id)
    broken.push(`realm ${state.realm} does not match level ${state.level}`);
  return broken;
}
