import { EntityRegistry } from './engine/registry.js';
import { player } from './domain/player/index.js';

/** Every entity type Gamekeep serves. A new type is declared in its own module and added here. */
export function entityRegistry(): EntityRegistry {
  return new EntityRegistry([player]);
}
