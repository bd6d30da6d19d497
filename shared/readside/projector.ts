import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { EVENT_SK_PREFIX, STATE_SK, type EventItem, type StateItem } from '../persistence/tableLayout.js';
import type { PlayerEvent, PlayerState } from '../domain/player/index.js';
import type { PlayerCache } from './playerCache.js';
import type { Leaderboards } from './leaderboards.js';
import { playerViewOf } from './playerView.js';
import { fromStreamImage } from './streamImage.js';

const PLAYER_PK_PREFIX = 'P#';

export interface ProjectionReport extends DynamoDBBatchResponse {
  /** Records that changed a projection (player state or event items); other items are skipped. */
  readonly projected: number;
  /** Commit (the item's own `committedAt`/`updatedAt`) to projection, per projected record, in ms. */
  readonly lagMs: number[];
  /** Stream record creation (ApproximateCreationDateTime, whole seconds on AWS) to projection, in ms. */
  readonly streamLagMs: number[];
  readonly errors: unknown[];
}

/**
 * The one consumer of the table's stream (AWS allows two readers per shard); it fans out in code to the player
 * view cache and the leaderboards. Every write is idempotent by version, so a replayed, retried or bisected
 * batch never moves a view backwards nor counts twice. A player's records are applied in stream order; players
 * run in parallel; a failure reports the earliest failed record, from which the event source retries.
 */
export class Projector {
  constructor(
    private readonly cache: PlayerCache,
    private readonly leaderboards: Leaderboards,
  ) {}

  async project(records: readonly DynamoDBRecord[]): Promise<ProjectionReport> {
    const byPlayer = new Map<string, { index: number; record: DynamoDBRecord }[]>();
    records.forEach((record, index) => {
      const pk = record.dynamodb?.Keys?.pk?.S;
      if (!pk?.startsWith(PLAYER_PK_PREFIX) || record.eventName === 'REMOVE' || !record.dynamodb?.NewImage) return;
      const list = byPlayer.get(pk) ?? [];
      list.push({ index, record });
      byPlayer.set(pk, list);
    });

    const lagMs: number[] = [];
    const streamLagMs: number[] = [];
    const errors: unknown[] = [];
    let firstFailed = Number.POSITIVE_INFINITY;
    let projected = 0;
    await Promise.all(
      [...byPlayer.values()].map(async (list) => {
        for (const { index, record } of list) {
          if (index > firstFailed) return;
          try {
            const committedAt = await this.projectRecord(record);
            const now = Date.now();
            projected++;
            if (committedAt !== undefined) lagMs.push(now - committedAt);
            const created = record.dynamodb?.ApproximateCreationDateTime;
            if (created !== undefined) streamLagMs.push(now - created * 1000);
          } catch (error) {
            errors.push(error);
            firstFailed = Math.min(firstFailed, index);
            return;
          }
        }
      }),
    );
    const failed = Number.isFinite(firstFailed) ? records[firstFailed]?.dynamodb?.SequenceNumber : undefined;
    return { batchItemFailures: failed ? [{ itemIdentifier: failed }] : [], projected, lagMs, streamLagMs, errors };
  }

  /** Applies one record; returns its commit time (ms) when it was a player item. */
  private async projectRecord(record: DynamoDBRecord): Promise<number | undefined> {
    const item = fromStreamImage(record.dynamodb!.NewImage!);
    const sk = String(item.sk);
    if (sk === STATE_SK) {
      const state = item as unknown as StateItem<PlayerState>;
      if (state.state.exists === false) return undefined;
      const view = playerViewOf(state);
      await Promise.all([this.cache.put(view), this.leaderboards.applyState(view)]);
      return Date.parse(state.updatedAt);
    }
    if (sk.startsWith(EVENT_SK_PREFIX)) {
      const events = item as unknown as EventItem<PlayerEvent>;
      const committedAt = new Date(events.committedAt);
      await this.leaderboards.applyExperience(events.entityId, events.version, committedAt, experienceGained(events.events));
      return committedAt.getTime();
    }
    return undefined;
  }
}

/** Experience a version added, whatever its source (quests, rewards, items, cultivation, combat). */
export function experienceGained(events: readonly PlayerEvent[]): number {
  return events.reduce((sum, e) => (e.type === 'ExperienceGained' ? sum + e.amount : sum), 0);
}
