import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { banLasting, player, playerCommandSchema, type Ban } from '../domain/player/index.js';
import { STATE_SK, entityPk } from '../persistence/tableLayout.js';
import { parseBody, parseQuery, parseWith, pathParameters } from './input.js';
import { callerOf, type Caller } from './caller.js';
import type { Config } from '../config.js';
import { HttpError, notFound } from './errors.js';
import { requirePermission } from './operatorRoles.js';
import type { CommandChannel } from './commandSubmission.js';
import { optionalIdempotencyKey, submitAndAnswer } from './playerApi.js';
import { banBody, noQuery, playerIdSchema, unbanBody } from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/**
 * POST /v1/admin/players/{playerId}/ban: a BanPlayer command through the player's queue group, its PlayerBanned
 * event naming the operator, reason, ticket and `until`. Its identity is the ticket and the player's version, so a
 * retried request is one ban (an Idempotency-Key overrides it).
 */
export async function banPlayer(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'players.ban');
  parseQuery(event, noQuery);
  const body = parseBody(event, banBody);
  const { playerId, version } = await existingPlayer(channel, event);
  const command = parseWith(
    playerCommandSchema,
    { type: 'BanPlayer', operator: operator.id, reason: body.reason, ticket: body.ticket, until: body.until },
    'body',
  );
  const key = optionalIdempotencyKey(event) ?? `ban:${body.ticket}:${version}`.slice(0, 128);
  return submitAndAnswer(channel, event, operator, playerId, command, key);
}

/** POST /v1/admin/players/{playerId}/unban: lifts the lasting ban (rejected NOT_BANNED when there is none). */
export async function unbanPlayer(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'players.ban');
  parseQuery(event, noQuery);
  const body = parseBody(event, unbanBody);
  const { playerId, version } = await existingPlayer(channel, event);
  const key = optionalIdempotencyKey(event) ?? `unban:${body.ticket}:${version}`.slice(0, 128);
  return submitAndAnswer(
    channel,
    event,
    operator,
    playerId,
    { type: 'UnbanPlayer', operator: operator.id, reason: body.reason, ticket: body.ticket },
    key,
  );
}

async function existingPlayer(channel: CommandChannel, event: APIGatewayProxyEventV2) {
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  const item = await channel.store.item<{ version: number; state: { exists?: boolean } }>({
    pk: entityPk(player.keyPrefix, playerId),
    sk: STATE_SK,
  });
  if (!item || item.state.exists === false) throw notFound('PLAYER_NOT_FOUND', `no player ${playerId}`);
  return { playerId, version: item.version };
}

/**
 * The ban check of every route a player's own token reaches (commands, reads of itself, leaderboards): the
 * player's state item is read, strongly consistently and only its `state.ban` attribute returned, so a ban
 * applies to the very next call, tokens issued before it included. One GetItem per player call: 1 read unit for
 * a state item up to 4 KB. Game services and operators are never checked: a ban stops the player, not support.
 */
export function refuseBannedPlayers(
  db: DynamoDBDocumentClient,
  config: Config,
  now: () => Date = () => new Date(),
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    before: async (request) => {
      let caller: Caller;
      try {
        caller = callerOf(request.event, config);
      } catch {
        return; // the route refuses the credentials itself
      }
      if (caller.kind !== 'player') return;
      const ban = await banOf(db, config.tableName, caller.id);
      if (banLasting(ban, now().toISOString()))
        throw new HttpError(
          403,
          'PLAYER_BANNED',
          `player ${caller.id} is banned ${ban.until ? `until ${ban.until}` : 'until further notice'}`,
        );
    },
  };
}

async function banOf(db: DynamoDBDocumentClient, tableName: string, playerId: string): Promise<Ban | undefined> {
  const out = await db.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: entityPk(player.keyPrefix, playerId), sk: STATE_SK },
      ProjectionExpression: '#state.#ban',
      ExpressionAttributeNames: { '#state': 'state', '#ban': 'ban' },
      ConsistentRead: true,
    }),
  );
  return (out.Item as { state?: { ban?: Ban } } | undefined)?.state?.ban;
}
