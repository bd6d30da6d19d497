import type { Redis } from 'ioredis';
import type { EventStore } from '../persistence/eventStore.js';
import { EVENT_SK_PREFIX, type EventItem, type StateItem } from '../persistence/tableLayout.js';
import type { AnyEntityType } from '../engine/entityType.js';
import type { PlayerEvent, PlayerState } from '../domain/player/index.js';
import type { PlayerCache } from '../readside/playerCache.js';
import { viewKey } from '../readside/playerCache.js';
import { absoluteScores, boardKey, type AbsoluteBoard, type Leaderboards } from '../readside/leaderboards.js';
import { gainsByPeriod, restorePlayer } from '../readside/playerRestore.js';
import { playerViewOf } from '../readside/playerView.js';
import { sameState } from '../engine/recovery.js';
import type { Finding } from './findings.js';
import type { ProjectionChecks } from './checkRun.js';

export interface PlayerProjectionDeps {
  readonly redis: Redis;
  readonly cache: PlayerCache;
  readonly leaderboards: Leaderboards;
  readonly store: EventStore;
  readonly retentionDays?: number;
  /**
   * A projection may trail the table by the stream's lag: a cached view or board older than a state committed
   * less than this long ago is not a finding yet (default 30 s).
   */
  readonly settleMs?: number;
  readonly now?: () => Date;
}

const ABSOLUTE: readonly AbsoluteBoard[] = ['level', 'wealth', 'combat-wins'];

/**
 * The read side of players against their checked state (seed 000's periodic cache/database check): the cached
 * view equals the view of the state (or is absent), every absolute board holds the state's scores, every periodic
 * board the sum of the gains its events earned (undone versions left out), and nothing is ahead of the table.
 * Every finding is of the safe class: the repair re-projects the player from the table.
 */
export function playerProjectionChecks(deps: PlayerProjectionDeps): ProjectionChecks {
  const retentionMs = (deps.retentionDays ?? 90) * 86_400_000;
  const now = deps.now ?? (() => new Date());
  const settleMs = deps.settleMs ?? 30_000;
  return {
    async check(type: AnyEntityType, checks) {
      if (type.name !== 'player') return [];
      const findings: Finding[] = [];
      await Promise.all(
        checks.map(async (c) => {
          const state = c.state as StateItem<PlayerState> | undefined;
          if (!state || state.state.exists === false) return;
          const playerId = state.entityId;
          const settled = now().getTime() - Date.parse(state.updatedAt) >= settleMs;
          const find = (kind: Finding['kind'], detail: string): void => {
            findings.push({
              class: 'safe',
              kind,
              entityType: 'player',
              entityId: playerId,
              detail,
              repair: { action: 'reproject', playerId },
            });
          };
          const view = playerViewOf(state);
          const [cachedVersion, cached] = await deps.redis.hmget(viewKey(playerId), 'v', 'd');
          if (cachedVersion !== null && cached !== null && cached !== '') {
            const v = Number(cachedVersion);
            if (v > state.version)
              find('projection-ahead', `the cached view is at version ${v}, the table at ${state.version}`);
            else if (v < state.version && settled)
              find('cached-view', `the cached view is at version ${v}, the table at ${state.version}`);
            else if (v === state.version && !sameState(JSON.parse(cached as string), view))
              find('cached-view', `the cached view at version ${v} differs from the table's state`);
          }
          const scores = absoluteScores(view);
          const pipeline = deps.redis.pipeline();
          for (const board of ABSOLUTE) {
            pipeline.zscore(boardKey(board), playerId);
            pipeline.hget(`${boardKey(board)}:applied`, playerId);
          }
          const answers = ((await pipeline.exec()) ?? []).map(([, value]) => value as string | null);
          ABSOLUTE.forEach((board, i) => {
            const score = answers[2 * i];
            const applied = Number(answers[2 * i + 1] ?? 0);
            const expected = scores[board];
            if (applied > state.version)
              find(
                'projection-ahead',
                `${board}: a score of version ${applied} applied, the table is at ${state.version}`,
              );
            else if (!settled && applied < state.version) return;
            else if (expected === undefined ? score !== null : score === null || -Number(score) !== expected)
              find(
                'leaderboard',
                `${board}: ${score === null ? 'no entry' : -Number(score)}, the state says ${expected ?? 'no entry'}`,
              );
          });
          if (!settled) return;
          const events = c.items.filter((i) =>
            String(i.sk).startsWith(EVENT_SK_PREFIX),
          ) as unknown as EventItem<PlayerEvent>[];
          for (const p of gainsByPeriod(events, retentionMs, now())) {
            const expected = p.versions.reduce((sum, [, gained]) => sum + gained, 0);
            const score = await deps.redis.zscore(boardKey(p.board, p.period), playerId);
            if (expected > 0 ? score === null || -Number(score) !== expected : score !== null)
              find(
                'leaderboard',
                `${p.board} ${p.period}: ${score === null ? 'no entry' : -Number(score)}, its events earned ${expected}`,
              );
          }
        }),
      );
      return findings;
    },

    async reproject(playerId: string) {
      // What is ahead of the table is dropped first, so the re-projection's guards do not keep it.
      await deps.redis.del(viewKey(playerId));
      await Promise.all(ABSOLUTE.map((board) => deps.redis.hdel(`${boardKey(board)}:applied`, playerId)));
      await restorePlayer({ store: deps.store, leaderboards: deps.leaderboards, playerId, retentionMs, now: now() });
      await deps.cache.refresh(playerId);
    },
  };
}
