import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { CommandEnvelope } from '../engine/envelope.js';
import type { EntityRegistry } from '../engine/registry.js';
import { commandStatus, entityEvents, entityState } from '../engine/queries.js';
import type { CommandQueue } from '../messaging/commandQueue.js';
import type { DeadLetter, DeadLetters, HeldDeadLetter } from '../messaging/deadLetters.js';
import type { EventStore } from '../persistence/eventStore.js';
import type { Caller } from './caller.js';
import { requirePermission } from './operatorRoles.js';
import { HttpError, json, notFound } from './errors.js';
import { parseBody, parseJson, parseQuery, parseWith, pathParameters, rawBody } from './input.js';
import {
  type deadLetterAnswer,
  type deadLetterAuditAnswer,
  deadLetterDiscardBody,
  deadLetterIdSchema,
  deadLetterListQuery,
  deadLetterReplayBody,
  noQuery,
} from './schemas.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/** What the dead-letter routes work with: the DLQ, the command queue replays go to, and the table. */
export interface DeadLetterDesk {
  /** Absent when the function was deployed without GAMEKEEP_DLQ_URL: the routes then answer 503. */
  readonly deadLetters: DeadLetters | undefined;
  readonly queue: CommandQueue;
  readonly store: EventStore;
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly registry: EntityRegistry;
  readonly now: () => Date;
}

/**
 * Operators' records of what they did to a dead letter, one item per message and action, never expiring: a
 * discarded message keeps its body here, so nothing leaves the DLQ without a trace.
 */
export const DEAD_LETTER_AUDIT_PREFIX = 'DLQ#';
export const deadLetterAuditPk = (messageId: string): string => `${DEAD_LETTER_AUDIT_PREFIX}${messageId}`;
export type DeadLetterAction = 'DISCARDED' | 'REPLAYED';

/** Versions read per step when looking back for versions issued after a dead letter. */
const LOOK_BACK_PAGE = 100;
/** At most this many of the latest versions are read; beyond, the entity counts as moved on (replay must be forced). */
const LOOK_BACK_VERSIONS = 2000;
const PREVIEW_CHARS = 500;

type EntityProgress = { version: number; movedOn: boolean };
type DeadLetterView = z.infer<typeof deadLetterAnswer>;

/** GET /v1/admin/dead-letters?limit=N: what the DLQ holds (nothing is consumed), with each entity's progress since. */
export async function listDeadLetters(desk: DeadLetterDesk, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requirePermission(caller, 'deadLetters.read');
  const { limit = 20 } = parseQuery(event, deadLetterListQuery);
  const listing = await dlq(desk).list(limit);
  const items: DeadLetterView[] = [];
  // A few at a time: each reads the entity's state, its command record and perhaps some events.
  for (let i = 0; i < listing.letters.length; i += 4)
    items.push(...(await Promise.all(listing.letters.slice(i, i + 4).map((l) => viewOf(desk, l)))));
  return json(200, { items, complete: listing.complete, approximateCount: listing.approximateCount });
}

/**
 * POST /v1/admin/dead-letters/{messageId}/replay: sends the envelope back to the command queue under its own
 * command id, so the engine applies it at most once whatever happened before. Refused while an earlier dead letter
 * of its group waits, and (409 `<TYPE>_MOVED_ON`) when its entity committed a version issued after it, unless
 * forced with a reason and a ticket. The replay is recorded (`DLQ#<messageId>` / `REPLAYED`) before it is sent.
 */
export async function replayDeadLetter(desk: DeadLetterDesk, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'deadLetters.resolve');
  const messageId = deadLetterIdOf(event);
  parseQuery(event, noQuery);
  const body = rawBody(event).length === 0 ? {} : parseWith(deadLetterReplayBody, parseJson(rawBody(event)), 'body');
  const held = await take(desk, messageId);
  return holding(held, async () => {
    const envelope = envelopeOf(held);
    if (!envelope)
      throw new HttpError(
        422,
        'NOT_AN_ENVELOPE',
        `dead letter ${messageId} is not a command envelope${held.reason ? ` (${held.reason})` : ''}: it cannot be replayed; discard it`,
      );
    if (!desk.registry.get(envelope.entityType))
      throw new HttpError(
        422,
        'UNKNOWN_ENTITY_TYPE',
        `dead letter ${messageId} is for entity type ${envelope.entityType}, which this deployment does not serve`,
      );
    if (!held.firstInGroup)
      throw new HttpError(
        409,
        'NOT_FIRST_IN_GROUP',
        `an earlier dead letter of ${held.messageGroupId} waits: replay or discard it first (order per entity)`,
      );
    const entity = (await progressOf(desk, envelope))!;
    if (entity.movedOn && !body.force)
      throw new HttpError(
        409,
        `${envelope.entityType.toUpperCase().replace(/-/g, '_')}_MOVED_ON`,
        `${envelope.entityType} ${envelope.entityId} is at version ${entity.version} and committed commands issued after this one (${envelope.issuedAt}): replaying it now would apply it out of order; send {"force": true, "reason", "ticket"} to replay it anyway`,
      );
    await recordAction(desk, held, 'REPLAYED', {
      operator: operator.id,
      reason: body.reason ?? null,
      ticket: body.ticket ?? null,
      forced: body.force === true,
      commandId: envelope.commandId,
    });
    // A fresh deduplication id: SQS must not drop it as a re-send of the original (or of an earlier replay).
    await desk.queue.send([envelope], { replay: messageId });
    await held.delete();
    return json(202, {
      messageId,
      commandId: envelope.commandId,
      status: 'queued',
      forced: body.force === true,
      entity,
    });
  });
}

