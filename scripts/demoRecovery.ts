import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../local/stack.js';
import type { CommandPipeline } from '../local/commandPipeline.js';
import type { ProjectionPipeline } from '../local/projectionPipeline.js';
import type { Check } from '../local/playerAudit.js';
import { localHttpHandlers, startGateway } from '../local/gateway.js';
import { dynamoDbClient } from '../shared/clients.js';
import type { Config } from '../shared/config.js';
import { commandQueue } from '../shared/gamekeep.js';
import { canonicalJson, commandEnvelope } from '../shared/engine/envelope.js';
import { checkerDeps, runCheck } from '../shared/checker/index.js';

/** What the admin routes this phase calls answer, as far as it reads them (an error carries only `error`). */
interface Answer {
  readonly error?: { readonly code: string };
  readonly commandId?: string;
  readonly balanced?: boolean;
  readonly entity?: { readonly undone: readonly unknown[]; readonly deltas: Record<string, number> };
  readonly related?: readonly { readonly entityId: string; readonly undone: readonly unknown[] }[];
  readonly version?: number;
  readonly state?: unknown;
  readonly committedAt?: string;
  readonly changes?: readonly { readonly path: string; readonly before?: unknown; readonly after?: unknown }[];
}

/** Equal as data, whatever the order of their keys (DynamoDB does not keep it). */
const same = (x: unknown, y: unknown): boolean => canonicalJson(x) === canonicalJson(y);

export interface RecoveryPhase {
  readonly checks: Check[];
  readonly rows: [string, string][];
  /** Commands this phase sent, for the table audit. */
  readonly commandIds: string[];
}

/**
 * The end of the demo (issue 11): one player rolled back with its trade partner through the admin API (the impact
 * analysis first), its history read back, then a leaderboard entry corrupted behind the engine's back and the
 * checker left to find and repair it. Expected states are the state items read from the table before the trade,
 * never a fold of the code under test.
 */
