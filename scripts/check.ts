/**
 * `npm run check [-- --sample 0.1] [--repair] [--json]`: the consistency check (docs/recovery.md) on the local stack
 * `npm start` runs (or, without one, the stack the environment names), through the consistency checker Lambda's
 * handler, invoked again while the check is not done, as the function continues itself on AWS. Prints the
 * readable summary (or the JSON report) and exits 0 when nothing needs an operator, 1 otherwise.
 */
import { lambdaContext } from '../local/lambdaContext.js';
import { createConsistencyCheckerHandler } from '../functions/consistency-checker/handler.js';
import { checkExitCode, checkSummary, type CheckReport } from '../shared/checker/index.js';
import { STALE_STACK_HINT, targetStack, unreachable } from './localSecrets.js';
import { parseScriptArgs, usageError } from './commandLine.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

async function main(): Promise<number> {
  const usage = 'usage: npm run check -- [--sample <0-1>] [--repair] [--json]';
  const { values } = parseScriptArgs(usage, {
    options: {
      sample: { type: 'string' },
      repair: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const sample = values.sample === undefined ? 1 : Number(values.sample);
  if (!(sample > 0 && sample <= 1)) usageError(usage, `--sample must be a number in (0, 1], got '${values.sample}'`);
  const { config, local } = targetStack();
  const handler = createConsistencyCheckerHandler(config, { continueRun: async () => undefined });
  const started = Date.now();
  try {
    let report: CheckReport = await handler({ sample, repair: values.repair }, lambdaContext('consistency-checker'));
    while (report.status !== 'done')
      report = await handler({ checkId: report.checkId }, lambdaContext('consistency-checker'));
    const seconds = (Date.now() - started) / 1000;
    if (values.json) console.log(JSON.stringify(report));
    else {
      console.log(checkSummary(report));
      console.log(
        `${report.entitiesChecked} players in ${seconds.toFixed(1)} s (${Math.round(report.entitiesChecked / Math.max(seconds, 0.001))} players/s)${local ? ', local stack' : ''}`,
      );
    }
    return checkExitCode(report);
  } catch (error) {
    if (local && unreachable(error)) {
      console.error(STALE_STACK_HINT);
      return 2;
    }
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
