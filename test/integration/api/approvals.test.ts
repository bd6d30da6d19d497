import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../../shared/clients.js';
import { signInOperators, type SignedInOperators } from '../../support/signedInOperators.js';
import { startApiHarness, type ApiHarness } from './harness.js';

/**
 * Two-person approval: an adjustment above the threshold is a stored request (202 pending-approval) that another
 * operator holding what it takes approves, then applied once with both identities in its event, or declines;
 * the requester never decides their own, a request is decided once even when approved at once by several, and a
 * pending request expires.
 */
let h: ApiHarness;
let ops: SignedInOperators;
let key = 0;

beforeAll(async () => {
  h = await startApiHarness({ config: { approvalThresholds: { gold: 500 }, supportAdjustmentLimit: 1000 } });
  ops = await signInOperators(h, {
    viewer: ['viewer'],
    support: ['support'],
    support2: ['support'],
    gm: ['gm'],
    gm2: ['gm'],
    ops: ['ops'],
  });
  const created = await h.call('POST', '/v1/players', {
    auth: h.service,
    body: { playerId: 'hero', name: 'Hero' },
    headers: { prefer: 'wait=10' },
  });
  expect(created.body.status).toBe('applied');
});
afterAll(async () => {
  await ops?.stop();
  await h?.stop();
});

const request = async (who: string, delta: number) => {
  const r = await ops.call(who, 'POST', '/v1/admin/players/hero/adjustments', {
    body: { currency: 'gold', delta, reason: 'incident 42', ticket: `AP-${++key}` },
  });
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ status: 'pending-approval', approvalId: expect.stringMatching(/^ap-/) });
  return r.body.approvalId as string;
};
const decide = (who: string, approvalId: string, what: 'approve' | 'decline', reason = 'checked the logs') =>
  ops.call(who, 'POST', `/v1/admin/approvals/${approvalId}/${what}`, {
    body: { reason },
    headers: { prefer: 'wait=10' },
  });
const gold = async () => (await h.call('GET', '/v1/players/hero', { auth: h.admin })).body.gold;
const adjustmentsOf = async (approvalId: string) => {
  await h.pipeline!.drained();
  const events = await h.call('GET', '/v1/players/hero/events?limit=500', { auth: h.admin });
  return events.body.items.flatMap((i: any) =>
    i.events.filter((e: any) => e.type === 'BalanceAdjusted' && e.approval?.approvalId === approvalId),
  );
};
async function expectRefused(r: Promise<{ status: number; body: any }>, status: number, code: string) {
  await h.pipeline!.drained();
  const before = await h.itemCount();
  const answer = await r;
  expect({ status: answer.status, code: answer.body.error?.code }).toEqual({ status, code });
  await h.pipeline!.drained();
  expect(await h.itemCount()).toBe(before);
}

