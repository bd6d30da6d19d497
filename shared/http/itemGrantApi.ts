import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { maxAmount, playerCommandSchema } from '../domain/player/index.js';
import { operatorReason, opaqueIdSchema } from '../domain/player/commandSchemas.js';
import type { Caller } from './caller.js';
import type { CommandChannel } from './commandSubmission.js';
import { parseBody, parseQuery, parseWith, pathParameters } from './input.js';
import { requirePermission } from './operatorRoles.js';
import { optionalIdempotencyKey, submitAndAnswer } from './playerApi.js';
import { noQuery, playerIdSchema } from './schemas.js';

/** An operator's grant or revocation of an item: which, how many, why and under which ticket. */
export const itemChangeBody = z.strictObject({
  change: z.enum(['grant', 'revoke']),
  item: opaqueIdSchema,
  quantity: z.int().positive().max(maxAmount.quantity),
  reason: operatorReason,
  ticket: opaqueIdSchema,
});

/**
 * POST /v1/admin/players/{playerId}/items: an AdjustInventory through the pipeline, its event naming the operator,
 * the reason and the ticket. A revocation of more than the player holds is a recorded rejection
 * (INSUFFICIENT_ITEMS), never a negative count; a grant of an unknown item or past the stack limit likewise.
 * Identity: the operator, the player and the Idempotency-Key (the ticket and the change when absent).
 */
export async function changeItems(
  channel: CommandChannel,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Promise<APIGatewayProxyStructuredResultV2> {
  const operator = requirePermission(caller, 'items.grant');
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  parseQuery(event, noQuery);
  const body = parseBody(event, itemChangeBody);
  const key = optionalIdempotencyKey(event) ?? `ticket:${body.ticket}:items`;
  const command = parseWith(
    playerCommandSchema,
    {
      type: 'AdjustInventory',
      itemId: body.item,
      delta: body.change === 'grant' ? body.quantity : -body.quantity,
      operator: operator.id,
      reason: body.reason,
      ticket: body.ticket,
    },
    'body',
    'INVALID_COMMAND',
  );
  return submitAndAnswer(channel, event, operator, playerId, command, key);
}
