/**
 * `npm run reward -- [--date YYYY-MM-DD]`: triggers the daily reward run of a date (today, UTC, by default) on the
 * running local stack through the operators' route, calling again while the run reports it must continue. The day
 * is done once every grant has an outcome, so it needs the stack's command pipeline; the script gives up (exit 1)
 * when several calls in a row bring no grant an outcome, and a later run resumes where it stopped.
 */
import { isoDateSchema } from '../shared/http/schemas.js';
import type { RunResult } from '../shared/rewards/dailyRewards.js';
import { STALE_STACK_HINT, runningStack, unreachable } from './localSecrets.js';
import { parseScriptArgs, usageError } from './commandLine.js';

/** Each call works for up to 25 s: eight calls without progress are minutes in which no grant got an outcome. */
const CALLS_WITHOUT_PROGRESS = 8;

const USAGE = 'usage: npm run reward -- [--date YYYY-MM-DD]   (default: today, UTC)';
const { values } = parseScriptArgs(USAGE, {
  options: { date: { type: 'string', default: new Date().toISOString().slice(0, 10) } },
});
const date = isoDateSchema.safeParse(values.date);
if (!date.success) usageError(USAGE, `--date must be a date as YYYY-MM-DD, got '${values.date}'`);
let config: ReturnType<typeof runningStack>;
try {
  config = runningStack();
} catch (error) {
  console.error(String((error as Error).message));
  process.exit(2);
}
if (!config.apiPort) {
  console.error(
    'the local stack was started with GAMEKEEP_API_PORT=0 and .gamekeep/stack.json does not say which port it got: start it on a fixed port',
  );
  process.exit(2);
}
let idle = 0;
let pending: number | undefined;
for (let call = 1; ; call++) {
  const res = await fetch(`http://127.0.0.1:${config.apiPort}/v1/admin/rewards/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: date.data }),
  }).catch((error: unknown) => {
    console.error(unreachable(error) ? STALE_STACK_HINT : String(error));
    return process.exit(1);
  });
  const body = (await res.json()) as Partial<RunResult>;
  console.log(`call ${call}: ${res.status} ${JSON.stringify(body)}`);
  if (res.status !== 200 && res.status !== 202) process.exit(1);
  if (body.status === 'done') break;
  const progressed =
    (body.sent ?? 0) > 0 || (body.confirmed ?? 0) > 0 || (pending !== undefined && (body.pending ?? 0) < pending);
  idle = progressed ? 0 : idle + 1;
  pending = body.pending;
  if (idle >= CALLS_WITHOUT_PROGRESS) {
    console.error(
      `${body.pending ?? '?'} grants still have no outcome after ${idle} calls without progress: is the command pipeline running? Run again to resume.`,
    );
    process.exit(1);
  }
}