describe('two-person approval of adjustments', () => {
  it('stores a request above the threshold, applies nothing, and shows who asked what, why and when', async () => {
    const before = await gold();
    const approvalId = await request('support', 800);
    await h.pipeline!.drained();
    expect(await gold()).toBe(before);
    const listed = await ops.call('viewer', 'GET', '/v1/admin/approvals?status=pending');
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((i: any) => i.approvalId === approvalId)).toMatchObject({
      status: 'pending',
      action: { kind: 'adjustment', playerId: 'hero', currency: 'gold', delta: 800 },
      permission: 'balances.adjust',
      requestedBy: 'support',
      reason: 'incident 42',
      ticket: `AP-${key}`,
      requestedAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    // Below the threshold an adjustment applies at once.
    const small = await ops.call('support', 'POST', '/v1/admin/players/hero/adjustments', {
      body: { currency: 'gold', delta: 500, reason: 'goodwill', ticket: `AP-${++key}` },
    });
    expect(small.body.status).toBe('queued');
  });

  it('refuses the requester and operators without the role, then applies once with both identities', async () => {
    const approvalId = await request('support', 700);
    await expectRefused(decide('support', approvalId, 'approve'), 403, 'SELF_APPROVAL');
    await expectRefused(decide('viewer', approvalId, 'approve'), 403, 'FORBIDDEN');
    await expectRefused(decide('ops', approvalId, 'approve'), 403, 'FORBIDDEN');
    await expectRefused(ops.call('service', 'POST', `/v1/admin/approvals/${approvalId}/approve`), 403, 'FORBIDDEN');
    const before = await gold();
    const approved = await decide('support2', approvalId, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      approval: { approvalId, status: 'approved', decidedBy: 'support2', decisionReason: 'checked the logs' },
      command: { status: 'applied' },
    });
    expect(await gold()).toBe(before + 700);
    expect(await adjustmentsOf(approvalId)).toEqual([
      {
        type: 'BalanceAdjusted',
        currency: 'gold',
        delta: 700,
        operator: 'support',
        reason: 'incident 42',
        ticket: `AP-${key}`,
        approval: { approvalId, requestedBy: 'support', approvedBy: 'support2' },
      },
    ]);
    await expectRefused(decide('gm', approvalId, 'approve'), 409, 'APPROVAL_NOT_PENDING');
  });

  it('applies exactly once when approved by several operators at once, or twice by the same one', async () => {
    const approvalId = await request('support', 600);
    const answers = await Promise.all(['support2', 'gm', 'gm2'].map((who) => decide(who, approvalId, 'approve')));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    expect(await adjustmentsOf(approvalId)).toHaveLength(1);

    const again = await request('support', 650);
    const twice = await Promise.all([decide('gm', again, 'approve'), decide('gm', again, 'approve')]);
    expect(twice.map((a) => a.status)).toEqual([200, 200]);
    expect(twice[0]!.body.command.commandId).toBe(twice[1]!.body.command.commandId);
    expect(await adjustmentsOf(again)).toHaveLength(1);
  });

  it("takes an approver within the action's limit: a gm's large adjustment needs another gm", async () => {
    const approvalId = await request('gm', 50_000);
    await expectRefused(decide('support2', approvalId, 'approve'), 403, 'OVER_ADJUSTMENT_LIMIT');
    await expectRefused(decide('gm', approvalId, 'approve'), 403, 'SELF_APPROVAL');
    expect((await decide('gm2', approvalId, 'approve')).body.command.status).toBe('applied');
    expect(await adjustmentsOf(approvalId)).toHaveLength(1);
  });

  it('declines with a reason: nothing applied, and no later approval', async () => {
    const approvalId = await request('support', 900);
    await expectRefused(
      ops.call('support2', 'POST', `/v1/admin/approvals/${approvalId}/decline`, { body: {} }),
      400,
      'INVALID_REQUEST',
    );
    const declined = await decide('support2', approvalId, 'decline', 'not what the ticket says');
    expect(declined.body).toMatchObject({
      status: 'declined',
      decidedBy: 'support2',
      decisionReason: 'not what the ticket says',
    });
    await expectRefused(decide('gm', approvalId, 'approve'), 409, 'APPROVAL_NOT_PENDING');
    expect(await adjustmentsOf(approvalId)).toEqual([]);
    const listed = await ops.call('viewer', 'GET', '/v1/admin/approvals?status=declined');
    expect(listed.body.items.map((i: any) => i.approvalId)).toContain(approvalId);
  });

  it('expires a pending request: it can no longer be approved and is listed as expired', async () => {
    const approvalId = await request('support', 950);
    // Time passes: the request's deadline is now behind it.
    await dynamoDbClient(h.config).send(
      new UpdateCommand({
        TableName: h.config.tableName,
        Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
      }),
    );
    await expectRefused(decide('gm', approvalId, 'approve'), 409, 'APPROVAL_EXPIRED');
    const pending = await ops.call('viewer', 'GET', '/v1/admin/approvals?status=pending');
    expect(pending.body.items.map((i: any) => i.approvalId)).not.toContain(approvalId);
    const expired = await ops.call('viewer', 'GET', '/v1/admin/approvals?status=expired');
    expect(expired.body.items.map((i: any) => i.approvalId)).toContain(approvalId);
    expect((await ops.call('viewer', 'GET', `/v1/admin/approvals/${approvalId}`)).body.status).toBe('expired');
    expect(await adjustmentsOf(approvalId)).toEqual([]);
  });
});
