/**
 * `npm run demo`: the main job on a fresh embedded stack. 200 players, thousands of commands from concurrent
 * senders with duplicates and payment replays, then an audit of every guarantee. Exits non-zero if one fails.
 */
import { startLocalStack } from '../local/stack.js';
import { startCommandPipeline } from '../local/commandPipeline.js';
import { gameWorkload, random } from '../local/workload.js';
import { auditPlayers, type Check } from '../local/playerAudit.js';
import { commandQueue, eventStore } from '../shared/gamekeep.js';
import { commandEnvelope, type CommandEnvelope } from '../shared/engine/envelope.js';
import { percentile, progressBar, table } from './console.js';
import { startRedis } from '../local/redis.js';
import { startProjectionPipeline } from '../local/projectionPipeline.js';
import { auditReadSide } from '../local/readSideAudit.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const PLAYERS = 200;
const COMMANDS_PER_PLAYER = 26;
const SENDERS = 8;
const DUPLICATE_SHARE = 0.25;

async function main(): Promise<number> {
  console.log('Starting DynamoDB Local (with its stream), the SQS emulator and redis-server…');
  const stack = await startLocalStack({ stream: true });
  const redis = await startRedis();
  const pipeline = startCommandPipeline(stack, { concurrency: 4 });
  const projection = await startProjectionPipeline({ ...stack.config, redisUrl: redis.url });
  const queue = commandQueue(stack.config);
  const store = eventStore(stack.config);
  let reading = true;
  try {
    const workload = gameWorkload({ players: PLAYERS, commandsPerPlayer: COMMANDS_PER_PLAYER, seed: 7 });
    const rnd = random(99);

    console.log(`Creating ${PLAYERS} players…`);
    await queue.send(workload.creates);
    // A name clash: a second player asks for a name that is taken (case and width differ).
    const clash = commandEnvelope({ entityType: 'player', entityId: 'p-clash', command: { type: 'CreatePlayer', name: 'ＣＵＬＴＩＶＡＴＯＲ Ｐ1' }, source: { kind: 'client', actor: 'p-clash' }, identity: ['client', 'p-clash', 'create'], issuedAt: new Date() });
    await queue.send([clash]);
    await pipeline.drained();

    // Duplicates: re-sends inside SQS's window (dropped by SQS), and late replays (payment webhooks
    // redelivered, retries after the window) that reach the processor and are deduplicated by the engine.
    // Arena results reported by a game server: wins and losses for the combat leaderboard and statistics.
    const combats = workload.players
      .filter((_, i) => i % 3 === 0)
      .map((id, i) =>
        commandEnvelope({
          entityType: 'player',
          entityId: id,
          command: { type: 'RecordCombatResult', combatId: `arena-${i}`, kind: 'arena', outcome: rnd() < 0.6 ? 'win' : 'loss', rewards: { gold: 25, experience: 120 } },
          source: { kind: 'service', actor: 'arena' },
          identity: ['service', 'arena', id, `arena-${i}`],
          issuedAt: new Date(),
        }),
      );
    const unique = [...workload.commands, ...combats];
    const resent = unique.filter(() => rnd() < DUPLICATE_SHARE / 2);
    const replays = unique.filter((c) => rnd() < (c.command.type === 'CreditPurchase' ? 0.5 : DUPLICATE_SHARE / 2));
    // A payment for an order that was credited already, arriving under another command id.
    const orders = unique.filter((c) => c.command.type === 'CreditPurchase').slice(0, 10);
    const doubleOrders = orders.map((c) => ({ ...c, commandId: commandEnvelope({ entityType: 'player', entityId: c.entityId, command: c.command, source: c.source, identity: ['payment', 'api', c.commandId], issuedAt: new Date() }).commandId }));
    const expectedDeliveries = unique.length + replays.length + doubleOrders.length;
    const sends = unique.length + resent.length + replays.length + doubleOrders.length;

    console.log(`Sending ${sends} commands (${unique.length + doubleOrders.length} distinct, ${resent.length + replays.length} duplicates) from ${SENDERS} concurrent senders…`);
    const shards: CommandEnvelope[][] = Array.from({ length: SENDERS }, () => []);
    unique.forEach((c, i) => shards[i % SENDERS]!.push(c));
    resent.forEach((c, i) => shards[(i + 3) % SENDERS]!.push(c));
    const base = { ...pipeline.totals };
    const processed = (): number => {
      const t = pipeline.totals;
      return t.applied + t.rejected + t.duplicate + t.reused - (base.applied + base.rejected + base.duplicate + base.reused);
    };
    const started = Date.now();
    const bar = progressBar('commands', expectedDeliveries);
    const ticker = setInterval(() => bar.update(processed()), 200);
    const writesBefore = { ...pipeline.writes };
    // Game clients read player views while the commands flow (cache-aside behind the projector's write-through).
    const readers = Array.from({ length: 2 }, async () => {
      while (reading) {
        await projection.readSide.readPlayerView(workload.players[Math.floor(rnd() * workload.players.length)]!);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await Promise.all(shards.map((shard) => queue.send(shard)));
    await queue.send(replays, { replay: 'late' });
    await queue.send(doubleOrders);
    await pipeline.drained(600_000);
    const seconds = (Date.now() - started) / 1000;
    await projection.poller.caughtUp();
    reading = false;
    await Promise.all(readers);
    clearInterval(ticker);
    bar.update(processed());
    bar.done();

    const t = pipeline.totals;
    const decided = t.applied + t.rejected - (base.applied + base.rejected);
    const writeRequests = pipeline.writes.requests - writesBefore.requests;
    const capacity = pipeline.writes.capacity - writesBefore.capacity;
    const billed = pipeline.writes.billed - writesBefore.billed;

    console.log('Auditing the table…');
    const sentIds = [...workload.creates, ...unique, ...doubleOrders].map((c) => c.commandId);
    const audit = await auditPlayers(store, workload.players, sentIds);
    const rejectionCodes = new Map<string, number>();
    for (const r of audit.records.values()) if (r.status === 'rejected') rejectionCodes.set(r.code!, (rejectionCodes.get(r.code!) ?? 0) + 1);
    const expectedRejections = [...workload.mustReject].filter(([id, code]) => audit.records.get(id)?.code !== code);
    const clashRecord = (await store.commandRecord(clash.commandId))?.code;
    const doubleOrderCodes = doubleOrders.map((c) => audit.records.get(c.commandId)?.code);
    console.log('Auditing the read side…');
    const readSideChecks = await auditReadSide(store, projection.readSide, workload.players);
    const cache = projection.readSide.cacheStats();
    const checks: Check[] = [
      ...audit.checks,
      ...readSideChecks,
      { name: 'overdrawn spends rejected INSUFFICIENT_FUNDS', ok: expectedRejections.length === 0, detail: `${workload.mustReject.size - expectedRejections.length}/${workload.mustReject.size}` },
      { name: 'a taken name is refused (NAME_TAKEN)', ok: clashRecord === 'NAME_TAKEN', detail: String(clashRecord) },
      { name: 'a payment credited once per order', ok: doubleOrderCodes.every((c) => c === 'ORDER_ALREADY_CREDITED' || c === 'PLAYER_NOT_FOUND'), detail: `${doubleOrders.length} second payments refused` },
      { name: 'every late replay deduplicated by the engine', ok: t.duplicate - base.duplicate === replays.length, detail: `${t.duplicate - base.duplicate} of ${replays.length}` },
    ];

    const appliedCount = [...audit.records.values()].filter((r) => r.status === 'applied').length;
    console.log();
    console.log(
      table([
        ['players', String(PLAYERS)],
        ['commands sent', `${sends} (${resent.length + replays.length} duplicates = ${(((resent.length + replays.length) / sends) * 100).toFixed(1)} %)`],
        ['  deduplicated by SQS (inside 5 min)', String(sends - expectedDeliveries)],
        ['  deduplicated by the engine (late replays)', String(t.duplicate - base.duplicate)],
        ['commands applied', String(appliedCount)],
        ['commands rejected', `${[...rejectionCodes.values()].reduce((a, b) => a + b, 0)} (${[...rejectionCodes].map(([c, n]) => `${c} ${n}`).join(', ')})`],
        ['throughput', `${(decided / seconds).toFixed(0)} commands/s (${decided} in ${seconds.toFixed(1)} s)`],
        ['enqueue → committed', `p50 ${percentile(pipeline.latenciesMs, 50)} ms, p99 ${percentile(pipeline.latenciesMs, 99)} ms`],
        ['projection lag (commit → projected)', `p50 ${percentile(projection.lagMs, 50)} ms, p99 ${percentile(projection.lagMs, 99)} ms over ${projection.lagMs.length} stream records`],
        ['player reads', `${cache.hits + cache.misses}: cache hit ratio ${(cache.hitRatio * 100).toFixed(1)} % (${cache.hits} hits, ${cache.misses} misses, ${cache.tableReads} DynamoDB reads)`],
        ['DynamoDB writes', `${(writeRequests / decided).toFixed(3)} requests/command; WCU/command ${(billed / decided).toFixed(2)} as AWS bills, ${(capacity / decided).toFixed(2)} as DynamoDB Local reports`],
      ]),
    );
    console.log();
    for (const c of checks) console.log(`${c.ok ? '✔' : '✘'} ${c.name}: ${c.detail}`);
    const failed = checks.filter((c) => !c.ok);
    console.log(failed.length === 0 ? '\nAll checks passed.' : `\n${failed.length} check(s) FAILED.`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    reading = false;
    await pipeline.stop();
    await projection.stop();
    await stack.stop();
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
