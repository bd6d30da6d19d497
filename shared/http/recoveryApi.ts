import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseBody, parseQuery, parseWith, pathParameters } from './input.js';
import type { Caller } from './caller.js';
import { requirePermission } from './operatorRoles.js';
import type { CommandChannel } from './commandSubmission.js';
import { optionalIdempotencyKey, submitAndAnswer } from './playerApi.js';
import {
  diffQuery,
  historyQuery,
  noQuery,
  playerIdSchema,
  quarantineBody,
  repairBody,
  rollbackBody,
} from './schemas.js';
import { HttpError, json, notFound } from './errors.js';
import { History, HistoryGap } from '../engine/history.js';
import { RollbackRefused, previewRollback, rollbackCommandOf } from '../engine/rollbackPreview.js';
import { player } from '../domain/player/index.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/** An existing player's history, or 404. */
async function playerHistory(channel: CommandChannel, event: APIGatewayProxyEventV2) {
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  const history = new History(channel.store, player);
  const current = await history.currentVersion(playerId);
  if (current === 0) throw notFound('PLAYER_NOT_FOUND', `no player ${playerId}`);
  return { playerId, history, current };
}

const damaged = (error: HistoryGap) =>
  new HttpError(409, 'HISTORY_DAMAGED', `${error.message}; run the consistency check`);

/** A history read, with a missing event item answered as damage (the checker's business), not as a server error. */
async function intact<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof HistoryGap) throw damaged(error);
    throw error;
  }
}

const beyond = (version: number, current: number) =>
  new HttpError(422, 'VERSION_NOT_REACHED', `version ${version} is after the current version ${current}`);

/** GET /v1/admin/players/{playerId}/history?atVersion=N | ?atTime=ISO: the state at that version or time. */
export async function playerStateInHistory(
  channel: CommandChannel,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'players.read');
  const query = parseQuery(event, historyQuery);
  const { playerId, history, current } = await playerHistory(channel, event);
  const version = query.atVersion ?? (await history.versionAt(playerId, new Date(query.atTime!)));
  if (version > current) throw beyond(version, current);
  const past = await intact(history.atVersion(playerId, version, current));
  return json(200, { version: past.version, state: past.state, committedAt: past.committedAt ?? null });
}

/** GET /v1/admin/players/{playerId}/diff?from=N&to=M: every field that changed, before and after. */
export async function playerDiff(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'players.read');
  const { from, to } = parseQuery(event, diffQuery);
  const { playerId, history, current } = await playerHistory(channel, event);
  for (const v of [from, to]) if (v > current) throw beyond(v, current);
  const diff = await intact(history.diff(playerId, from, to));
  return json(200, { from, to, changes: diff.changes });
}

/**
 * POST /v1/admin/players/{playerId}/rollbacks: the impact analysis (`dryRun`), or the rollback sent as a command
 * through the player's queue group, conditioned on every version the analysis saw. Refused 409 when the undone
 * commands touched players it leaves alone, unless `includeRelated` or `acknowledgeImbalance`.
 */
export async function rollBackPlayer(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'players.rollback');
  parseQuery(event, noQuery);
  const body = parseBody(event, rollbackBody);
  const { playerId, history, current } = await playerHistory(channel, event);
  const toVersion = body.toVersion ?? (await history.versionAt(playerId, new Date(body.toTime!)));
  if (toVersion > current) throw beyond(toVersion, current);
  let preview: Awaited<ReturnType<typeof previewRollback>>;
  try {
    preview = await previewRollback(channel.store, player, playerId, toVersion, {
      includeRelated: body.includeRelated ?? false,
    });
  } catch (error) {
    if (error instanceof RollbackRefused) throw new HttpError(422, error.code, error.message);
    if (error instanceof HistoryGap) throw damaged(error);
    throw error;
  }
  if (body.dryRun) return json(200, preview);
  if (!preview.balanced && !body.acknowledgeImbalance)
    throw new HttpError(
      409,
      'ROLLBACK_BREAKS_TRADE',
      `undone commands also changed ${preview.untouched.map((u) => u.entityId).join(', ')}: send includeRelated or acknowledgeImbalance`,
    );
  const command = rollbackCommandOf(
    preview,
    { operator: operator.id, reason: body.reason, ticket: body.ticket },
    body.acknowledgeImbalance ? body.reason : undefined,
  );
  const key =
    optionalIdempotencyKey(event) ??
    `rollback:${body.ticket}:${preview.entity.toVersion}:${preview.entity.fromVersion}`.slice(0, 128);
  return submitAndAnswer(channel, event, operator, playerId, command, key);
}

/** POST /v1/admin/players/{playerId}/quarantine and …/release: audited commands through the player's queue group. */
export function isolation(kind: 'Quarantine' | 'Release') {
  return async (channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result => {
    const operator = requirePermission(caller, 'players.quarantine');
    parseQuery(event, noQuery);
    const body = parseBody(event, quarantineBody);
    const { playerId, current } = await playerHistory(channel, event);
    const key = optionalIdempotencyKey(event) ?? `${kind.toLowerCase()}:${body.ticket}:${current}`.slice(0, 128);
    return submitAndAnswer(
      channel,
      event,
      operator,
      playerId,
      { type: kind, operator: operator.id, reason: body.reason, ticket: body.ticket },
      key,
    );
  };
}

/**
 * POST /v1/admin/players/{playerId}/repairs: a checker's "needs an operator" finding acted on: a RepairState
 * command that sets the state to the fold of its events (a StateRepaired event with the deltas), refused if the
 * player moved past `expectedVersion` or already equals its fold.
 */
export async function repairPlayer(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'players.repair');
  parseQuery(event, noQuery);
  const body = parseBody(event, repairBody);
  const { playerId } = await playerHistory(channel, event);
  const key = optionalIdempotencyKey(event) ?? `repair:${body.ticket}:${body.expectedVersion}`.slice(0, 128);
  return submitAndAnswer(
    channel,
    event,
    operator,
    playerId,
    { type: 'RepairState', ...body, operator: operator.id },
    key,
  );
}
