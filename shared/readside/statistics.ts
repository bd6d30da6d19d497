/**
 * Player statistics (seed 001): cultivation sessions, time and experience; combats, wins, losses and win rate.
 * The counters are folded into the player's state by `evolve`, so they are exact at every version; the rate is
 * derived here, on read.
 */
export interface PlayerStatistics {
  readonly cultivation: { readonly sessions: number; readonly seconds: number; readonly experience: number };
  readonly combat: {
    readonly fought: number;
    readonly wins: number;
    readonly losses: number;
    readonly draws: number;
    readonly winRate: number;
  };
}

interface StoredStatistics {
  readonly cultivation?: { sessions?: number; seconds?: number; experience?: number };
  readonly combat?: { fought?: number; wins?: number; losses?: number; draws?: number };
}

/** Statistics of a state; states written before statistics existed read as zeros. */
export function playerStatistics(stored: unknown): PlayerStatistics {
  const s = (stored ?? {}) as StoredStatistics;
  const fought = s.combat?.fought ?? 0;
  const wins = s.combat?.wins ?? 0;
  return {
    cultivation: {
      sessions: s.cultivation?.sessions ?? 0,
      seconds: s.cultivation?.seconds ?? 0,
      experience: s.cultivation?.experience ?? 0,
    },
    combat: {
      fought,
      wins,
      losses: s.combat?.losses ?? 0,
      draws: s.combat?.draws ?? 0,
      // Share of all recorded combats won, to 4 decimals; 0 before the first combat.
      winRate: fought === 0 ? 0 : Math.round((wins / fought) * 10_000) / 10_000,
    },
  };
}
