import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { EVENT_SK_PREFIX, STATE_SK, type EventItem, type StateItem } from '../persistence/tableLayout.js';
import { player, type PlayerEvent, type PlayerState } from '../domain/player/index.js';
import type { PlayerCache } from './playerCache.js';
import { scoreChanges, type Leaderboards } from './leaderboards.js';
import { playerViewOf } from './playerView.js';
import { fromStreamImage } from './streamImage.js';
import type { RecoveryEvent } from '../engine/recovery.js';
import type { DatasetMarker, Epoch } from './heal.js';
import type { Redis } from 'ioredis';
import { decidedIn, recordPipelineFigures } from './pipelineFigures.js';

const PLAYER_PK_PREFIX = `${player.keyPrefix}#`;

/**
 * Stream record times are whole seconds (rounded down on AWS, coarser on DynamoDB Local), and the stream's clock
 * is not Redis's: a record counts as created after an epoch began only with this much to spare.
 */
const CREATION_MARGIN_MS = 2000;

export interface ProjectionReport extends DynamoDBBatchResponse {
  /** Records that changed a projection (player state or event items); other items are skipped. */
  readonly projected: number;
  /** Board scripts run, and those a state record did not need because its old image held the same score. */
  readonly scoreWrites: number;
  readonly scoreWritesSkipped: number;
  /** Commit (the item's own `committedAt`/`updatedAt`) to projection, per projected record, in ms. */
  readonly lagMs: number[];
  /** Stream record creation (ApproximateCreationDateTime, whole seconds on AWS) to projection, in ms. */
  readonly streamLagMs: number[];
  readonly errors: unknown[];
  /** The read side's epoch as this batch found it (absent when Redis could not be reached). */
  readonly epoch?: Epoch;
}

/**
 * The one consumer of the table's stream (AWS allows two readers per shard); it fans out in code to the player
 * view cache and the leaderboards. Every projection converges whatever the order, duplication and batching of
 * the records (Lambda keeps order only per item): the view is a compare-and-set on the version, absolute boards
 * keep the highest version's score, periodic boards count each version's gain once. So the records of a batch run
 * concurrently, and a failure reports the earliest failed record, from which the event source retries.
 */
export class Projector {
  constructor(
    private readonly cache: PlayerCache,
    private readonly leaderboards: Leaderboards,
    private readonly marker: DatasetMarker,
    /** Where the pipeline's live figures go (shared/readside/pipelineFigures.ts); none, none kept. */
    private readonly figures?: Redis,
  ) {}

  async project(records: readonly DynamoDBRecord[]): Promise<ProjectionReport> {
    const lagMs: number[] = [];
    const streamLagMs: number[] = [];
    const errors: unknown[] = [];
    const counts = { projected: 0, scoreWrites: 0, scoreWritesSkipped: 0 };
    let epoch: Epoch;
    try {
      // Once per batch: the watermark advances, and a lost dataset is noticed (and its heal triggered by the caller).
      epoch = await this.marker.observe({ tick: true });
    } catch (error) {
      const first = records.find(isPlayerRecord)?.dynamodb?.SequenceNumber;
      return {
        batchItemFailures: first ? [{ itemIdentifier: first }] : [],
        ...counts,
        lagMs,
        streamLagMs,
        errors: [error],
      };
    }
    let firstFailed = Number.POSITIVE_INFINITY;
    /** Views the cache could not verify (no floor, record older than the epoch): refreshed from the table together. */
    const unverified = new Map<string, number>();
    await Promise.all(
      records.map(async (record, index) => {
        if (!isPlayerRecord(record)) return;
        try {
          const committedAt = await this.projectRecord(record, epoch, counts, (playerId) =>
            unverified.set(playerId, Math.min(index, unverified.get(playerId) ?? index)),
          );
          const now = Date.now();
          counts.projected++;
          if (committedAt !== undefined) lagMs.push(now - committedAt);
          const created = record.dynamodb?.ApproximateCreationDateTime;
          if (created !== undefined) streamLagMs.push(now - created * 1000);
        } catch (error) {
          errors.push(error);
          firstFailed = Math.min(firstFailed, index);
        }
      }),
    );
    try {
      await this.cache.refreshMany([...unverified.keys()]);
    } catch (error) {
      errors.push(error);
      firstFailed = Math.min(firstFailed, ...unverified.values());
    }
    const decided = decidedIn(records);
    if (this.figures && (decided.applied > 0 || decided.rejected > 0 || lagMs.length > 0))
      // The operators' chart: a batch never fails, nor is retried, for it.
      await recordPipelineFigures(this.figures, {
        ...decided,
        ...(lagMs.length > 0 ? { lagMs: Math.max(...lagMs) } : {}),
      }).catch(() => undefined);
    const failed = Number.isFinite(firstFailed) ? records[firstFailed]?.dynamodb?.SequenceNumber : undefined;
    return {
      batchItemFailures: failed ? [{ itemIdentifier: failed }] : [],
      ...counts,
      lagMs,
      streamLagMs,
      errors,
      epoch,
    };
  }

