import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The checkpoint of one fan-out run (a day's rewards, a bulk grant): one item whose key the run names. The run
 * lists its entities in segments; each segment goes through its own phases (send every page, then confirm every
 * page) with its own page token and lease, so several workers (of one invocation, or of runs started at once)
 * split the entities instead of paging the same ones, and a worker that died leaves its segment to the next once
 * the lease ends. Counters the run keeps (sent, confirmed, its own tallies) move with the page they count, in the
 * same conditional update, so a page is counted once however often it is worked.
 */
export type RunPhase = 'send' | 'confirm' | 'done';

export interface RunKey {
  readonly pk: string;
  readonly sk: string;
}

export interface SegmentCheckpoint {
  readonly phase: RunPhase;
  /** Moves on with every page done (and so with every change of phase): a claim names the page it read. */
  readonly seq: number;
  /** The listing's page token; absent at the start of a phase. */
  readonly cursor?: string;
  readonly leaseOwner?: string;
  readonly leaseUntil?: number;
  /** Commands without an outcome on the page it checked last. */
  readonly pending?: number;
}

export interface Checkpoint {
  /** The run's phase as recorded for readers: the least advanced of its segments', written as they move on. */
  readonly phase?: RunPhase;
  readonly done?: boolean;
  readonly segments?: Readonly<Record<string, SegmentCheckpoint>>;
  readonly resent?: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** A run from before segments: one Scan cursor over the table, its page counter and `done` ("everything sent once"). */
  readonly seq?: number;
  readonly cursor?: unknown;
  /** The run's counters (`granted`, `confirmed`, …) and whatever else its owner keeps in the item. */
  readonly [counter: string]: unknown;
}

export interface CheckpointTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** Counter names become attribute names: plain words only. */
const COUNTER = /^[a-z][A-Za-z]{0,31}$/;

/**
 * One conditional update of the checkpoint; false when its condition did not hold (another worker got there
 * first). Attribute names are aliased (several are DynamoDB reserved words), `#s` being the segment's own.
 */
async function update(
  table: CheckpointTable,
  run: RunKey,
  expression: string,
  condition: string,
  values: Record<string, unknown>,
  segment?: string,
  counters: Readonly<Record<string, string>> = {},
): Promise<boolean> {
  const aliases: Record<string, string | undefined> = {
    '#segs': 'segments',
    '#s': segment,
    '#phase': 'phase',
    '#seq': 'seq',
    '#cursor': 'cursor',
    '#owner': 'leaseOwner',
    '#until': 'leaseUntil',
    '#pending': 'pending',
    ...counters,
  };
  // DynamoDB refuses names an expression does not use.
  const used = Object.entries(aliases).filter(
    (e): e is [string, string] =>
      e[1] !== undefined && new RegExp(`${e[0]}(?![A-Za-z0-9])`).test(`${expression} ${condition}`),
  );
  return conditional(() =>
    table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: run.pk, sk: run.sk },
        UpdateExpression: expression,
        ConditionExpression: condition,
        ExpressionAttributeNames: Object.fromEntries(used),
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

export async function readCheckpoint(table: CheckpointTable, run: RunKey): Promise<Checkpoint | undefined> {
  const out = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: run.pk, sk: run.sk }, ConsistentRead: true }),
  );
  return out.Item as Checkpoint | undefined;
}

/** The phase of a run: the least advanced of its segments'. */
export function phaseOf(checkpoint: Checkpoint): RunPhase {
  const phases = Object.values(checkpoint.segments ?? {}).map((s) => s.phase);
  return phases.includes('send') ? 'send' : phases.includes('confirm') ? 'confirm' : 'done';
}

/**
 * The run's checkpoint with its segments: created on the first call with `initial` (the run's counters at zero,
 * say); a checkpoint from before segments is carried over, every segment starting the phase it was in (its Scan
 * cursor means nothing to the listing, and sending or confirming a page again is safe). A legacy `done` without a
 * phase only meant "every command was sent once".
 */
