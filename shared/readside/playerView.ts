import type { StateItem } from '../persistence/tableLayout.js';
import type { CultivationSession, PlayerState } from '../domain/player/index.js';
import { playerStatistics, type PlayerStatistics } from './statistics.js';

/** What `GET /v1/players/{id}` answers: the player's state at `version`, without engine bookkeeping. */
export interface PlayerView {
  readonly playerId: string;
  readonly version: number;
  /** When the version was committed. */
  readonly updatedAt: string;
  readonly name: string;
  readonly level: number;
  readonly realm: string;
  readonly experience: number;
  readonly energy: number;
  readonly maxEnergy: number;
  readonly gold: number;
  readonly spiritStones: number;
  readonly attributes: PlayerState['attributes'];
  readonly inventory: PlayerState['inventory'];
  /** The cultivation session under way, if any. */
  readonly cultivating: CultivationSession | null;
  readonly statistics: PlayerStatistics;
}

/** The view of one committed state item (from a strongly consistent read or a stream record's new image). */
export function playerViewOf(
  item: Pick<StateItem<PlayerState>, 'entityId' | 'version' | 'updatedAt' | 'state'>,
): PlayerView {
  const s = item.state;
  return {
    playerId: item.entityId,
    version: item.version,
    updatedAt: item.updatedAt,
    name: s.name,
    level: s.level,
    realm: s.realm,
    experience: s.experience,
    energy: s.energy,
    maxEnergy: s.maxEnergy,
    gold: s.gold,
    spiritStones: s.spiritStones,
    attributes: s.attributes,
    inventory: s.inventory,
    cultivating: s.cultivating ?? null,
    statistics: playerStatistics(s.statistics),
  };
}
