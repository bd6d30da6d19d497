import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorGateway, type OperatorGateway } from './operatorGateway.js';

/**
 * Bans (issue 13): a gm's BanPlayer through the normal pipeline, its event naming the operator, reason, ticket and
 * until; while it lasts every call the player's own token can make is refused 403 PLAYER_BANNED (a token issued
 * before the ban included) and writes nothing; game services and operators still act on the player.
 */
let g: OperatorGateway;
/** Minted before any ban: the check reads the server's state, not the token. */
let outlaw: string;
let bystander: string;
let commandId: string;

const wait = { prefer: 'wait=10' };

beforeAll(async () => {
  g = await startOperatorGateway();
  for (const [playerId, name] of [
    ['outlaw', 'Outlaw'],
    ['bystander', 'Bystander'],
  ] as const)
    expect(
      (await g.call('service', 'POST', '/v1/players', { body: { playerId, name }, headers: wait })).body.status,
    ).toBe('applied');
  outlaw = await g.h.player('outlaw');
  bystander = await g.h.player('bystander');
  const used = await g.call(outlaw, 'POST', '/v1/players/outlaw/commands', {
    body: { type: 'ConsumeEnergy', amount: 1, reason: 'duel' },
    headers: { 'idempotency-key': 'before-ban', ...wait },
  });
  expect(used.body.status).toBe('applied');
  commandId = used.body.commandId;
});
afterAll(async () => {
  await g?.stop();
});

let key = 0;
/** Every route a player's own token reaches, as that player. */
const playerCalls = (me: string) => {
  const headers = { 'idempotency-key': `player-${++key}` };
  return [
    ['POST', '/v1/players', { body: { name: `Again ${me}` }, headers }],
    ['POST', `/v1/players/${me}/commands`, { body: { type: 'ConsumeEnergy', amount: 1, reason: 'duel' }, headers }],
    ['GET', `/v1/commands/${commandId}`, {}],
    ['GET', `/v1/players/${me}`, {}],
    ['GET', `/v1/players/${me}/events`, {}],
    ['GET', `/v1/leaderboards/level?around=${me}`, {}],
  ] as const;
};

/** The player's calls reach their routes (whatever those answer: a leaderboard without Redis is 503). */
async function expectServed(token: string, me: string): Promise<void> {
  for (const [method, path, o] of playerCalls(me)) {
    const r = await g.call(token, method, path, o);
    expect({ path, code: r.body?.error?.code }).not.toEqual({ path, code: 'PLAYER_BANNED' });
    expect({ path, status: r.status }).not.toEqual({ path, status: 403 });
  }
}

async function ban(body: Record<string, unknown>, ticket: string) {
  const r = await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/outlaw/ban', {
    body: { reason: 'botting', ticket, ...body },
    headers: wait,
  });
  return r.body;
}

