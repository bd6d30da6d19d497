/**
 * `npm start`: a long-lived local Gamekeep. DynamoDB Local keeps its data in .gamekeep/dynamodb across restarts;
 * the SQS emulator keeps nothing, so Ctrl-C first drains the queue (no accepted command is lost), lets the
 * projection catch up, then stops every child process. The HTTP API listens on GAMEKEEP_API_PORT (3000), the
 * projector follows the table's stream into Redis (a redis-server on a free port, or REDIS_URL), the event
 * archiver follows it into the backup bucket (s3rver over .gamekeep/s3, kept across restarts), and the daily
 * reward runs on schedule.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../shared/config.js';
import { startLocalStack } from '../local/stack.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { localHttpHandlers, startGateway } from '../local/gateway.js';
import { startLocalScheduler } from '../local/scheduler.js';
import { startRedis } from '../local/redis.js';
import { startProjectionPipeline } from '../local/projectionPipeline.js';
import { readSide } from '../shared/readside/index.js';
import { eventStore } from '../shared/gamekeep.js';
import { createRewardSchedulerHandler } from '../functions/reward-scheduler/handler.js';
import { createPaymentReconcilerHandler } from '../functions/payment-reconciler/handler.js';
import { lambdaContext } from '../local/lambdaContext.js';
import { startLocalS3 } from '../local/s3.js';
import { startArchivePipeline } from '../local/archivePipeline.js';
import { startOidcProvider } from '../local/oidcProvider.js';
import { consoleAssets, ensureConsoleBuilt } from '../local/consoleAssets.js';
import { gamekeepHome, localSecrets, secretsFile, stackFile } from './localSecrets.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

async function main(): Promise<void> {
  mkdirSync(gamekeepHome, { recursive: true });
  const env = loadConfig();
  const secrets = localSecrets(env);
  // The table is created with its stream (the projector's event source); the data of earlier runs stays.
  const stack = await startLocalStack({ dataDir: join(gamekeepHome, 'dynamodb') });
  // The redis-server keeps nothing: views refill on read and the projector writes every new version; boards of
  // earlier runs come back with `npm run rebuild -- leaderboards`.
  const redis = env.redisUrl ? undefined : await startRedis();
  // Backups and the event archive: s3rver keeps its objects on disk, so they outlive the stack (and DynamoDB's data).
  const s3 = await startLocalS3({ directory: join(gamekeepHome, 's3') });
  // Operators sign in here (authorization code + PKCE); a fixed port keeps the issuer, and so tokens, across restarts.
  const oidc = await startOidcProvider({
    dir: gamekeepHome,
    config: stack.config,
    redirectUris: [`http://127.0.0.1:${env.apiPort}/console/callback`],
    port: env.oidcPort ?? 3001,
  });
  const config: Config = {
    ...stack.config,
    ...secrets,
    apiPort: env.apiPort,
    redisUrl: env.redisUrl ?? redis!.url,
    ...(env.dailyRewardHour !== undefined ? { dailyRewardHour: env.dailyRewardHour } : {}),
    ...(env.viewTtlSeconds !== undefined ? { viewTtlSeconds: env.viewTtlSeconds } : {}),
    ...(env.leaderboardRetentionDays !== undefined ? { leaderboardRetentionDays: env.leaderboardRetentionDays } : {}),
    backupBucket: s3.bucket,
    s3Endpoint: s3.endpoint,
    backupKeyFile: join(gamekeepHome, 'backup.key'),
    operatorIssuer: oidc.issuer,
    ...(env.supportAdjustmentLimit !== undefined ? { supportAdjustmentLimit: env.supportAdjustmentLimit } : {}),
  };
  const pipeline = startCommandPipeline(stack, { concurrency: 2, onError: (e) => console.error('[poller]', e) });
  const projection = await startProjectionPipeline(config, { onError: (e) => console.error('[projector]', e) }).catch(
    (error: unknown) => {
      if (!String(error).includes('has no stream')) throw error;
      throw new Error(
        `${String(error)}: it was created before the read side; remove .gamekeep/dynamodb (its data) to start afresh`,
      );
    },
  );
  const archive = await startArchivePipeline(config, { onError: (e) => console.error('[archiver]', e) });
  const reads = readSide(config, {
    store: eventStore(config),
    log: { warn: (message, details) => console.warn(`[read side] ${message}`, details ?? {}) },
  });
  // The web console at /console: built when its sources changed since the last build.
  await ensureConsoleBuilt((line) => console.log(`[console] ${line}`));
  const gateway = await startGateway({
    console: consoleAssets({ issuer: oidc.issuer, clientId: oidc.clientId, apiBase: '' }),
    handlers: localHttpHandlers(config, { readSide: reads }),
    jwtSecret: secrets.jwtSecret,
    serviceToken: secrets.serviceToken,
    adminToken: secrets.adminToken,
    port: config.apiPort,
    operatorIssuer: oidc.issuer,
  });
  // Locally the scheduler loop continues a run itself, so the function's own re-invocation is not needed.
  const rewards = createRewardSchedulerHandler(config, { continueRun: async () => undefined });
  const scheduler = startLocalScheduler(rewards, {
    hourUtc: config.dailyRewardHour ?? 0,
    onResult: (r) =>
      console.log(
        `[rewards] ${r[0]?.date}: ${r.reduce((n, x) => n + x.sent, 0)} grants sent in ${r.length} invocation(s)`,
      ),
    onError: (e) => console.error('[rewards]', e),
  });
  // The EventBridge rule of the payment reconciler, locally every 10 s. The first pass re-sends every credit
  // still without an outcome at once: the emulator lost whatever was queued when the last run was killed.
  const reconciler = createPaymentReconcilerHandler(config, { resendAfterMs: 30_000 });
  const reconcile = (): Promise<unknown> =>
    reconciler({}, lambdaContext('gamekeep-payment-reconciler', 60_000))
      .then(
        (r) => r.sent > 0 && console.log(`[payments] reconciled ${r.checked} open payments, ${r.sent} credits sent`),
      )
      .catch((e: unknown) => console.error('[payments]', e));
  await createPaymentReconcilerHandler(config, { resendAfterMs: 0 })(
    {},
    lambdaContext('gamekeep-payment-reconciler', 60_000),
  ).catch((e: unknown) => console.error('[payments]', e));
  const reconciliation = setInterval(() => void reconcile(), 10_000);
  writeFileSync(stackFile, JSON.stringify(config, null, 2), { mode: 0o600 });

  console.log('Gamekeep is running locally.');
  console.log(`  HTTP API         ${gateway.url}/v1  (OpenAPI: ${gateway.url}/v1/openapi.json)`);
  console.log(
    `  DynamoDB Local   ${stack.config.dynamoDbEndpoint}  (table ${stack.config.tableName}, data in .gamekeep/dynamodb)`,
  );
  console.log(`  SQS (fauxqs)     ${stack.config.sqsEndpoint}  (queue ${stack.commandQueue.url})`);
  console.log(
    `  Redis            ${config.redisUrl}  (${redis ? 'redis-server, nothing persisted' : 'REDIS_URL'}; player views and leaderboards, fed by the table stream)`,
  );
  console.log(
    `  Backups          ${s3.endpoint}  (s3rver, bucket ${s3.bucket}, objects in .gamekeep/s3, key .gamekeep/backup.key); the event archive follows the stream; gamekeep backup | backups | verify | drill`,
  );
  console.log(
    '  Payments         reconciled every 10 s (queued credits settled or re-sent, unmatched credited once the player exists)',
  );
  console.log(
    `  Daily rewards    next run ${scheduler.next().toISOString()}; now: npm run reward -- --date YYYY-MM-DD`,
  );
  console.log(`  Secrets          ${secretsFile} (environment variables override them)`);
  console.log(`    game service   Authorization: Bearer ${secrets.serviceToken}`);
  console.log(`    operator (GM)  Authorization: Bearer ${secrets.adminToken}`);
  console.log('    player token   npm run token -- <playerId>   (HS256 JWT, sub = the player)');
  console.log(`  Web console      ${gateway.url}/console  (sign in with an operator account below)`);
  console.log(
    `  Operator sign-in ${oidc.issuer}  (OpenID Connect, client ${oidc.clientId}; accounts in .gamekeep/operators.json)`,
  );
  for (const a of oidc.createdAccounts)
    console.log(`    ${a.username.padEnd(14)} password ${a.password}  (roles ${a.roles.join(', ')}; shown this once)`);
  for (const [provider, list] of Object.entries(secrets.webhookSecrets))
    console.log(`    webhook ${provider.padEnd(7)} ${list.join(', ')}`);
  console.log(`  Try: curl -s ${gateway.url}/v1/health`);
  console.log('Ctrl-C drains the queue, lets the projection catch up and stops.');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: draining the command queue…`);
    scheduler.stop();
    clearInterval(reconciliation);
    await gateway.stop();
    await oidc.stop();
    try {
      await pipeline.drained(60_000);
    } catch (error) {
      console.error(`could not drain: ${String(error)}; messages still queued are lost with the emulator`);
    }
    await pipeline.stop();
    try {
      await projection.poller.caughtUp(10_000);
    } catch (error) {
      console.error(
        `the projection did not catch up: ${String(error)}; \`npm run rebuild -- leaderboards\` restores the boards`,
      );
    }
    await projection.stop();
    try {
      await archive.poller.caughtUp(10_000);
    } catch (error) {
      console.error(`the event archive did not catch up: ${String(error)}; the next increment has a gap up to it`);
    }
    await archive.stop();
    await s3.stop();
    await reads.close();
    await redis?.stop();
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
