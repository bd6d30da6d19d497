/**
 * `npm run demo`: the main job on a fresh embedded stack. 200 players, thousands of commands from concurrent
 * senders with duplicates and payment replays, then paid notices through the real webhook (odd amounts, payments
 * that overtake their player, replays), a rollback of a player with its trade partner and a corruption the
 * consistency checker finds and repairs, then an audit of every guarantee. Exits non-zero if one fails.
 */
import { randomBytes } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { startCommandPipeline, type CommandPipeline } from '../local/commandPipeline.js';
import { gameWorkload, paymentWorkload, random, type DemoPayment, type Newcomer } from '../local/workload.js';
import { auditPayments, auditPlayers, spiritStonesOf, type Check } from '../local/playerAudit.js';
import { localHttpHandlers, startGateway } from '../local/gateway.js';
import { commandQueue, eventStore } from '../shared/gamekeep.js';
import type { Config } from '../shared/config.js';
import type { EventStore } from '../shared/persistence/eventStore.js';
import { signatureHeader } from '../shared/payments/signature.js';
import { commandEnvelope, type CommandEnvelope } from '../shared/engine/envelope.js';
import { percentile, progressBar, table } from './console.js';
import { startRedis } from '../local/redis.js';
import { startProjectionPipeline } from '../local/projectionPipeline.js';
import { ReaderLog, auditReaders, auditReadSide } from '../local/readSideAudit.js';
import { recoveryPhase } from './demoRecovery.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const PLAYERS = 200;
const COMMANDS_PER_PLAYER = 26;
const SENDERS = 8;
const DUPLICATE_SHARE = 0.25;
/** Game clients reading player views throughout, and the share of their reads that pass `minVersion`. */
const READERS = 2;
const MIN_VERSION_SHARE = 0.15;
/** Webhook deliveries in flight at once, like a provider's parallel workers. */
const WEBHOOK_SENDERS = 8;

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
    await pipeline.drained();
    // A name clash: a second player asks for p00001's name (case and width differ). Sent only once the workload's
    // creates committed: in another message group nothing orders it after p00001's create, and had it won the name,
    // p00001 would never exist and its commands would meet PLAYER_NOT_FOUND.
    const clash = commandEnvelope({
      entityType: 'player',
      entityId: 'p-clash',
      command: { type: 'CreatePlayer', name: 'ＣＵＬＴＩＶＡＴＯＲ Ｐ1' },
      source: { kind: 'client', actor: 'p-clash' },
      identity: ['client', 'p-clash', 'create'],
      issuedAt: new Date(),
    });
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
          command: {
            type: 'RecordCombatResult',
            combatId: `arena-${i}`,
            kind: 'arena',
            outcome: rnd() < 0.6 ? 'win' : 'loss',
            rewards: { gold: 25, experience: 120 },
          },
          source: { kind: 'service', actor: 'arena' },
          identity: ['service', 'arena', id, `arena-${i}`],
          issuedAt: new Date(),
        }),
      );
    const unique = [...workload.commands, ...combats];
    const resent = unique.filter(() => rnd() < DUPLICATE_SHARE / 2);
    const replays = unique.filter((c) => rnd() < (c.command.type === 'CreditPurchase' ? 0.5 : DUPLICATE_SHARE / 2));
    // Payments for orders credited already, arriving under another command id.
    const secondPayments = workload.secondPayments;
    const sends = unique.length + resent.length + replays.length + secondPayments.length;

    console.log(
      `Sending ${sends} commands (${unique.length + secondPayments.length} distinct, ${resent.length + replays.length} duplicates) from ${SENDERS} concurrent senders…`,
    );
    const shards: CommandEnvelope[][] = Array.from({ length: SENDERS }, () => []);
    unique.forEach((c, i) => {
      shards[i % SENDERS]!.push(c);
    });
    resent.forEach((c, i) => {
      shards[(i + 3) % SENDERS]!.push(c);
    });
    const base = { ...pipeline.totals };
    const processed = (): number => {
      const t = pipeline.totals;
      return (
        t.applied + t.rejected + t.duplicate + t.reused - (base.applied + base.rejected + base.duplicate + base.reused)
      );
    };
    const started = Date.now();
    // What the engine will see if SQS drops exactly the in-window re-sends: the bar's goal, not a figure reported.
    const bar = progressBar('commands', unique.length + replays.length + secondPayments.length);
    const ticker = setInterval(() => bar.update(processed()), 200);
    const writesBefore = { ...pipeline.writes };
    const latenciesBefore = pipeline.latenciesMs.length;
    // Game clients read player views while the commands and payments flow (cache-aside behind the projector's
    // write-through), each logging every version it is served; now and then a read asks for the version it last
    // saw, or the next one (read-your-writes).
    const readerLogs = Array.from({ length: READERS }, () => new ReaderLog());
    const readers = readerLogs.map(async (log, r) => {
      const pick = random(1000 + r);
      while (reading) {
        const id = workload.players[Math.floor(pick() * workload.players.length)]!;
        const last = log.last(id);
        const minVersion =
          last !== undefined && last > 0 && pick() < MIN_VERSION_SHARE ? last + (pick() < 0.5 ? 0 : 1) : undefined;
        log.record(
          id,
          await projection.readSide.readPlayerView(id, minVersion !== undefined ? { minVersion } : {}),
          minVersion,
        );
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await Promise.all(shards.map((shard) => queue.send(shard)));
    await queue.send(replays, { replay: 'late' });
    await queue.send(secondPayments);
    await pipeline.drained(600_000);
    const seconds = (Date.now() - started) / 1000;
    await projection.poller.caughtUp();
    clearInterval(ticker);
    bar.update(processed());
    bar.done();

    const t = { ...pipeline.totals };
    const decided = t.applied + t.rejected - (base.applied + base.rejected);
    const writeRequests = pipeline.writes.requests - writesBefore.requests;
    const capacity = pipeline.writes.capacity - writesBefore.capacity;
    const billed = pipeline.writes.billed - writesBefore.billed;
    const latencies = pipeline.latenciesMs.slice(latenciesBefore);
    // Measured: every distinct message the queue handed to the pollers, once however often it was redelivered.
    const delivered = t.received - base.received;

    const payments = await paymentPhase(stack, pipeline, store, workload.players);
    await projection.poller.caughtUp();
    reading = false;
    await Promise.all(readers);
    console.log('Rolling a player back with its trade partner, then letting the checker find a corruption…');
    const recovery = await recoveryPhase(stack, pipeline, projection, [workload.players[3]!, workload.players[4]!]);

    console.log('Auditing the table…');
    const players = [...workload.players, ...payments.players];
    const sentIds = [...workload.creates, ...unique, ...secondPayments]
      .map((c) => c.commandId)
      .concat(payments.commandIds, recovery.commandIds);
    const audit = await auditPlayers(store, players, sentIds);
    const rejectionCodes = new Map<string, number>();
    for (const r of audit.records.values())
      if (r.status === 'rejected') rejectionCodes.set(r.code!, (rejectionCodes.get(r.code!) ?? 0) + 1);
    const expectedRejections = [...workload.mustReject].filter(([id, code]) => audit.records.get(id)?.code !== code);
    const clashRecord = (await store.commandRecord(clash.commandId))?.code;
    const createsApplied = workload.creates.filter((c) => audit.records.get(c.commandId)?.status === 'applied').length;
    const secondPaymentCodes = secondPayments.map((c) => audit.records.get(c.commandId)?.code);
    const notRefused = secondPaymentCodes.filter((c) => c !== 'ORDER_ALREADY_CREDITED');
    console.log('Auditing the read side…');
    const readSideChecks = await auditReadSide(store, projection.readSide, players);
    const cache = projection.readSide.cacheStats();
    const checks: Check[] = [
      ...audit.checks,
      ...readSideChecks,
      auditReaders(readerLogs),
      {
        name: 'every workload player created (no command meets PLAYER_NOT_FOUND)',
        ok: createsApplied === PLAYERS && !rejectionCodes.has('PLAYER_NOT_FOUND'),
        detail: `${createsApplied}/${PLAYERS} created, ${rejectionCodes.get('PLAYER_NOT_FOUND') ?? 0} PLAYER_NOT_FOUND`,
      },
      {
        name: 'overdrawn spends rejected INSUFFICIENT_FUNDS',
        ok: expectedRejections.length === 0,
        detail: `${workload.mustReject.size - expectedRejections.length}/${workload.mustReject.size}`,
      },
      { name: 'a taken name is refused (NAME_TAKEN)', ok: clashRecord === 'NAME_TAKEN', detail: String(clashRecord) },
      {
        name: 'a payment credited once per order (ORDER_ALREADY_CREDITED)',
        ok: notRefused.length === 0,
        detail: notRefused.length
          ? `${notRefused.length} of ${secondPayments.length} second payments got ${notRefused.map(String).join(', ')}`
          : `${secondPayments.length}/${secondPayments.length} second payments refused`,
      },
      {
        name: 'SQS dropped exactly the re-sends inside its window',
        ok: sends - delivered === resent.length,
        detail: `${sends} sends, ${delivered} distinct messages received, ${resent.length} re-sent inside 5 min`,
      },
      {
        name: 'every late replay deduplicated by the engine',
        ok: t.duplicate - base.duplicate === replays.length,
        detail: `${t.duplicate - base.duplicate} of ${replays.length}`,
      },
      ...payments.checks,
      ...(await auditPayments(store, payments.provider, payments.expected, payments.stonesBefore)),
      ...recovery.checks,
    ];

    const appliedCount = [...audit.records.values()].filter((r) => r.status === 'applied').length;
    console.log();
    console.log(
      table([
        ['players', `${PLAYERS} (+ ${payments.players.length} who signed up around their first payment)`],
        [
          'commands sent',
          `${sends} (${resent.length + replays.length} duplicates = ${(((resent.length + replays.length) / sends) * 100).toFixed(1)} %)`,
        ],
        [
          '  deduplicated by SQS (sends − distinct messages received)',
          `${sends - delivered} (${delivered} distinct messages reached the pollers)`,
        ],
        ['  deduplicated by the engine (late replays)', String(t.duplicate - base.duplicate)],
        ['commands applied', String(appliedCount)],
        [
          'commands rejected',
          `${[...rejectionCodes.values()].reduce((a, b) => a + b, 0)} (${[...rejectionCodes].map(([c, n]) => `${c} ${n}`).join(', ')})`,
        ],
        ['throughput', `${(decided / seconds).toFixed(0)} commands/s (${decided} in ${seconds.toFixed(1)} s)`],
        ['enqueue → committed', `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`],
        [
          'projection lag (commit → projected)',
          `p50 ${percentile(projection.lagMs, 50)} ms, p99 ${percentile(projection.lagMs, 99)} ms over ${projection.lagMs.length} stream records`,
        ],
        [
          'player reads',
          `${cache.hits + cache.misses}: cache hit ratio ${(cache.hitRatio * 100).toFixed(1)} % (${cache.hits} hits, ${cache.misses} misses, ${cache.tableReads} DynamoDB reads)`,
        ],
        [
          'DynamoDB writes',
          `${(writeRequests / decided).toFixed(3)} requests/command; WCU/command ${(billed / decided).toFixed(2)} as AWS bills, ${(capacity / decided).toFixed(2)} as DynamoDB Local reports`,
        ],
        ...payments.rows,
        ...recovery.rows,
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

interface PaymentPhase {
  readonly provider: string;
  readonly expected: readonly DemoPayment[];
  readonly stonesBefore: ReadonlyMap<string, number>;
  /** Players created in this phase, for the table audit. */
  readonly players: readonly string[];
  /** Commands this phase sent (sign-ups and the credits of credited payments), for the table audit. */
  readonly commandIds: readonly string[];
  readonly checks: Check[];
  readonly rows: [string, string][];
}

interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the demo reads the API's JSON answers as the black-box client it plays
  readonly body: any;
}

/**
 * Paid notices through the real webhook route of a gateway on a free port: in-band payments at odd amounts,
 * out-of-band ones, payments that overtake their player's sign-up, concurrent and late replays. Once the queue has
 * drained, reconciliation passes run (through the admin API) until none changes anything; then every payment's
 * status is read back and compared with what the workload says it must be.
 */
async function paymentPhase(
  stack: LocalStack,
  pipeline: CommandPipeline,
  store: EventStore,
  workloadPlayers: readonly string[],
): Promise<PaymentPhase> {
  const work = paymentWorkload({
    payers: workloadPlayers.filter((_, i) => i % 5 === 2),
    newcomers: 40,
    ghosts: 6,
    seed: 5,
  });
  const secret = () => randomBytes(24).toString('hex');
  const webhookSecret = secret();
  const config: Config = {
    ...stack.config,
    jwtSecret: secret(),
    serviceToken: secret(),
    adminToken: secret(),
    webhookSecrets: { [work.provider]: [webhookSecret] },
  };
  const gateway = await startGateway({
    handlers: localHttpHandlers(config),
    jwtSecret: config.jwtSecret!,
    serviceToken: config.serviceToken!,
    adminToken: config.adminToken!,
    port: 0,
  });
  const http = async (
    method: string,
    path: string,
    o: { auth?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(o.auth ? { authorization: `Bearer ${o.auth}` } : {}),
        ...o.headers,
      },
      ...(o.body !== undefined ? { body: o.body } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const deliver = (p: DemoPayment): Promise<Answer> => {
    const raw = JSON.stringify(p.notice);
    return http('POST', `/v1/webhooks/payments/${work.provider}`, {
      body: raw,
      headers: { 'gamekeep-signature': signatureHeader([webhookSecret], raw) },
    });
  };
  const admin = config.adminToken!;
  try {
    const existing = new Set(workloadPlayers);
    const payers = [...new Set(work.payments.map((p) => p.notice.playerId))];
    const stonesBefore = await spiritStonesOf(
      store,
      payers.filter((id) => existing.has(id)),
    );
    const newcomers = new Map(work.newcomers.map((n) => [n.playerId, n]));
    const firstAnswers = new Map<string, Answer[]>();
    const signUps: string[] = [];
    let deliveries = 0;
    const signUp = async (n: Newcomer): Promise<void> => {
      const r = await http('POST', '/v1/players', {
        auth: config.serviceToken!,
        body: JSON.stringify({ playerId: n.playerId, name: n.name }),
      });
      if (r.status !== 202) throw new Error(`sign-up of ${n.playerId} answered ${r.status} ${JSON.stringify(r.body)}`);
      signUps.push(r.body.commandId);
    };
    const firstDelivery = async (p: DemoPayment): Promise<void> => {
      const times = work.bursts.has(p.notice.orderId) ? 3 : 1;
      deliveries += times;
      firstAnswers.set(p.notice.orderId, await Promise.all(Array.from({ length: times }, () => deliver(p))));
    };

    console.log(
      `Delivering ${work.payments.length} paid notices to the webhook (${work.newcomers.length} payers sign up around their first payment)…`,
    );
    const started = Date.now();
    // One task per payer, in a seeded shuffle so sign-ups interleave with everyone else's payments.
    const tasks = payers.map((id) => async () => {
      const own = work.payments.filter((p) => p.notice.playerId === id);
      const n = newcomers.get(id);
      if (n?.signsUp === 'before') await signUp(n);
      for (const p of own) await firstDelivery(p);
      if (n?.signsUp === 'after') await signUp(n);
    });
    shuffle(tasks, random(3));
    await inParallel(tasks, WEBHOOK_SENDERS, (task) => task());
    // The provider retrying some webhooks later: some players exist by now, so those replays match their payment.
    const replayAnswers = new Map<string, Answer>();
    deliveries += work.replays.length;
    await inParallel(
      work.replays,
      WEBHOOK_SENDERS,
      async (p) => void replayAnswers.set(p.notice.orderId, await deliver(p)),
    );

    let passes = 0;
    let settled = false;
    for (; passes < 10 && !settled; ) {
      await pipeline.drained();
      const r = await http('POST', '/v1/admin/payments/reconciliations', { auth: admin });
      passes++;
      if (r.status !== 200) throw new Error(`reconciliation answered ${r.status} ${JSON.stringify(r.body)}`);
      // A pass that leaves nothing queued and sends nothing: no credit is in flight and no unmatched payment's player exists.
      settled = r.body.complete && r.body.ended.queued === 0 && r.body.sent === 0;
    }
    await pipeline.drained();
    const seconds = (Date.now() - started) / 1000;

    const finals = new Map<string, Answer>();
    await inParallel(
      work.payments,
      WEBHOOK_SENDERS,
      async (p) =>
        void finals.set(
          p.notice.orderId,
          await http('GET', `/v1/admin/payments/${work.provider}/${p.notice.orderId}`, { auth: admin }),
        ),
    );
    const listed = async (status: string): Promise<string[]> => {
      const orders: string[] = [];
      for (let after: string | null | undefined; ; ) {
        const r = await http(
          'GET',
          `/v1/admin/payments/${status}?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`,
          { auth: admin },
        );
        const items = r.body.items as { provider: string; orderId: string }[];
        orders.push(...items.filter((i) => i.provider === work.provider).map((i) => i.orderId));
        after = r.body.next;
        if (!after) return orders;
      }
    };
    const [queued, unmatched] = [await listed('queued'), await listed('unmatched')];

    const answers = [...[...firstAnswers.values()].flat(), ...replayAnswers.values()];
    const badAnswers = answers.filter((a) => a.status !== 200);
    const commandOf = (p: DemoPayment) =>
      firstAnswers.get(p.notice.orderId)?.[0]?.body?.commandId as string | undefined;
    const disagreeing = work.payments.filter((p) => {
      const ids = [
        ...(firstAnswers.get(p.notice.orderId) ?? []),
        ...(replayAnswers.has(p.notice.orderId) ? [replayAnswers.get(p.notice.orderId)!] : []),
      ].map((a) => a.body?.commandId);
      return ids.length === 0 || ids.some((id) => id !== ids[0]);
    });
    const endOf = (p: DemoPayment) => finals.get(p.notice.orderId)?.body;
    const wrongEnds = work.payments.filter((p) => {
      const end = endOf(p);
      return (
        end?.status !== p.ends ||
        (p.ends === 'disputed' && end.problem?.code !== p.code) ||
        (p.ends === 'credited' && end.creditedTo !== p.notice.playerId)
      );
    });
    const count = (end: string) => work.payments.filter((p) => endOf(p)?.status === end).length;
    const [credited, disputed, unmatchedCount] = [count('credited'), count('disputed'), count('unmatched')];
    const ghosts = new Set(work.ghosts);
    const ghostOrders = work.payments
      .filter((p) => ghosts.has(p.notice.playerId) && p.ends === 'unmatched')
      .map((p) => p.notice.orderId);
    const lostNothing =
      work.payments.length ===
        credited +
          disputed +
          work.payments.filter((p) => endOf(p)?.status === 'unmatched' && ghosts.has(p.notice.playerId)).length &&
      queued.length === 0 &&
      sameSet(unmatched, ghostOrders);
    // Overtook: answered unmatched on first delivery although its player was signing up around it.
    const overtook = work.payments.filter(
      (p) =>
        newcomers.has(p.notice.playerId) &&
        firstAnswers.get(p.notice.orderId)?.some((a) => a.body?.status === 'unmatched'),
    );
    const mustOvertake = work.payments.filter(
      (p) => newcomers.get(p.notice.playerId)?.signsUp === 'after' && p.ends === 'credited',
    );
    const lateReplies = [...replayAnswers.values()].filter(
      (a) => a.status === 200 && a.body.status !== 'queued' && a.body.duplicate !== true,
    );
    const disputedCodes = new Map<string, number>();
    for (const p of work.payments)
      if (endOf(p)?.status === 'disputed')
        disputedCodes.set(endOf(p).problem.code, (disputedCodes.get(endOf(p).problem.code) ?? 0) + 1);
    const offList = work.payments.filter(
      (p) => p.ends === 'credited' && (p.notice.amount !== p.listPrice || p.notice.currency.toUpperCase() !== 'USD'),
    ).length;

    const checks: Check[] = [
      {
        name: 'every webhook delivery answered 200, every delivery of an order with its one credit id',
        ok: badAnswers.length === 0 && disagreeing.length === 0,
        detail:
          badAnswers.length || disagreeing.length
            ? `${badAnswers.length} not 200 (${badAnswers
                .slice(0, 2)
                .map((a) => `${a.status} ${JSON.stringify(a.body)}`)
                .join('; ')}), ${disagreeing.length} orders with differing ids`
            : `${deliveries} deliveries of ${work.payments.length} orders`,
      },
      {
        name: 'each payment ends as the price sheet says (credited / disputed with its code / unmatched)',
        ok: wrongEnds.length === 0,
        detail: wrongEnds.length
          ? wrongEnds
              .slice(0, 3)
              .map(
                (p) =>
                  `${p.notice.orderId} (${p.kind}, ${p.notice.amount} ${p.notice.currency} for ${p.notice.sku}): ${endOf(p)?.status} ${endOf(p)?.problem?.code ?? ''}, expected ${p.ends} ${p.code ?? ''}`,
              )
              .join('; ')
          : `${work.payments.length} payments as expected`,
      },
      {
        name: 'payments that overtook their player credited once it existed',
        ok: mustOvertake.every((p) => overtook.includes(p)) && overtook.every((p) => endOf(p)?.status === 'credited'),
        detail: `${overtook.length} answered unmatched first (${mustOvertake.length} paid before signing up, ${overtook.length - mustOvertake.length} overtook a sign-up sent just before), all credited after ${passes} reconciliation passes`,
      },
      {
        name: 'no acknowledged payment lost (notices = credited + disputed + unmatched for players never created)',
        ok: lostNothing && settled,
        detail: `${work.payments.length} = ${credited} + ${disputed} + ${unmatchedCount}; ${queued.length} still queued; unmatched listed: ${unmatched.length} (${ghostOrders.length} for ids never created)${settled ? '' : '; reconciliation never settled'}`,
      },
      {
        name: 'late replays answered from the stored payment (duplicate once decided)',
        ok: lateReplies.length === 0,
        detail: lateReplies.length
          ? `${lateReplies.length} decided replays not marked duplicate`
          : `${replayAnswers.size} replays`,
      },
    ];
    const rows: [string, string][] = [
      [
        'payments (signed webhooks)',
        `${work.payments.length} paid notices in ${deliveries} deliveries (replays and bursts), ${seconds.toFixed(1)} s: ${credited} credited, ${disputed} disputed, ${unmatchedCount} unmatched (player never created)`,
      ],
      [
        '  credited although paid ≠ list price',
        `${offList} (coupons, taxes; USD, EUR, GBP, JPY); disputed: ${[...disputedCodes].map(([c, n]) => `${c} ${n}`).join(', ')}`,
      ],
      [
        "  overtook their player's creation",
        `${overtook.length} answered unmatched, then credited exactly once (${passes} reconciliation passes)`,
      ],
    ];
    const commandIds = [
      ...signUps,
      ...work.payments
        .filter((p) => p.ends === 'credited')
        .map(commandOf)
        .filter((id): id is string => id !== undefined),
    ];
    return {
      provider: work.provider,
      expected: work.payments,
      stonesBefore,
      players: work.newcomers.map((n) => n.playerId),
      commandIds,
      checks,
      rows,
    };
  } finally {
    await gateway.stop();
  }
}

async function inParallel<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

function shuffle<T>(xs: T[], rnd: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((x) => left.has(x));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
