import { createHash } from 'node:crypto';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Currency } from '../domain/player/index.js';
import type { Permission } from '../http/operatorRoles.js';

/**
 * Two-person approval requests. A request is the item `APPROVAL#<approvalId>` / `APPROVAL`: what was asked (an
 * adjustment, a bulk grant), who asked, why, under which ticket, when, until when it may be decided, and the
 * decision (who, when, why) once there is one. It is its own audit record: written once, then changed by one
 * conditional write only, from pending to approved, declined or expired. Listing by status reads a small index
 * item per request (`APPROVALS#<status>` / `<requestedAt>#<approvalId>`) moved in the same transaction.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'declined' | 'expired';
export const APPROVAL_STATUSES = ['pending', 'approved', 'declined', 'expired'] as const;

export type ApprovalAction =
  | { readonly kind: 'adjustment'; readonly playerId: string; readonly currency: Currency; readonly delta: number }
  | { readonly kind: 'bulk-grant'; readonly bulkGrantId: string };

export interface ApprovalRequest {
  readonly approvalId: string;
  readonly status: ApprovalStatus;
  readonly action: ApprovalAction;
  /** The permission the action takes: the approver must hold it too. */
  readonly permission: Permission;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly reason: string;
  readonly ticket: string;
  /** Hash of what was asked: a retried request with the same key is the same request, another payload a 409. */
  readonly payloadHash: string;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly decisionReason?: string;
  /** What the approval submitted: the command of an adjustment. */
  readonly commandId?: string;
}

export interface ApprovalTable {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
}

const SK = 'APPROVAL';
const approvalKey = (approvalId: string) => ({ pk: `APPROVAL#${approvalId}`, sk: SK });
const indexKey = (status: ApprovalStatus, requestedAt: string, approvalId: string) => ({
  pk: `APPROVALS#${status}`,
  sk: `${requestedAt}#${approvalId}`,
});

/** A request's id, from who asked and their idempotency key: the same request asked twice is one request. */
export function approvalIdOf(requestedBy: string, key: string): string {
  return `ap-${createHash('sha256')
    .update(JSON.stringify([requestedBy, key]))
    .digest('hex')
    .slice(0, 32)}`;
}

export function payloadHashOf(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}

/** Stores a new pending request; if one with its id exists already, returns that one instead. */
export async function openApproval(table: ApprovalTable, request: ApprovalRequest): Promise<ApprovalRequest> {
  try {
    await table.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: table.tableName,
              Item: { ...approvalKey(request.approvalId), ...request },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: table.tableName,
              Item: { ...indexKey('pending', request.requestedAt, request.approvalId), approvalId: request.approvalId },
            },
          },
        ],
      }),
    );
    return request;
  } catch (error) {
    if (!isCancelled(error)) throw error;
    const existing = await readApproval(table, request.approvalId);
    if (!existing) throw error;
    return existing;
  }
}

export async function readApproval(table: ApprovalTable, approvalId: string): Promise<ApprovalRequest | undefined> {
  const out = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: approvalKey(approvalId), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, ...request } = out.Item;
  return request as ApprovalRequest;
}

/**
 * Moves a pending request to `status` with its decision, if it is still pending and (to approve) not expired:
 * one conditional write, so of two operators approving at once exactly one succeeds. False when it was not pending.
 */
export async function decideApproval(
  table: ApprovalTable,
  request: ApprovalRequest,
  decision: { status: Exclude<ApprovalStatus, 'pending'>; by: string; at: Date; reason?: string; commandId?: string },
): Promise<boolean> {
  const at = decision.at.toISOString();
  const values: Record<string, unknown> = {
    ':pending': 'pending',
    ':status': decision.status,
    ':by': decision.by,
    ':at': at,
  };
  const set = ['#status = :status', 'decidedBy = :by', 'decidedAt = :at'];
  if (decision.reason !== undefined) {
    set.push('decisionReason = :reason');
    values[':reason'] = decision.reason;
  }
  if (decision.commandId !== undefined) {
    set.push('commandId = :commandId');
    values[':commandId'] = decision.commandId;
  }
  let condition = '#status = :pending';
  if (decision.status === 'approved') {
    condition += ' AND expiresAt > :at';
  }
  try {
    await table.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: table.tableName,
              Key: approvalKey(request.approvalId),
              UpdateExpression: `SET ${set.join(', ')}`,
              ConditionExpression: condition,
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: values,
            },
          },
          { Delete: { TableName: table.tableName, Key: indexKey('pending', request.requestedAt, request.approvalId) } },
          {
            Put: {
              TableName: table.tableName,
              Item: {
                ...indexKey(decision.status, request.requestedAt, request.approvalId),
                approvalId: request.approvalId,
              },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (isCancelled(error)) return false;
    throw error;
  }
}

/** A request as operators see it now: a pending one past its time is expired (and moved so, by the first reader). */
export async function currentApproval(
  table: ApprovalTable,
  request: ApprovalRequest,
  now: Date,
): Promise<ApprovalRequest> {
  if (request.status !== 'pending' || Date.parse(request.expiresAt) > now.getTime()) return request;
  await decideApproval(table, request, { status: 'expired', by: 'system', at: now });
  return (await readApproval(table, request.approvalId)) ?? request;
}

/** One page of the requests of a status, newest first, with a cursor. */
export async function listApprovals(
  table: ApprovalTable,
  status: ApprovalStatus,
  limit: number,
  cursor: string | undefined,
  now: Date,
): Promise<{ items: ApprovalRequest[]; next: string | null }> {
  // Expired requests are still in the pending index until someone reads them: move them first.
  if (status === 'pending' || status === 'expired') await expirePending(table, now);
  const out = await table.db.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `APPROVALS#${status}` },
      ScanIndexForward: false,
      Limit: limit,
      ConsistentRead: true,
      ...(cursor ? { ExclusiveStartKey: { pk: `APPROVALS#${status}`, sk: cursor } } : {}),
    }),
  );
  const items = await Promise.all((out.Items ?? []).map((i) => readApproval(table, String(i.approvalId))));
  return {
    items: items.filter((i): i is ApprovalRequest => i !== undefined),
    next: out.LastEvaluatedKey ? String(out.LastEvaluatedKey.sk) : null,
  };
}

async function expirePending(table: ApprovalTable, now: Date): Promise<void> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'APPROVALS#pending' },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) {
      const request = await readApproval(table, String(item.approvalId));
      if (request) await currentApproval(table, request, now);
    }
    start = out.LastEvaluatedKey;
  } while (start);
}

/** Stores the answer of an approved action (its command id) on the request, once. */
export async function recordApprovalOutcome(
  table: ApprovalTable,
  approvalId: string,
  commandId: string,
): Promise<void> {
  await table.db.send(
    new PutCommand({
      TableName: table.tableName,
      Item: { pk: `APPROVAL#${approvalId}`, sk: 'OUTCOME', commandId },
    }),
  );
}

function isCancelled(error: unknown): boolean {
  const name = (error as Error).name;
  return name === 'TransactionCanceledException' || name === 'ConditionalCheckFailedException';
}
