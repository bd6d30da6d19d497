import {
  readCheckpoint as readRunCheckpoint,
  type Checkpoint as RunCheckpoint,
  type CheckpointTable,
  type RunKey,
} from '../fanout/checkpoint.js';

/**
 * The checkpoint of one day's reward run: the item `REWARDRUN#<date>` / `RUN`, a fan-out checkpoint
 * (shared/fanout/checkpoint.ts) whose counters are `granted` (sent) and `confirmed`.
 */
export type { RunPhase, SegmentCheckpoint, CheckpointTable } from '../fanout/checkpoint.js';

export interface Checkpoint extends RunCheckpoint {
  readonly granted?: number;
  readonly confirmed?: number;
}

export const rewardRunKey = (date: string): RunKey => ({ pk: `REWARDRUN#${date}`, sk: 'RUN' });

export async function readCheckpoint(table: CheckpointTable, date: string): Promise<Checkpoint | undefined> {
  return (await readRunCheckpoint(table, rewardRunKey(date))) as Checkpoint | undefined;
}