export async function recoveryPhase(
  stack: LocalStack,
  pipeline: CommandPipeline,
  projection: ProjectionPipeline,
  [a, b]: readonly [string, string],
): Promise<RecoveryPhase> {
  const secret = () => randomBytes(24).toString('hex');
  const config: Config = { ...stack.config, jwtSecret: secret(), serviceToken: secret(), adminToken: secret() };
  const db = dynamoDbClient(config);
  const gateway = await startGateway({
    handlers: localHttpHandlers(config, { readSide: projection.readSide }),
    jwtSecret: config.jwtSecret!,
    serviceToken: config.serviceToken!,
    adminToken: config.adminToken!,
    port: 0,
  });
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Answer };
  };
  const stateOf = async (id: string) =>
    (
      await db.send(
        new GetCommand({ TableName: config.tableName, Key: { pk: `P#${id}`, sk: 'STATE' }, ConsistentRead: true }),
      )
    ).Item as { version: number; state: { gold: number } & Record<string, unknown> };
  const commandIds: string[] = [];
  try {
    const [beforeA, beforeB] = await Promise.all([stateOf(a), stateOf(b)]);
    const trade = commandEnvelope({
      entityType: 'player',
      entityId: a,
      command: {
        type: 'Trade',
        tradeId: 'demo-rollback-trade',
        counterpartyId: b,
        give: { gold: Math.min(50, beforeA.state.gold) || 1 },
        receive: { gold: Math.min(10, beforeB.state.gold) || 1 },
      },
      source: { kind: 'service', actor: 'market' },
      identity: ['service', 'market', a, 'demo-rollback-trade'],
      issuedAt: new Date(),
    });
    commandIds.push(trade.commandId);
    await commandQueue(config).send([trade]);
    await pipeline.drained();
    const [tradedA, tradedB] = await Promise.all([stateOf(a), stateOf(b)]);

    const preview = await admin('POST', `/v1/admin/players/${a}/rollbacks`, {
      toVersion: beforeA.version,
      reason: 'demo: a disputed trade',
      ticket: 'DEMO-1',
      includeRelated: true,
      dryRun: true,
    });
    const alone = await admin('POST', `/v1/admin/players/${a}/rollbacks`, {
      toVersion: beforeA.version,
      reason: 'demo: a disputed trade',
      ticket: 'DEMO-1',
    });
    const sent = await admin('POST', `/v1/admin/players/${a}/rollbacks`, {
      toVersion: beforeA.version,
      reason: 'demo: a disputed trade',
      ticket: 'DEMO-1',
      includeRelated: true,
    });
    if (sent.body.commandId) commandIds.push(sent.body.commandId);
    await pipeline.drained();
    await projection.poller.caughtUp();
    const [afterA, afterB] = await Promise.all([stateOf(a), stateOf(b)]);
    const history = await admin('GET', `/v1/admin/players/${a}/history?atVersion=${beforeA.version}`);
    const diff = await admin('GET', `/v1/admin/players/${a}/diff?from=${tradedA.version}&to=${afterA.version}`);

    // One corruption behind the engine's back: a wealth score changed in Redis.
    const redis = projection.readSide.redis;
    const honest = await redis.zscore('gk:lb:{wealth}', b);
    await redis.zadd('gk:lb:{wealth}', -987_654_321, b);
    const deps = checkerDeps(config, db, projection.readSide, { settleMs: 0 });
    const started = Date.now();
    const found = await runCheck(deps, { segments: 4 });
    const checkSeconds = (Date.now() - started) / 1000;
    const repaired = await runCheck(deps, { segments: 4, repair: true });
    const clean = await runCheck(deps, { segments: 4 });

    const checks: Check[] = [
      {
        name: 'the rollback preview names the trade partner and is balanced with it',
        ok:
          preview.status === 200 &&
          preview.body.balanced === true &&
          preview.body.related?.map((r) => r.entityId).join() === b,
        detail: `undoes ${preview.body.entity?.undone?.length} command(s) of ${a}, ${preview.body.related?.[0]?.undone?.length} of ${b}; deltas ${JSON.stringify(preview.body.entity?.deltas)}`,
      },
      {
        name: 'rolling back one side of a trade alone is refused',
        ok: alone.status === 409 && alone.body.error?.code === 'ROLLBACK_BREAKS_TRADE',
        detail: `${alone.status} ${alone.body.error?.code}`,
      },
      {
        name: 'both players are back at their states before the trade, at a new version each',
        ok:
          sent.status === 202 &&
          same(afterA.state, beforeA.state) &&
          same(afterB.state, beforeB.state) &&
          afterA.version === tradedA.version + 1 &&
          afterB.version === tradedB.version + 1,
        detail: `${a} v${tradedA.version} → v${afterA.version}, ${b} v${tradedB.version} → v${afterB.version}; gold ${tradedA.state.gold} → ${afterA.state.gold}`,
      },
      {
        name: 'history at the version before the trade equals the state the table held then',
        ok: history.status === 200 && same(history.body.state, beforeA.state),
        detail: `version ${history.body.version}, committed ${history.body.committedAt}; the rollback's diff: ${(diff.body.changes ?? []).map((c) => `${c.path} ${String(c.before)} → ${String(c.after)}`).join(', ')}`,
      },
      {
        name: 'the checker finds the one injected corruption, repairs it, and is clean after',
        ok:
          found.findings.length === 1 &&
          found.findings[0]?.entityId === b &&
          found.findings[0]?.kind === 'leaderboard' &&
          repaired.repairs.some((r) => r.result === 'repaired') &&
          clean.findings.length === 0 &&
          (await redis.zscore('gk:lb:{wealth}', b)) === honest,
        detail: `${found.entitiesChecked} players checked in ${checkSeconds.toFixed(1)} s; found: ${found.findings.map((f) => `[${f.class}] ${f.kind} ${f.entityId}`).join(', ') || 'nothing'}; after repair: ${clean.findings.length} findings`,
      },
    ];
    const rows: [string, string][] = [
      [
        'rollback (with its trade partner)',
        `${a} and ${b} rolled back past one trade; ${preview.body.entity?.undone?.length} + ${preview.body.related?.[0]?.undone?.length} commands undone`,
      ],
      [
        'consistency check',
        `${found.entitiesChecked} players, ${found.claimsChecked} claims and command records in ${checkSeconds.toFixed(1)} s (${Math.round(found.entitiesChecked / Math.max(checkSeconds, 0.001))} players/s)`,
      ],
    ];
    return { checks, rows, commandIds };
  } finally {
    await gateway.stop();
    db.destroy();
  }
}