export async function segmentedCheckpoint(
  table: CheckpointTable,
  run: RunKey,
  segments: number,
  initial: Readonly<Record<string, unknown>> = {},
): Promise<Checkpoint> {
  for (;;) {
    const found = await readCheckpoint(table, run);
    if (found?.segments) return found;
    const phase: RunPhase = found?.phase ?? (found?.done ? 'confirm' : 'send');
    const all = Object.fromEntries(
      Array.from({ length: segments }, (_, s): [string, SegmentCheckpoint] => [String(s), { phase, seq: 0 }]),
    );
    // Whoever wins the race creates it; everyone then reads it again.
    if (found) {
      await update(
        table,
        run,
        'SET #segs = :segs, #phase = :phase, granted = if_not_exists(granted, :zero), confirmed = if_not_exists(confirmed, :zero), resent = if_not_exists(resent, :zero) REMOVE done, #cursor',
        'attribute_not_exists(#segs)',
        { ':segs': all, ':phase': phase, ':zero': 0 },
      );
    } else {
      const item = {
        ...initial,
        pk: run.pk,
        sk: run.sk,
        phase: 'send',
        segments: all,
        resent: 0,
        startedAt: new Date().toISOString(),
      };
      await conditional(() =>
        table.db.send(
          new PutCommand({ TableName: table.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
        ),
      );
    }
  }
}

/** Takes a segment's page (the one at `seq`) for `leaseMs`, unless another worker holds it. */
export async function claimSegment(
  table: CheckpointTable,
  run: RunKey,
  segment: string,
  at: SegmentCheckpoint,
  me: string,
  leaseMs: number,
): Promise<boolean> {
  const now = Date.now();
  return update(
    table,
    run,
    'SET #segs.#s.#owner = :me, #segs.#s.#until = :until',
    '#segs.#s.#seq = :seq AND #segs.#s.#phase = :phase AND (attribute_not_exists(#segs.#s.#until) OR #segs.#s.#until < :now)',
    { ':me': me, ':until': now + leaseMs, ':seq': at.seq, ':phase': at.phase, ':now': now },
    segment,
  );
}

/**
 * Moves a segment past its page: to the next page token, or at the end of the segment to its next phase (send,
 * then confirm from the start, then done), adding `counts` to the run's counters in the same write.
 */
export async function advanceSegment(
  table: CheckpointTable,
  run: RunKey,
  segment: string,
  at: SegmentCheckpoint,
  me: string,
  next: string | undefined,
  counts: Readonly<Record<string, number>>,
): Promise<boolean> {
  const set = ['#segs.#s.#seq = :next'];
  const remove = ['#segs.#s.#owner', '#segs.#s.#until'];
  const values: Record<string, unknown> = { ':seq': at.seq, ':next': at.seq + 1, ':me': me };
  const counters: Record<string, string> = {};
  const add = Object.entries(counts).map(([name, count], i) => {
    if (!COUNTER.test(name)) throw new RangeError(`not a counter name: ${name}`);
    counters[`#c${i}`] = name;
    values[`:c${i}`] = count;
    return `#c${i} :c${i}`;
  });
  if (at.phase === 'confirm') {
    set.push('#segs.#s.#pending = :zero');
    values[':zero'] = 0;
  }
  if (next !== undefined) {
    set.push('#segs.#s.#cursor = :cursor');
    values[':cursor'] = next;
  } else {
    set.push('#segs.#s.#phase = :after');
    remove.push('#segs.#s.#cursor');
    values[':after'] = at.phase === 'send' ? 'confirm' : 'done';
  }
  return update(
    table,
    run,
    `SET ${set.join(', ')} REMOVE ${remove.join(', ')}${add.length > 0 ? ` ADD ${add.join(', ')}` : ''}`,
    '#segs.#s.#seq = :seq AND #segs.#s.#owner = :me',
    values,
    segment,
    counters,
  );
}

/** Gives a segment's page back without moving past it (some commands have no outcome yet), recording what is pending. */
export async function releaseSegment(
  table: CheckpointTable,
  run: RunKey,
  segment: string,
  at: SegmentCheckpoint,
  me: string,
  pending: number,
  resent: number,
): Promise<void> {
  await update(
    table,
    run,
    'SET #segs.#s.#pending = :pending REMOVE #segs.#s.#owner, #segs.#s.#until ADD resent :resent',
    '#segs.#s.#seq = :seq AND #segs.#s.#owner = :me',
    { ':seq': at.seq, ':me': me, ':pending': pending, ':resent': resent },
    segment,
  );
}

/** Records the run's phase for readers once its segments reached it: confirm, then done (with `done` and the finish time). */
export async function recordPhase(table: CheckpointTable, run: RunKey, phase: 'confirm' | 'done'): Promise<void> {
  if (phase === 'done')
    await update(table, run, 'SET #phase = :phase, done = :true, finishedAt = :iso', 'attribute_not_exists(done)', {
      ':phase': phase,
      ':true': true,
      ':iso': new Date().toISOString(),
    });
  else await update(table, run, 'SET #phase = :phase', '#phase = :send', { ':phase': phase, ':send': 'send' });
}

/** True if the conditional write happened; false if its condition did not hold (another run got there first). */
export async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