  /** Applies one record; returns its commit time (ms) when it was a player item. */
  private async projectRecord(
    record: DynamoDBRecord,
    epoch: Epoch,
    counts: { scoreWrites: number; scoreWritesSkipped: number },
    unverified: (playerId: string) => void,
  ): Promise<number | undefined> {
    const item = fromStreamImage(record.dynamodb!.NewImage!);
    const sk = String(item.sk);
    if (sk === STATE_SK) {
      const state = item as unknown as StateItem<PlayerState>;
      if (state.state.exists === false) return undefined;
      const view = playerViewOf(state);
      const old = record.dynamodb?.OldImage
        ? (fromStreamImage(record.dynamodb.OldImage) as unknown as StateItem<PlayerState>)
        : undefined;
      const changes = scoreChanges(view, old && old.state.exists !== false ? playerViewOf(old) : undefined);
      const writes = Object.keys(changes).length;
      counts.scoreWrites += writes;
      counts.scoreWritesSkipped += 3 - writes;
      const created = record.dynamodb?.ApproximateCreationDateTime;
      const trusted = created !== undefined && created * 1000 >= epoch.since + CREATION_MARGIN_MS;
      await Promise.all([
        this.cache.put(view, { trusted }).then((r) => (r === 'unverified' ? unverified(view.playerId) : undefined)),
        writes > 0 ? this.leaderboards.applyScores(view.playerId, view.version, changes) : undefined,
      ]);
      return Date.parse(state.updatedAt);
    }
    if (sk.startsWith(EVENT_SK_PREFIX)) {
      const events = item as unknown as EventItem<PlayerEvent | RecoveryEvent>;
      const undone = events.events.flatMap((e) => (e.type === 'RolledBack' ? e.undone : []));
      // The period is when the player earned it (the command's time), not when a backlog reached the projector.
      await Promise.all([
        this.leaderboards.applyExperience(
          events.entityId,
          events.version,
          earnedAt(events),
          experienceGained(events.events),
        ),
        undone.length > 0 ? this.leaderboards.retractExperience(events.entityId, undone) : undefined,
      ]);
      return Date.parse(events.committedAt);
    }
    return undefined;
  }
}

function isPlayerRecord(record: DynamoDBRecord): boolean {
  return Boolean(
    record.dynamodb?.Keys?.pk?.S?.startsWith(PLAYER_PK_PREFIX) &&
      record.eventName !== 'REMOVE' &&
      record.dynamodb?.NewImage,
  );
}

/** Experience a version added, whatever its source (quests, rewards, items, cultivation, combat). */
export function experienceGained(events: readonly (PlayerEvent | RecoveryEvent)[]): number {
  return events.reduce((sum, e) => (e.type === 'ExperienceGained' ? sum + e.amount : sum), 0);
}

/** When the player earned a version's experience: the command's `issuedAt` (items written before it existed: the commit). */
export function earnedAt(item: Pick<EventItem, 'issuedAt' | 'committedAt'>): Date {
  return new Date(item.issuedAt ?? item.committedAt);
}
