import type { StateItem } from '../persistence/tableLayout.js';
import { PROFILE_FIELDS, type CultivationSession, type PlayerState } from '../domain/player/index.js';
import { playerStatistics, type PlayerStatistics } from './statistics.js';

/** The state fields a view shows as they are: the profile without its bookkeeping (`configVersion`), and the inventory. */
type Shown = Exclude<(typeof PROFILE_FIELDS)[number], 'configVersion'> | 'inventory';
const SHOWN_FIELDS: readonly Shown[] = [
  ...PROFILE_FIELDS.filter(
    (f): f is Exclude<(typeof PROFILE_FIELDS)[number], 'configVersion'> => f !== 'configVersion',
  ),
  'inventory',
];

/** What `GET /v1/players/{id}` answers: the player's state at `version`, without engine bookkeeping. */
export type PlayerView = {
  readonly playerId: string;
  readonly version: number;
  /** When the version was committed. */
  readonly updatedAt: string;
} & Pick<PlayerState, Shown> & {
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
