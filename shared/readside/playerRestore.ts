import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type EventItem, type StateItem } from '../persistence/tableLayout.js';
import { player, type PlayerEvent, type PlayerState } from '../domain/player/index.js';
import {
  absoluteScores,
  boardKey,
  periodsOf,
  type AbsoluteBoard,
  type Leaderboards,
  type PeriodGains,
} from './leaderboards.js';
import { earnedAt, experienceGained } from './projector.js';
import { playerViewOf } from './playerView.js';
import type { RecoveryEvent } from '../engine/recovery.js';

/** What one player's restore wrote: the board keys the player belongs on, at which version, and how often it was read again. */
export interface PlayerRestore {
  readonly version: number;
  /** Board keys (as Redis names them) that justify an entry of this player: every other entry of it may be pruned. */
  readonly boards: readonly string[];
  readonly rereads: number;
}

/** The gains of every period a player's events fall in (periods already expired left out), grouped per board and period. */
export function gainsByPeriod(
  items: readonly Pick<EventItem<PlayerEvent>, 'version' | 'events' | 'issuedAt' | 'committedAt'>[],
  retentionMs: number,
  now: Date,
): PeriodGains[] {
  const out = new Map<
    string,
    { board: PeriodGains['board']; period: string; expireAt: number; versions: [number, number][] }
  >();
  // Versions a later rollback undid count nothing: recorded as 0, the tombstone the projector's retraction writes.
  const undone = new Set(
    items.flatMap((i) =>
      (i.events as readonly (PlayerEvent | RecoveryEvent)[]).flatMap((e) =>
        e.type === 'RolledBack' ? e.undone.map((u) => u.version) : [],
      ),
    ),
  );
  for (const item of items) {
    const gained = experienceGained(item.events);
    if (gained <= 0) continue;
    const amount = undone.has(item.version) ? 0 : gained;
    for (const { board, period, expireAt } of periodsOf(earnedAt(item), retentionMs, now)) {
      const key = boardKey(board, period);
      const entry = out.get(key) ?? { board, period, expireAt, versions: [] };
      entry.versions.push([item.version, amount]);
      out.set(key, entry);
    }
  }
  return [...out.values()];
}

/**
 * Restores one player's leaderboard entries from the table while the projector keeps running: absolute scores at
 * the version read (written unless the projector applied a newer one, in which case the player is read again),
 * and every period's gains merged with what the projector recorded. Undefined when the player does not exist.
 */
export async function restorePlayer(options: {
  store: EventStore;
  leaderboards: Leaderboards;
  playerId: string;
  retentionMs: number;
  now: Date;
  /** Attempts when the projector keeps moving the player ahead (the last one's scores stand; the projector is newer). */
  maxAttempts?: number;
}): Promise<PlayerRestore | undefined> {
  const { store, leaderboards, playerId } = options;
  const pk = entityPk(player.keyPrefix, playerId);
  let rereads = 0;
  for (let attempt = 1; ; attempt++) {
    const state = await store.item<StateItem<PlayerState>>({ pk, sk: STATE_SK });
    if (!state || state.state.exists === false) return undefined;
    const events = await store.allEvents<PlayerEvent>(pk);
    // The scores are the state's, so is the version they are guarded by (events read after it may be newer).
    const version = state.version;
    const scores = absoluteScores(playerViewOf(state));
    const periods = gainsByPeriod(events, options.retentionMs, options.now);
    const [written] = await Promise.all([
      leaderboards.restoreScores(playerId, version, scores),
      ...periods.map((gains) => leaderboards.restoreGains(playerId, gains)),
    ]);
    if (written || attempt >= (options.maxAttempts ?? 5)) {
      if (!written) rereads++;
      const boards = [
        ...(Object.entries(scores) as [AbsoluteBoard, number | undefined][])
          .filter(([, score]) => score !== undefined)
          .map(([board]) => boardKey(board)),
        ...periods.filter((p) => p.versions.some(([, gained]) => gained > 0)).map((p) => boardKey(p.board, p.period)),
      ];
      return { version, boards, rereads };
    }
    rereads++;
  }
}
