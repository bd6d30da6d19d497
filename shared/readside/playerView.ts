import type { StateItem } from '../persistence/tableLayout.js';
import type { CultivationSession, PlayerState } from '../domain/player/index.js';
import { playerStatistics, type PlayerStatistics } from './statistics.js';

/** The state fields a view shows as they are; bookkeeping (`exists`, `configVersion`) stays inside. */
const SHOWN_FIELDS = [
  'name',
  'level',
  'realm',
  'experience',
  'energy',
  'maxEnergy',
  'gold',
  'spiritStones',
  'attributes',
  'inventory',
] as const satisfies readonly (keyof PlayerState)[];

/** What `GET /v1/players/{id}` answers: the player's state at `version`, without engine bookkeeping. */
export type PlayerView = {
  readonly playerId: string;
  readonly version: number;
  /** When the version was committed. */
  readonly updatedAt: string;
} & Pick<PlayerState, (typeof SHOWN_FIELDS)[number]> & {
    /** The cultivation session under way, if any. */
    readonly cultivating: CultivationSession | null;
    readonly statistics: PlayerStatistics;
  };

/** The view of one committed state item (from a strongly consistent read or a stream record's new image). */
export function playerViewOf(
  item: Pick<StateItem<PlayerState>, 'entityId' | 'version' | 'updatedAt' | 'state'>,
): PlayerView {
  const s = item.state;
  const shown = Object.fromEntries(SHOWN_FIELDS.map((f) => [f, s[f]])) as Pick<
    PlayerState,
    (typeof SHOWN_FIELDS)[number]
  >;
  return {
    playerId: item.entityId,
    version: item.version,
    updatedAt: item.updatedAt,
    ...shown,
    cultivating: s.cultivating ?? null,
    statistics: playerStatistics(s.statistics),
  };
}
