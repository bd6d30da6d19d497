import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorGateway, type OperatorGateway } from './operatorGateway.js';

/** The console's player lookup (issue 13): by name through the name claims, by id with the whole state. */
let g: OperatorGateway;
const wait = { prefer: 'wait=10' };

beforeAll(async () => {
  g = await startOperatorGateway();
  for (const [playerId, name] of [
    ['lin', 'Lin Feng'],
    ['mei', 'Mei'],
  ] as const)
    expect(
      (await g.call('service', 'POST', '/v1/players', { body: { playerId, name }, headers: wait })).body.status,
    ).toBe('applied');
  expect(
    (
      await g.call('service', 'POST', '/v1/players/lin/commands', {
        body: { type: 'GrantItem', itemId: 'spirit-herb', quantity: 3, source: 'quest' },
        headers: { 'idempotency-key': 'grant-1', ...wait },
      })
    ).body.status,
  ).toBe('applied');
});
afterAll(async () => {
  await g?.stop();
});

describe('GET /v1/admin/players?name=', () => {
  it('finds a player by name, exact and case-insensitive, for every role', async () => {
    for (const who of ['viewer', 'support', 'gm', 'ops', 'admin'] as const)
      for (const name of ['Lin Feng', 'lin feng', ' LIN FENG ', 'ｌｉｎ ｆｅｎｇ']) {
        const r = await g.expectAnswer(who, 200, 'GET', `/v1/admin/players?name=${encodeURIComponent(name)}`);
        expect(r.body).toEqual({
          items: [{ playerId: 'lin', name: 'Lin Feng', version: 2, banned: false, quarantined: false }],
        });
      }
  });

  it('finds nobody for a prefix or an unknown name, and refuses bad input and non-operators', async () => {
    for (const name of ['Lin', 'Lin Fen', 'nobody'])
      expect((await g.expectAnswer('viewer', 200, 'GET', `/v1/admin/players?name=${name}`)).body).toEqual({
        items: [],
      });
    await g.expectAnswer('viewer', 400, 'GET', '/v1/admin/players');
    await g.expectAnswer('viewer', 400, 'GET', '/v1/admin/players?name=Mei&prefix=M');
    await g.expectAnswer('service', 403, 'GET', '/v1/admin/players?name=Mei');
    await g.expectAnswer(await g.h.player('mei'), 403, 'GET', '/v1/admin/players?name=Mei');
  });
});

describe('GET /v1/admin/players/{playerId}', () => {
  it('answers the whole state with its version, and no ban or quarantine', async () => {
    const r = await g.expectAnswer('viewer', 200, 'GET', '/v1/admin/players/lin');
    expect(r.body).toMatchObject({
      playerId: 'lin',
      name: 'Lin Feng',
      version: 2,
      level: expect.any(Number),
      realm: expect.any(String),
      energy: expect.any(Number),
      gold: expect.any(Number),
      spiritStones: expect.any(Number),
      inventory: { 'spirit-herb': 3 },
      statistics: expect.any(Object),
      configVersion: expect.any(Number),
      banned: null,
      quarantined: null,
    });
    await g.expectAnswer('viewer', 404, 'GET', '/v1/admin/players/nobody');
    await g.expectAnswer('viewer', 400, 'GET', '/v1/admin/players/no%23such');
    await g.expectAnswer('service', 403, 'GET', '/v1/admin/players/lin');
    await g.expectAnswer(await g.h.player('lin'), 403, 'GET', '/v1/admin/players/lin');
  });

  it('shows a quarantine and a ban with who, why and the ticket, as the lookup by name does', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/mei/ban', {
      body: { reason: 'botting', ticket: 'B-1', until },
      headers: wait,
    });
    await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/mei/quarantine', {
      body: { reason: 'duped items', ticket: 'Q-1' },
      headers: wait,
    });
    // A quarantine holds every command but recovery's, a ban too: it waits for the release.
    const held = await g.expectAnswer('gm', 200, 'POST', '/v1/admin/players/mei/unban', {
      body: { reason: 'appeal', ticket: 'B-2' },
      headers: wait,
    });
    expect(held.body).toMatchObject({ status: 'rejected', code: 'ENTITY_QUARANTINED' });
    const page = (await g.expectAnswer('ops', 200, 'GET', '/v1/admin/players/mei')).body;
    expect({ version: page.version, banned: page.banned, quarantined: page.quarantined }).toEqual({
      version: 3,
      banned: { since: expect.any(String), until, reason: 'botting', ticket: 'B-1', by: 'gm' },
      quarantined: { since: expect.any(String), reason: 'duped items', ticket: 'Q-1', by: 'gm' },
    });
    const found = (await g.expectAnswer('support', 200, 'GET', '/v1/admin/players?name=MEI')).body;
    expect(found.items).toEqual([{ playerId: 'mei', name: 'Mei', version: 3, banned: true, quarantined: true }]);
  });
});
