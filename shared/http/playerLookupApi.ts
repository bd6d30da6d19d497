import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { banLasting, normalizePlayerName, player, type PlayerState } from '../domain/player/index.js';
import { STATE_SK, entityPk, type ClaimItem, type StateItem } from '../persistence/tableLayout.js';
import { playerViewOf } from '../readside/playerView.js';
import { parseQuery, parseWith, pathParameters } from './input.js';
import type { Caller } from './caller.js';
import { json, notFound } from './errors.js';
import { requirePermission } from './operatorRoles.js';
import type { CommandChannel } from './commandSubmission.js';
import { noQuery, playerIdSchema, playerLookupQuery } from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/**
 * GET /v1/admin/players?name=: the player holding a name, exact and case-insensitive. CreatePlayer claims every
 * name in its normalized form (`NAME#<normalized>`, forever), so the lookup is one read of that claim and one of
 * the state it names: no index, no scan. `items` is empty when nobody holds the name.
 */
export async function findPlayers(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'players.read');
  const { name } = parseQuery(event, playerLookupQuery);
  const claim = await channel.store.item<ClaimItem>({ pk: `NAME#${normalizePlayerName(name)}`, sk: 'NAME' });
  const item = claim && (await stateOf(channel, claim.entityId));
  if (!item) return json(200, { items: [] });
  const now = channel.now().toISOString();
  return json(200, {
    items: [
      {
        playerId: item.entityId,
        name: item.state.name,
        version: item.version,
        banned: banLasting(item.state.ban, now),
        quarantined: item.quarantine !== undefined,
      },
    ],
  });
}

/**
 * GET /v1/admin/players/{playerId}: the console's player page, read strongly consistently from the state item:
 * everything the player's own view shows, plus the version, the lasting ban and the quarantine (who, why, ticket).
 */
export async function getPlayerForOperators(
  channel: CommandChannel,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Result {
  requirePermission(caller, 'players.read');
  parseQuery(event, noQuery);
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  const item = await stateOf(channel, playerId);
  if (!item) throw notFound('PLAYER_NOT_FOUND', `no player ${playerId}`);
  const ban = item.state.ban;
  const lasting = banLasting(ban, channel.now().toISOString());
  return json(200, {
    ...playerViewOf(item),
    configVersion: item.state.configVersion,
    banned: lasting
      ? { since: ban.since, until: ban.until ?? null, reason: ban.reason, ticket: ban.ticket, by: ban.operator }
      : null,
    quarantined: item.quarantine
      ? {
          since: item.quarantine.since,
          reason: item.quarantine.reason,
          ticket: item.quarantine.ticket,
          by: item.quarantine.operator,
        }
      : null,
    lastCommandId: item.lastCommandId,
  });
}

async function stateOf(channel: CommandChannel, playerId: string): Promise<StateItem<PlayerState> | undefined> {
  const item = await channel.store.item<StateItem<PlayerState>>({
    pk: entityPk(player.keyPrefix, playerId),
    sk: STATE_SK,
  });
  return item && item.state.exists !== false ? item : undefined;
}
