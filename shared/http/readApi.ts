import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EventStore } from '../persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../persistence/tableLayout.js';
import { player, type PlayerState } from '../domain/player/index.js';
import {
  cacheTotals,
  isBoardName,
  isPeriodFor,
  isPeriodic,
  pipelineFigures,
  playerViewOf,
  redisReady,
  type CacheLog,
  type PlayerViewRead,
  type ReadSide,
} from '../readside/index.js';
import type { CommandQueue } from '../messaging/commandQueue.js';
import { badRequest, json, notFound } from './errors.js';
import { parseQuery, parseWith, pathParameters } from './input.js';
import { requireAccessTo, requireCaller, type Caller } from './caller.js';
import { leaderboardQuery, noQuery, playerIdSchema, playerViewQuery } from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/** Where player views come from: the read side (Redis in front of DynamoDB), or DynamoDB alone when no Redis is configured. */
export type PlayerViews = Pick<ReadSide, 'readPlayerView'>;

/** Player views read strongly consistently from the table, with the read side's answers: the API without Redis. */
export function tablePlayerViews(store: EventStore): PlayerViews {
  return {
    async readPlayerView(playerId, { minVersion = 0 } = {}): Promise<PlayerViewRead> {
      const item = await store.item<StateItem<PlayerState>>({ pk: entityPk(player.keyPrefix, playerId), sk: STATE_SK });
      const version = item && item.state.exists !== false ? item.version : 0;
      if (version < minVersion) return { status: 'version-not-reached', version };
      if (!item || version === 0) return { status: 'not-found' };
      return { status: 'found', view: playerViewOf(item), source: 'table' };
    },
  };
}

/**
 * GET /v1/players/{playerId}?minVersion=N: never a version below N (409 with the version the table has, also in
 * `X-Player-Version`); `X-Cache` says whether Redis (`cache`) or DynamoDB (`table`) answered.
 */
export async function getPlayer(views: PlayerViews, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const who = requireCaller(caller, 'player', 'service', 'operator');
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  requireAccessTo(who, playerId);
  const { minVersion } = parseQuery(event, playerViewQuery);
  const read = await views.readPlayerView(playerId, minVersion !== undefined ? { minVersion } : {});
  switch (read.status) {
    case 'found':
      return json(200, read.view, { 'x-cache': read.source });
    case 'not-found':
      throw notFound('PLAYER_NOT_FOUND', `player ${playerId} does not exist`);
    case 'version-not-reached':
      return json(
        409,
        {
          error: {
            code: 'VERSION_NOT_REACHED',
            message: `player ${playerId} is at version ${read.version}, below ${minVersion}`,
          },
        },
        { 'x-player-version': String(read.version) },
      );
  }
}

/**
 * GET /v1/leaderboards/{board}?period=&limit=&around=: the top `limit` (10, at most 100) or the page around a
 * player, with `rebuilding` (and `X-Leaderboard-Status: rebuilding`) while the boards heal after a cache loss. Leaderboards live only in Redis, so this is the one route that answers 503 (LEADERBOARDS_UNAVAILABLE)
 * when Redis is unreachable or not configured; every input is checked first, so bad input is still a 4xx.
 */
export async function getLeaderboard(
  side: ReadSide | undefined,
  event: APIGatewayProxyEventV2,
  caller: Caller,
  log: CacheLog,
): Result {
  requireCaller(caller, 'player', 'service', 'operator');
  const board = pathParameters(event).board ?? '';
  if (!isBoardName(board)) throw notFound('UNKNOWN_BOARD', `no leaderboard ${board.slice(0, 64)}`);
  const { period, limit, around } = parseQuery(event, leaderboardQuery);
  if (period !== undefined && !isPeriodic(board))
    throw badRequest('INVALID_REQUEST', `query.period: the ${board} board has no periods`);
  if (period !== undefined && isPeriodic(board) && !isPeriodFor(board, period))
    throw badRequest(
      'INVALID_REQUEST',
      `query.period: ${board} periods are ${board === 'experience-daily' ? 'UTC days (YYYY-MM-DD)' : 'ISO weeks (YYYY-Www)'}`,
    );
  if (!side) return unavailable('leaderboards are not configured here (no REDIS_URL)');
  try {
    // A connection still being established (a cold start) is worth a short wait; a lost one is not.
    if (['wait', 'connecting', 'connect'].includes(side.redis.status)) await redisReady(side.redis, 1000);
    const page = await side.leaderboardPage(board, {
      ...(period !== undefined ? { period } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(around !== undefined ? { around } : {}),
    });
    // While the boards are rebuilt after Redis lost its data, a page may be partial: the answer says so.
    return json(200, page, { 'x-leaderboard-status': page.rebuilding ? 'rebuilding' : 'complete' });
  } catch (error) {
    log.warn('leaderboard read failed', { board, redis: side.redis.status, error: String(error) });
    return unavailable('leaderboards are unavailable right now; retry later');
  }
}

/**
 * GET /v1/admin/stats: the player cache's counters for the whole system (`scope: system`, summed in Redis by every
 * API instance, at most a second late per instance), or this instance's alone when Redis cannot be read
 * (`scope: instance`); `instance` is always this instance's. `cache` is null without a read side.
 */
export async function getStats(
  side: ReadSide | undefined,
  event: APIGatewayProxyEventV2,
  caller: Caller,
  queue?: Pick<CommandQueue, 'depth'>,
): Result {
  requireCaller(caller, 'operator');
  parseQuery(event, noQuery);
  // The pipeline's figures for the console's live charts: the queue from SQS, the rest from what the projector keeps.
  const depth = queue ? await queue.depth().catch(() => null) : null;
  if (!side)
    return json(200, { cache: null, scope: 'system', instance: null, queue: depth, commands: null, projection: null });
  // The system's figures are what every API instance flushed to Redis; without Redis, only this instance's are known.
  const [totals, figures] = await Promise.all([cacheTotals(side.redis), pipelineFigures(side.redis)]);
  return json(200, {
    cache: totals ?? side.cacheStats(),
    scope: totals ? 'system' : 'instance',
    instance: side.cacheStats(),
    queue: depth,
    commands: figures?.commands ?? null,
    projection: figures?.projection ?? null,
  });
}

function unavailable(message: string): APIGatewayProxyStructuredResultV2 {
  return json(503, { error: { code: 'LEADERBOARDS_UNAVAILABLE', message } }, { 'retry-after': '5' });
}
