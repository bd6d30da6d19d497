/**
 * `npm start`: a long-lived local Gamekeep. DynamoDB Local keeps its data in .gamekeep/dynamodb across restarts;
 * the SQS emulator keeps nothing, so Ctrl-C first drains the queue (no accepted command is lost), then stops
 * every child process.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack.js';
import { startCommandPipeline } from '../local/commandPipeline.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

const home = join(process.cwd(), '.gamekeep');
const stackFile = join(home, 'stack.json');

async function main(): Promise<void> {
  mkdirSync(home, { recursive: true });
  const stack = await startLocalStack({ dataDir: join(home, 'dynamodb') });
  const pipeline = startCommandPipeline(stack, { concurrency: 2, onError: (e) => console.error('[poller]', e) });
  writeFileSync(stackFile, JSON.stringify(stack.config, null, 2));
  console.log('Gamekeep is running locally.');
  console.log(`  DynamoDB Local   ${stack.config.dynamoDbEndpoint}  (table ${stack.config.tableName}, data in .gamekeep/dynamodb)`);
  console.log(`  SQS (fauxqs)     ${stack.config.sqsEndpoint}  (queue ${stack.commandQueue.url})`);
  console.log('  Try: npm run cli -- send demo-1 \'{"type":"CreatePlayer","name":"Lin Feng"}\'');
  console.log('Ctrl-C drains the queue and stops.');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: draining the command queue…`);
    try {
      await pipeline.drained(60_000);
    } catch (error) {
      console.error(`could not drain: ${String(error)}; messages still queued are lost with the emulator`);
    }
    await pipeline.stop();
    await stack.stop();
    rmSync(stackFile, { force: true });
    console.log('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
