import { PutRestoreValidationResultCommand, type BackupClient } from '@aws-sdk/client-backup';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';
import {
  checkerDeps,
  checkExitCode,
  checkSummary,
  continueCheck,
  openCheck,
  type CheckOptions,
  type CheckReport,
} from '../checker/index.js';

/** AWS Backup restore testing names a restored DynamoDB table `awsbackup-restore-test-<random>` (inferred metadata). */
export const RESTORE_TEST_TABLE_PREFIX = 'awsbackup-restore-test-';

/** What AWS Backup accepts as a validation message is a free string; the console shows the first lines. */
const MAX_MESSAGE = 1000;

/** The EventBridge event AWS Backup emits when a restore job changes state (the part the validator reads). */
export interface RestoreJobStateChange {
  readonly 'detail-type'?: string;
  readonly detail: {
    readonly restoreJobId: string;
    readonly status?: string;
    readonly resourceType?: string;
    /** The restored resource: `arn:<partition>:dynamodb:<region>:<account>:table/<name>`. */
    readonly createdResourceArn?: string;
    readonly restoreTestingPlanArn?: string;
  };
}

/** One restore test to validate; `checkId` once its check is open (a continuation carries it). */
export interface RestoreTest {
  readonly restoreJobId: string;
  readonly tableName: string;
  readonly checkId?: string;
}

export type RestoreValidation =
  | {
      readonly status: 'continuing';
      readonly restoreJobId: string;
      readonly tableName: string;
      readonly checkId: string;
    }
  | {
      readonly status: 'SUCCESSFUL' | 'FAILED';
      readonly restoreJobId: string;
      readonly tableName: string;
      readonly checkId: string;
      readonly message: string;
      readonly counts: CheckReport['counts'];
      readonly entitiesChecked: number;
    };

export interface RestoreValidationDeps {
  /** The stack's configuration: its table is the live one, which a validation never checks (or writes its run to). */
  readonly config: Config;
  readonly db: DynamoDBDocumentClient;
  /** Where the verdict goes (PutRestoreValidationResult). */
  readonly backup: BackupClient;
  /** The check's parallelism and page size (default 4 segments of 1,000 items a page). */
  readonly checkOptions?: Pick<CheckOptions, 'segments' | 'scanPage'>;
}

/** The restore test an event names; anything but a completed restore of a table into a restore-test table is refused. */
export function restoreTestOf(event: RestoreJobStateChange): RestoreTest {
  const { restoreJobId, status, createdResourceArn } = event.detail ?? {};
  if (!restoreJobId) throw new Error('the event names no restore job');
  if (status !== undefined && status !== 'COMPLETED') throw new Error(`restore job ${restoreJobId} is ${status}`);
  const m = /^arn:[a-z-]+:dynamodb:[a-z0-9-]+:\d{12}:table\/([A-Za-z0-9_.-]{3,255})$/.exec(createdResourceArn ?? '');
  if (!m) throw new Error(`restore job ${restoreJobId} restored no DynamoDB table (${String(createdResourceArn)})`);
  return { restoreJobId, tableName: m[1]! };
}

/**
 * Validates one restore test: the consistency checker (schema, invariants, folds, references, ledger) over the
 * whole restored table, then the verdict to AWS Backup: SUCCESSFUL when the check is clean, FAILED with its findings
 * otherwise. A check that does not finish in `timeLeft` is left open and `continuing` is answered, so the caller
 * carries `checkId` into its next invocation.
 */
export async function validateRestore(
  deps: RestoreValidationDeps,
  test: RestoreTest,
  timeLeft: () => number = () => Number.POSITIVE_INFINITY,
): Promise<RestoreValidation> {
  const { restoreJobId, tableName } = test;
  if (tableName === deps.config.tableName || !tableName.startsWith(RESTORE_TEST_TABLE_PREFIX))
    throw new Error(
      `${tableName} is not a restore test's table: only ${RESTORE_TEST_TABLE_PREFIX}* tables are validated`,
    );
  // Without read side: a restored table has no cache of its own.
  const check = checkerDeps({ ...deps.config, tableName }, deps.db);
  let checkId = test.checkId;
  if (!checkId) {
    await put(deps.backup, restoreJobId, 'VALIDATING', `consistency check of ${tableName} running`);
    checkId = (await openCheck(check, { segments: 4, ...deps.checkOptions, repair: false })).checkId;
  }
  const report = await continueCheck(check, checkId, timeLeft);
  if (report.status !== 'done') return { status: 'continuing', restoreJobId, tableName, checkId };
  const status = checkExitCode(report) === 0 ? 'SUCCESSFUL' : 'FAILED';
  const message = `${status === 'SUCCESSFUL' ? 'clean' : 'damaged'}: ${checkSummary(report)}`.slice(0, MAX_MESSAGE);
  await put(deps.backup, restoreJobId, status, message);
  return {
    status,
    restoreJobId,
    tableName,
    checkId,
    message,
    counts: report.counts,
    entitiesChecked: report.entitiesChecked,
  };
}

async function put(
  backup: BackupClient,
  restoreJobId: string,
  status: 'VALIDATING' | 'SUCCESSFUL' | 'FAILED',
  message: string,
): Promise<void> {
  await backup.send(
    new PutRestoreValidationResultCommand({
      RestoreJobId: restoreJobId,
      ValidationStatus: status,
      ValidationStatusMessage: message,
    }),
  );
}