/** POST /v1/admin/dead-letters/{messageId}/discard {reason, ticket}: deletes it, after recording it with its body. */
export async function discardDeadLetter(desk: DeadLetterDesk, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requirePermission(caller, 'deadLetters.resolve');
  const messageId = deadLetterIdOf(event);
  parseQuery(event, noQuery);
  const body = parseBody(event, deadLetterDiscardBody);
  const held = await take(desk, messageId);
  return holding(held, async () => {
    const audit = await recordAction(desk, held, 'DISCARDED', {
      operator: operator.id,
      reason: body.reason,
      ticket: body.ticket,
    });
    await held.delete();
    return json(200, { messageId, discarded: true, audit });
  });
}

function dlq(desk: DeadLetterDesk): DeadLetters {
  if (!desk.deadLetters)
    throw new HttpError(503, 'DEAD_LETTERS_UNAVAILABLE', 'this deployment has no dead-letter queue configured');
  return desk.deadLetters;
}

function deadLetterIdOf(event: APIGatewayProxyEventV2): string {
  return parseWith(deadLetterIdSchema, pathParameters(event).messageId, 'path.messageId');
}

async function take(desk: DeadLetterDesk, messageId: string): Promise<HeldDeadLetter> {
  const held = await dlq(desk).take(messageId);
  if (!held)
    throw notFound(
      'DEAD_LETTER_NOT_FOUND',
      `no dead letter ${messageId} is visible: it is not in the DLQ, another request holds it, or it waits behind an earlier message of its group`,
    );
  return held;
}

/** Runs `work` on a held dead letter; unless it deleted the message, the message is visible again right after. */
async function holding(held: HeldDeadLetter, work: () => Result): Result {
  try {
    return await work();
  } catch (error) {
    await held.release().catch(() => undefined);
    throw error;
  }
}

function envelopeOf(letter: DeadLetter): CommandEnvelope | undefined {
  try {
    const parsed = CommandEnvelope.safeParse(JSON.parse(letter.body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function viewOf(desk: DeadLetterDesk, letter: DeadLetter): Promise<DeadLetterView> {
  const envelope = envelopeOf(letter);
  const [outcome, entity] = envelope
    ? await Promise.all([commandStatus(desk.store, envelope.commandId), progressOf(desk, envelope)])
    : [undefined, undefined];
  return {
    messageId: letter.messageId,
    messageGroupId: letter.messageGroupId ?? null,
    receiveCount: letter.receiveCount,
    sentAt: letter.sentAt ?? null,
    reason: letter.reason ?? null,
    sourceMessageId: letter.sourceMessageId ?? null,
    firstInGroup: letter.firstInGroup,
    bodyPreview: letter.body.slice(0, PREVIEW_CHARS),
    envelope: envelope
      ? {
          commandId: envelope.commandId,
          entityType: envelope.entityType,
          entityId: envelope.entityId,
          commandType: envelope.command.type,
          issuedAt: envelope.issuedAt,
        }
      : null,
    commandOutcome: outcome && outcome.status !== 'queued' ? outcome.status : null,
    entity: entity ?? null,
  };
}

/**
 * The entity's version now and whether it moved on since the dead letter was issued: whether it committed a
 * version (of another command) issued after it. Only the versions committed since it was issued are read, newest
 * first: a version committed before cannot have been issued after.
 */
async function progressOf(desk: DeadLetterDesk, envelope: CommandEnvelope): Promise<EntityProgress | undefined> {
  const type = desk.registry.get(envelope.entityType);
  if (!type?.idPattern.test(envelope.entityId)) return undefined;
  const current = await entityState(desk.store, type, envelope.entityId);
  if (!current) return { version: 0, movedOn: false };
  const issued = Date.parse(envelope.issuedAt);
  let top = current.version;
  while (top > 0) {
    if (current.version - top >= LOOK_BACK_VERSIONS) return { version: current.version, movedOn: true };
    const from = Math.max(0, top - LOOK_BACK_PAGE);
    const { items } = await entityEvents(desk.store, type, envelope.entityId, from, top - from);
    if (items.some((i) => i.commandId !== envelope.commandId && Date.parse(i.issuedAt) > issued))
      return { version: current.version, movedOn: true };
    const oldest = items[0];
    if (!oldest || Date.parse(oldest.committedAt) < issued) break;
    top = from;
  }
  return { version: current.version, movedOn: false };
}

/**
 * Writes the audit item of an action once (`attribute_not_exists`); when an earlier attempt wrote it and then
 * failed to delete the message, that first record stands and the action goes on.
 */
async function recordAction(
  desk: DeadLetterDesk,
  letter: DeadLetter,
  action: DeadLetterAction,
  note: { operator: string; reason: string | null; ticket: string | null } & Record<string, unknown>,
): Promise<z.infer<typeof deadLetterAuditAnswer>> {
  const item = {
    pk: deadLetterAuditPk(letter.messageId),
    sk: action,
    messageId: letter.messageId,
    ...note,
    at: desk.now().toISOString(),
    body: letter.body,
    messageGroupId: letter.messageGroupId ?? null,
    receiveCount: letter.receiveCount,
    sentAt: letter.sentAt ?? null,
    deadLetterReason: letter.reason ?? null,
    sourceMessageId: letter.sourceMessageId ?? null,
  };
  try {
    await desk.db.send(
      new PutCommand({ TableName: desk.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return auditView(item);
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    const first = await desk.store.item<typeof item>({ pk: item.pk, sk: item.sk });
    return auditView(first ?? item);
  }
}

function auditView(item: {
  pk: string;
  sk: DeadLetterAction;
  messageId: string;
  operator: string;
  reason: string | null;
  ticket: string | null;
  at: string;
}): z.infer<typeof deadLetterAuditAnswer> {
  const { pk, sk, messageId, operator, reason, ticket, at } = item;
  return { pk, sk, messageId, operator, reason, ticket, at };
}
