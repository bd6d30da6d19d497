import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { json } from './errors.js';
import { parseBody, parseJson, parseQuery, parseWith, pathParameters, preferredWaitMs, rawBody } from './input.js';
import { requireCaller, type Caller } from './caller.js';
import { outcomeBody, submitPlayerCommand, type CommandGateway } from './commands.js';
import { answer, optionalIdempotencyKey } from './playerApi.js';
import { adjustmentBody, noQuery, playerIdSchema, rewardRunBody, unmatchedQuery } from './schemas.js';
import { unmatchedPayments, type PaymentDesk } from '../payments/intake.js';
import type { RunResult } from '../rewards/dailyRewards.js';
import { playerCommandSchema } from '../domain/player/index.js';

type Result = Promise<APIGatewayProxyStructuredResultV2>;

/**
 * POST /v1/admin/players/{playerId}/adjustments: an AdjustBalance whose events name the operator, the reason and
 * the ticket. Its identity is the operator, the player and the Idempotency-Key (the ticket when absent), so a
 * retried request is one adjustment.
 */
export async function adjustBalance(gw: CommandGateway, event: APIGatewayProxyEventV2, caller: Caller): Result {
  const operator = requireCaller(caller, 'operator');
  const playerId = parseWith(playerIdSchema, pathParameters(event).playerId, 'path.playerId');
  parseQuery(event, noQuery);
  const body = parseBody(event, adjustmentBody);
  const key = optionalIdempotencyKey(event) ?? `ticket:${body.ticket}`;
  const command = parseWith(playerCommandSchema, { type: 'AdjustBalance', ...body, operator: operator.id }, 'body', 'INVALID_COMMAND');
  const { envelope, outcome } = await submitPlayerCommand(gw, operator, playerId, command, key, preferredWaitMs(event));
  return answer(event, outcomeBody(outcome), envelope.commandId, outcome.status);
}

/** GET /v1/admin/payments/unmatched: payments for players that do not exist, oldest key first, with a cursor. */
export async function listUnmatchedPayments(desk: Pick<PaymentDesk, 'db' | 'tableName'>, event: APIGatewayProxyEventV2, caller: Caller): Result {
  requireCaller(caller, 'operator');
  const { limit = 50, after } = parseQuery(event, unmatchedQuery);
  return json(200, await unmatchedPayments(desk, limit, after));
}

/** POST /v1/admin/rewards/runs: runs (or resumes) a day's reward run for as long as the request may last. */
export async function triggerRewardRun(run: (date: string) => Promise<RunResult>, event: APIGatewayProxyEventV2, caller: Caller, today: () => Date): Result {
  requireCaller(caller, 'operator');
  parseQuery(event, noQuery);
  const body = rawBody(event).length === 0 ? {} : parseWith(rewardRunBody, parseJson(rawBody(event)), 'body');
  const result = await run(body.date ?? today().toISOString().slice(0, 10));
  return json(result.status === 'done' ? 200 : 202, result);
}