describe('banning a player', () => {
  it('is the gm’s: viewer, support, ops, services and players are refused 403 and nothing is written', async () => {
    for (const who of ['viewer', 'support', 'ops', 'service'] as const) {
      const r = await g.expectAnswer(who, 403, 'POST', '/v1/admin/players/outlaw/ban', {
        body: { reason: 'botting', ticket: 'T-0' },
      });
      expect(r.body.error.code).toBe('FORBIDDEN');
      await g.expectAnswer(who, 403, 'POST', '/v1/admin/players/outlaw/unban', {
        body: { reason: 'appeal', ticket: 'T-0' },
      });
    }
    await g.expectAnswer(bystander, 403, 'POST', '/v1/admin/players/outlaw/ban', {
      body: { reason: 'botting', ticket: 'T-0' },
    });
    // Nor may a service slip the command through the commands route.
    const slipped = await g.expectAnswer('service', 403, 'POST', '/v1/players/outlaw/commands', {
      body: { type: 'BanPlayer', operator: 'x', reason: 'r', ticket: 'T-0' },
    });
    expect(slipped.body.error.code).toBe('FORBIDDEN');
    // Refused before the body or the player is looked at: bad input after the role check is 400, an unknown player 404.
    await g.expectAnswer('gm', 400, 'POST', '/v1/admin/players/outlaw/ban', { body: { reason: 'r' } });
    await g.expectAnswer('gm', 404, 'POST', '/v1/admin/players/nobody/ban', { body: { reason: 'r', ticket: 'T-0' } });
  });

  it("refuses the player's own calls PLAYER_BANNED on every route, with a token issued before the ban, writing nothing", async () => {
    await expectServed(outlaw, 'outlaw');
    const banned = await ban({}, 'T-1');
    expect(banned).toMatchObject({ status: 'applied' });

    for (const [method, path, o] of playerCalls('outlaw')) {
      const r = await g.expectAnswer(outlaw, 403, method, path, o);
      expect({ path, error: r.body.error }).toEqual({
        path,
        error: { code: 'PLAYER_BANNED', message: 'player outlaw is banned until further notice' },
      });
    }
    // Another player is not touched by it.
    await expectServed(bystander, 'bystander');
  });

  it('leaves game services and operators able to act on and read the banned player', async () => {
    const granted = await g.expectAnswer('service', 200, 'POST', '/v1/players/outlaw/commands', {
      body: { type: 'AddExperience', amount: 5, source: 'quest' },
      headers: wait,
    });
    expect(granted.body.status).toBe('applied');
    await g.expectAnswer('service', 200, 'GET', '/v1/players/outlaw');
    await g.expectAnswer('support', 200, 'POST', '/v1/admin/players/outlaw/adjustments', {
      body: { currency: 'gold', delta: 10, reason: 'refund', ticket: 'T-2' },
      headers: wait,
    });
    const page = await g.expectAnswer('viewer', 200, 'GET', '/v1/admin/players/outlaw');
    expect(page.body.banned).toEqual({
      since: expect.any(String),
      until: null,
      reason: 'botting',
      ticket: 'T-1',
      by: 'gm',
    });
    // The event names the operator, reason and ticket, committed in the same version as the ban.
    const events = (await g.call('admin', 'GET', '/v1/players/outlaw/events')).body.items;
    const banVersion = events.find((i: any) => i.commandType === 'BanPlayer');
    expect(banVersion).toMatchObject({
      source: { kind: 'operator', actor: 'gm' },
      events: [{ type: 'PlayerBanned', operator: 'gm', reason: 'botting', ticket: 'T-1', since: expect.any(String) }],
    });
    expect(banVersion.events[0].until).toBeUndefined();
  });

  it('is lifted by an unban: the player’s calls work again, a second unban is rejected NOT_BANNED', async () => {
    const lifted = await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/outlaw/unban', {
      body: { reason: 'appeal granted', ticket: 'T-3' },
      headers: wait,
    });
    expect(lifted.body.status).toBe('applied');
    await expectServed(outlaw, 'outlaw');
    const again = await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/outlaw/unban', {
      body: { reason: 'appeal granted', ticket: 'T-4' },
      headers: wait,
    });
    expect(again.body).toMatchObject({ status: 'rejected', code: 'NOT_BANNED' });
    expect((await g.call('viewer', 'GET', '/v1/admin/players/outlaw')).body.banned).toBeNull();
    // The player reads their own history without the support team's notes.
    await g.h.pipeline!.drained();
    const own = (await g.call(outlaw, 'GET', '/v1/players/outlaw/events')).body.items;
    const bannedEvent = own.find((i: any) => i.commandType === 'BanPlayer').events[0];
    expect(bannedEvent).toEqual({ type: 'PlayerBanned', since: expect.any(String) });
  });

  it('ends by itself at until, with no command; an until already past is rejected BAN_ALREADY_OVER', async () => {
    const past = await ban({ until: new Date(Date.now() - 60_000).toISOString() }, 'T-5');
    expect(past).toMatchObject({ status: 'rejected', code: 'BAN_ALREADY_OVER' });

    const until = new Date(Date.now() + 2_500).toISOString();
    expect(await ban({ until }, 'T-6')).toMatchObject({ status: 'applied' });
    const refused = await g.expectAnswer(outlaw, 403, 'GET', '/v1/players/outlaw');
    expect(refused.body.error).toEqual({ code: 'PLAYER_BANNED', message: `player outlaw is banned until ${until}` });
    const version = (await g.call('viewer', 'GET', '/v1/admin/players/outlaw')).body.version;

    await new Promise((resolve) => setTimeout(resolve, Date.parse(until) - Date.now() + 200));
    const back = await g.expectAnswer(outlaw, 200, 'GET', '/v1/players/outlaw');
    expect(back.body.version).toBe(version);
    const page = (await g.call('viewer', 'GET', '/v1/admin/players/outlaw')).body;
    expect({ version: page.version, banned: page.banned }).toEqual({ version, banned: null });
    // Over means over: there is nothing to unban.
    const unban = await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/outlaw/unban', {
      body: { reason: 'r', ticket: 'T-7' },
      headers: wait,
    });
    expect(unban.body).toMatchObject({ status: 'rejected', code: 'NOT_BANNED' });
  });
});
