import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EventStore } from '../persistence/eventStore.js';
import { commandStatus, entityEvents } from '../engine/queries.js';
import {
  ownerViewOfEvent,
  ownerViewOfSource,
  player,
  playerCommandSchema,
  type PlayerEvent,
} from '../domain/player/index.js';
import { badRequest, forbidden, json, notFound } from './errors.js';
import { parseBody, parseQuery, parseWith, pathParameters, preferredWaitMs, parseJson, rawBody } from './input.js';
import { requireAccessTo, requireCaller, type Caller } from './caller.js';
import { outcomeBody, submitPlayerCommand, type CommandChannel } from './commandSubmission.js';
import {
  ALL_COMMAND_TYPES,
  PLAYER_SAFE_COMMANDS,
  SERVICE_COMMANDS,
  commandIdSchema,
  createPlayerBody,
  eventsQuery,
  idempotencyKeySchema,
  playerIdSchema,
  noQuery,
} from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/** POST /v1/players: a player creates themself (playerId = their sub); a game service creates any player. */
export async function createPlayer(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const who = requireCaller(caller, 'player', 'service');
  parseQuery(event, noQuery);
  const body = parseBody(event, createPlayerBody);
  const playerId = body.playerId ?? (who.kind === 'player' ? who.id : undefined);
  if (!playerId) throw badRequest('INVALID_REQUEST', 'body.playerId: required for game services');
  requireAccessTo(who, playerId);
  const command = parseWith(playerCommandSchema, { type: 'CreatePlayer', name: body.name }, 'body', 'INVALID_COMMAND');
  // Creating is naturally idempotent per player; an explicit key lets a caller retry with another name.
  const key = optionalIdempotencyKey(event) ?? 'create';
  const { envelope, outcome } = await submitPlayerCommand(channel, who, playerId, command, key, preferredWaitMs(event));
  return answer(event, { ...outcomeBody(outcome), playerId }, envelope.commandId, outcome.status);
}

/** POST /v1/players/{playerId}/commands: players send player-safe commands for themselves, services the rest. */
export async function submitCommand(channel: CommandChannel, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const who = requireCaller(caller, 'player', 'service');
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  requireAccessTo(who, playerId);
  parseQuery(event, noQuery);
  const key = optionalIdempotencyKey(event);
  if (key === undefined) throw badRequest('IDEMPOTENCY_KEY_REQUIRED', 'the Idempotency-Key header is required');
  const raw = parseJson(rawBody(event));
  // Authority before detail: a command this caller may never send is refused whatever its fields say.
  const type = typeof raw === 'object' && raw !== null && 'type' in raw ? (raw as { type: unknown }).type : undefined;
  if (typeof type !== 'string' || !ALL_COMMAND_TYPES.includes(type))
    throw badRequest('INVALID_COMMAND', `body.type: must be one of ${SERVICE_COMMANDS.join(', ')}`);
  const allowed = who.kind === 'player' ? PLAYER_SAFE_COMMANDS : SERVICE_COMMANDS;
  if (!(allowed as readonly string[]).includes(type)) throw forbidden(`${who.kind} callers may not send ${type}`);
  const command = parseWith(playerCommandSchema, raw, 'body', 'INVALID_COMMAND');
  // An operator's resolution of a payment names the operator: only the operators' payment routes may write one.
  if (command.type === 'CreditPurchase' && command.resolution !== undefined)
    throw forbidden('only operators resolve payments (POST /v1/admin/payments/…/credit)');
  return submitAndAnswer(channel, event, who, playerId, command, key);
}

/**
 * Sends a command for a player and answers as every command route does: 202 with its id, or its outcome when
 * `Prefer: wait` saw it decided.
 */
export async function submitAndAnswer(
  channel: CommandChannel,
  event: APIGatewayProxyEventV2,
  caller: Parameters<typeof submitPlayerCommand>[1],
  playerId: string,
  command: Parameters<typeof submitPlayerCommand>[3],
  key: string,
): Result {
  const { envelope, outcome } = await submitPlayerCommand(
    channel,
    caller,
    playerId,
    command,
    key,
    preferredWaitMs(event),
  );
  return answer(event, outcomeBody(outcome), envelope.commandId, outcome.status);
}

/** GET /v1/commands/{commandId}: a player sees only outcomes on their own player. */
export async function getCommand(store: EventStore, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const who = requireCaller(caller, 'player', 'service', 'operator');
  const commandId = parseWith(commandIdSchema, pathParameters(event).commandId, 'path.commandId');
  parseQuery(event, noQuery);
  const view = await commandStatus(store, commandId);
  if (who.kind === 'player' && view.status !== 'queued' && view.entityId !== who.id)
    throw notFound('COMMAND_NOT_FOUND', `no command ${commandId}`);
  return json(200, outcomeBody(view));
}

/** GET /v1/players/{playerId}/events: one page of the audit trail; `nextAfterVersion` is the cursor (null at the end). */
export async function getPlayerEvents(store: EventStore, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const who = requireCaller(caller, 'player', 'service', 'operator');
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  requireAccessTo(who, playerId);
  const { afterVersion = 0, limit = 100 } = parseQuery(event, eventsQuery);
  const page = await entityEvents<PlayerEvent>(store, player, playerId, afterVersion, limit);
  // A player reads their own history, not the support team's notes on it; services and operators see everything.
  const asOwner = who.kind === 'player';
  return json(200, {
    playerId,
    items: page.items.map((i) => ({
      version: i.version,
      commandId: i.commandId,
      commandType: i.commandType,
      events: asOwner ? i.events.map(ownerViewOfEvent) : i.events,
      source: asOwner ? ownerViewOfSource(i.source) : i.source,
      issuedAt: i.issuedAt,
      committedAt: i.committedAt,
      correlationId: i.correlationId,
    })),
    nextAfterVersion: page.nextAfterVersion ?? null,
  });
}

export function optionalIdempotencyKey(event: APIGatewayProxyEventV2): string | undefined {
  const key = event.headers?.['idempotency-key'];
  return key === undefined ? undefined : parseWith(idempotencyKeySchema, key, 'header.Idempotency-Key');
}

/**
 * 202 Accepted (with where to poll) unless the caller asked to wait (`Prefer: wait=N`) and the outcome is known,
 * then 200 with it. A retry of a decided command without Prefer still says 202, with the status it reached.
 * An honoured wait is echoed in `Preference-Applied` (RFC 7240), also when it ran out (202).
 */
export function answer(
  event: APIGatewayProxyEventV2,
  body: Record<string, unknown>,
  commandId: string,
  status: string,
): APIGatewayProxyStructuredResultV2 {
  const waitMs = preferredWaitMs(event);
  const headers: Record<string, string> = { location: `/v1/commands/${commandId}` };
  if (waitMs > 0) headers['preference-applied'] = `wait=${waitMs / 1000}`;
  return json(status !== 'queued' && waitMs > 0 ? 200 : 202, body, headers);
}
