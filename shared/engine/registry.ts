import type { AnyEntityType } from './entityType.js';

/** The entity types the engine serves, by name. Adding one is a declaration, not an engine change. */
export class EntityRegistry {
  private readonly types = new Map<string, AnyEntityType>();

  constructor(types: readonly AnyEntityType[] = []) {
    for (const t of types) this.register(t);
  }

  register(type: AnyEntityType): this {
    if (this.types.has(type.name)) throw new Error(`entity type ${type.name} is registered already`);
    for (const other of this.types.values())
      if (other.keyPrefix === type.keyPrefix)
        throw new Error(`entity types ${other.name} and ${type.name} share key prefix ${type.keyPrefix}`);
    this.types.set(type.name, type);
    return this;
  }

  get(name: string): AnyEntityType | undefined {
    return this.types.get(name);
  }

  all(): AnyEntityType[] {
    return [...this.types.values()];
  }
}
