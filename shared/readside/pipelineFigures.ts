import type { DynamoDBRecord } from 'aws-lambda';
import type { Redis } from 'ioredis';
import { COMMAND_SK } from '../persistence/tableLayout.js';

/**
 * The pipeline's live figures for operators (GET /v1/admin/stats, the console's Pipeline health page): commands
 * decided (applied and rejected, counted from the command records the stream carries) and the projection's lag,
 * kept by the projector in one Redis hash beside the read side's data. Counters for a rate chart, not an
 * account: a retried stream batch counts its records again, and a cache that lost its data starts them at zero
 * (the console charts differences between two readings and skips a reading that went down).
 */
const FIGURES_KEY = 'gk:readside:pipeline';

export interface DecidedCounts {
  applied: number;
  rejected: number;
}

/** The command records a batch of stream records created, by outcome. */
export function decidedIn(records: readonly DynamoDBRecord[]): DecidedCounts {
  const counts: DecidedCounts = { applied: 0, rejected: 0 };
  for (const r of records) {
    if (r.eventName !== 'INSERT' || r.dynamodb?.Keys?.sk?.S !== COMMAND_SK) continue;
    if (!r.dynamodb.Keys.pk?.S?.startsWith('C#')) continue;
    const status = r.dynamodb.NewImage?.status?.S;
    if (status === 'applied' || status === 'rejected') counts[status]++;
  }
  return counts;
}

/** Adds a batch's decided commands and records its lag (the slowest record's commit to projection, in ms). */
export async function recordPipelineFigures(
  redis: Redis,
  batch: DecidedCounts & { lagMs?: number },
  now = Date.now(),
): Promise<void> {
  const m = redis.multi();
  if (batch.applied > 0) m.hincrby(FIGURES_KEY, 'applied', batch.applied);
  if (batch.rejected > 0) m.hincrby(FIGURES_KEY, 'rejected', batch.rejected);
  if (batch.lagMs !== undefined) m.hset(FIGURES_KEY, { lagMs: Math.max(0, Math.round(batch.lagMs)), lagAt: now });
  await m.exec();
}

export interface PipelineFigures {
  readonly commands: DecidedCounts;
  /** The last projected batch's lag, and when it was measured (null before any). */
  readonly projection: { readonly lagMs: number | null; readonly measuredAt: string | null };
}

export async function pipelineFigures(redis: Redis): Promise<PipelineFigures | undefined> {
  try {
    const raw = await redis.hgetall(FIGURES_KEY);
    const n = (k: string) => (raw[k] === undefined ? null : Number(raw[k]));
    const lagAt = n('lagAt');
    return {
      commands: { applied: n('applied') ?? 0, rejected: n('rejected') ?? 0 },
      projection: { lagMs: n('lagMs'), measuredAt: lagAt === null ? null : new Date(lagAt).toISOString() },
    };
  } catch {
    return undefined;
  }
}
