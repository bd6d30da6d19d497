import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommandQueue } from '../messaging/commandQueue.js';
import { commandEnvelope, type CommandEnvelope } from '../engine/envelope.js';
import { listEntityIds } from '../engine/queries.js';
import { player } from '../domain/player/index.js';
import { ENTITY_INDEX } from '../persistence/tableDefinition.js';
import { runFanOut, type FanOutOptions, type FanOutResult } from '../fanout/fanOut.js';
import { rewardRunKey } from './rewardRunCheckpoint.js';

export { readCheckpoint, type Checkpoint, type RunPhase } from './rewardRunCheckpoint.js';

/** What every player gets each day (the task id makes it once per player per day). */
export const DAILY_REWARD = Object.freeze({ gold: 100, spiritStones: 5 });

export interface RewardDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly queue: CommandQueue;
  readonly now: () => Date;
}

export interface RunOptions extends FanOutOptions {
  /** Segments the players are listed in when a day's run starts (1-16): each is sent and confirmed on its own. */
  readonly segments?: number;
}

/** A fan-out's result (shared/fanout/fanOut.ts) for one day: `done` only once every grant has an outcome. */
export type RunResult = FanOutResult & { readonly date: string };

export const taskIdOf = (date: string) => `daily:${date}`;

/**
 * Grants `date`'s reward to every player, as a resumable fan-out (shared/fanout/fanOut.ts): players are listed
 * through the engine's entity index (no Scan: the cost grows with players, not with the table) in segments, each
 * grant's command id [schedule, task, player] and the engine's TASK claim grant once, and the run is done only
 * once every grant has an outcome. Returns `continue` when the time budget runs low: the caller re-invokes it and
 * it resumes at the checkpoint `REWARDRUN#<date>`.
 */
export async function runDailyRewards(
  deps: RewardDeps,
  date: string,
  remainingMs: () => number,
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await runFanOut(
    deps,
    {
      key: rewardRunKey(date),
      segments: options.segments ?? ENTITY_INDEX.shards,
      initial: { granted: 0, confirmed: 0 },
      sentCounter: 'granted',
      list: async (segment, segments, cursor, limit) => {
        const page = await listEntityIds(deps, player, {
          segment,
          segments,
          limit,
          ...(cursor ? { pageToken: cursor } : {}),
        });
        return { ids: page.entityIds, ...(page.nextPageToken ? { next: page.nextPageToken } : {}) };
      },
      command: (playerId, now) => grantFor(playerId, date, now),
    },
    remainingMs,
    options,
  );
  return { date, ...result };
}

export function grantFor(playerId: string, date: string, now: Date): CommandEnvelope {
  const taskId = taskIdOf(date);
  return commandEnvelope({
    entityType: 'player',
    entityId: playerId,
    command: { type: 'GrantReward', taskId, ...DAILY_REWARD },
    source: { kind: 'schedule', actor: 'daily-reward' },
    identity: ['schedule', taskId, playerId],
    issuedAt: now,
  });
}
