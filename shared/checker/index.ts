import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';
import { entityRegistry } from '../entities.js';
import { EventStore } from '../persistence/eventStore.js';
import { entityPk, snapshotSk, type SnapshotItem } from '../persistence/tableLayout.js';
import { History } from '../engine/history.js';
import { stateHash } from '../engine/recovery.js';
import type { AnyEntityType } from '../engine/entityType.js';
import type { ReadSide } from '../readside/index.js';
import { playerProjectionChecks } from './playerProjections.js';
import type { CheckDeps } from './checkRun.js';

export {
  checkReport,
  continueCheck,
  isCheckId,
  openCheck,
  runCheck,
  type CheckReport,
  type CheckOptions,
} from './checkRun.js';
export type { Finding, FindingClass, RepairDone } from './findings.js';
export { checkExitCode, checkSummary } from './summary.js';

/** What a check runs with in one process: the table, the registry, and the read side when there is one. */
export function checkerDeps(
  config: Config,
  db: DynamoDBDocumentClient,
  side?: ReadSide,
  options: { settleMs?: number } = {},
): CheckDeps {
  const store = new EventStore(db, config.tableName);
  return {
    db,
    tableName: config.tableName,
    registry: entityRegistry(),
    now: () => new Date(),
    rewriteSnapshot: snapshotRewriter(db, config.tableName),
    ...(side
      ? {
          projections: playerProjectionChecks({
            redis: side.redis,
            cache: side.cache,
            leaderboards: side.leaderboards,
            store,
            ...(config.leaderboardRetentionDays !== undefined
              ? { retentionDays: config.leaderboardRetentionDays }
              : {}),
            ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
          }),
        }
      : {}),
  };
}

/** Writes a snapshot again from the fold of the events (from the first: no other snapshot is trusted). */
export function snapshotRewriter(db: DynamoDBDocumentClient, tableName: string) {
  const store = new EventStore(db, tableName);
  return async (type: AnyEntityType, entityId: string, version: number): Promise<void> => {
    const past = await new History(store, type).atVersion(entityId, version, undefined, { snapshots: false });
    const item: SnapshotItem = {
      pk: entityPk(type.keyPrefix, entityId),
      sk: snapshotSk(version),
      entityType: type.name,
      entityId,
      version,
      state: past.state,
      stateHash: stateHash(past.state),
      foldedFrom: 0,
      committedAt: past.committedAt ?? new Date().toISOString(),
    };
    await db.send(new PutCommand({ TableName: tableName, Item: item }));
  };
}
