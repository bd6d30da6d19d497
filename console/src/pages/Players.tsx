import { type FormEvent, useState } from 'react';
import { type ApiFailure, failureOf } from '../api/client';
import type { paths } from '../api/schema';
import { AuditTrail } from '../components/AuditTrail';
import { formatTime, Show, TextField, useLoad } from '../components/common';
import { PlayerActions } from '../components/PlayerActions';
import { VersionHistory } from '../components/VersionHistory';
import { useOperator } from '../context';
import { hrefOf, navigate } from '../router';

export function PlayersPage({ playerId }: { playerId?: string }) {
  return (
    <>
      <h1>Players</h1>
      <PlayerSearch />
      {playerId ? <PlayerPage key={playerId} playerId={playerId} /> : null}
    </>
  );
}

/** Find a player by id (straight to the page) or by name (exact, case-insensitive). */
function PlayerSearch() {
  const { api } = useOperator();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [matches, setMatches] = useState<{ playerId: string; name: string }[]>();
  const [failure, setFailure] = useState<ApiFailure>();

  const byId = (e: FormEvent) => {
    e.preventDefault();
    if (id.trim()) navigate({ page: 'players', playerId: id.trim() });
  };
  const byName = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(undefined);
    setMatches(undefined);
    const answer = await api.GET('/v1/admin/players', { params: { query: { name: name.trim() } } });
    if (answer.data && answer.response.ok) setMatches(answer.data.items);
    else setFailure(failureOf(answer.error, answer.response));
  };

  return (
    <section aria-labelledby="find-title" className="search">
      <h2 id="find-title">Find a player</h2>
      <div className="row">
        <form aria-label="Find by id" onSubmit={byId}>
          <TextField label="Player id" value={id} onChange={setId} required />
          <button type="submit">Open player</button>
        </form>
        <form aria-label="Find by name" onSubmit={byName}>
          <TextField label="Player name" value={name} onChange={setName} required hint="Exact, any case" />
          <button type="submit">Find by name</button>
        </form>
      </div>
      {failure ? (
        <div role="alert" className="failure">
          <strong>Could not search by name: </strong>
          {failure.status} <code>{failure.code}</code> {failure.message}
        </div>
      ) : null}
      {matches ? (
        matches.length === 0 ? (
          <p role="status">No player is named {name}.</p>
        ) : (
          <ul aria-label="Players found">
            {matches.map((m) => (
              <li key={m.playerId}>
                <a href={hrefOf({ page: 'players', playerId: m.playerId })}>
                  {m.name} ({m.playerId})
                </a>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </section>
  );
}

type AdminPlayer = paths['/v1/admin/players/{playerId}']['get']['responses'][200]['content']['application/json'];

function PlayerPage({ playerId }: { playerId: string }) {
  const [refresh, setRefresh] = useState(0);
  const { api } = useOperator();
  const loaded = useLoad(
    () => api.GET('/v1/admin/players/{playerId}', { params: { path: { playerId } } }),
    [playerId, refresh],
  );
  const changed = () => setRefresh((n) => n + 1);
  return (
    <article aria-labelledby="player-title" className="player">
      <h2 id="player-title">Player {playerId}</h2>
      <Show loaded={loaded} what={`player ${playerId}`}>
        {(player) => (
          <>
            <PlayerSummary player={player} />
            <VersionHistory playerId={playerId} current={player.version} />
            <PlayerActions
              playerId={playerId}
              version={player.version}
              quarantined={player.quarantined !== null}
              banned={
                player.banned !== null &&
                (player.banned.until === null || player.banned.until > new Date().toISOString())
              }
              onChange={changed}
            />
            <AuditTrail playerId={playerId} refresh={refresh} />
          </>
        )}
      </Show>
    </article>
  );
}

const num = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-GB') : v == null ? '—' : String(v));

/** Nested counters as rows: `combat.wins` → 3. */
function flatten(value: unknown, prefix = ''): [string, unknown][] {
  if (value === null || typeof value !== 'object') return [[prefix, value]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

function PlayerSummary({ player: p }: { player: AdminPlayer }) {
  const inventory = Object.entries(p.inventory);
  const statistics = flatten(p.statistics);
  return (
    <>
      <section aria-labelledby="state-title">
        <h3 id="state-title">State</h3>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{p.name}</dd>
          <dt>Version</dt>
          <dd>{num(p.version)}</dd>
          <dt>Level</dt>
          <dd>{num(p.level)}</dd>
          <dt>Realm</dt>
          <dd>{p.realm}</dd>
          <dt>Experience</dt>
          <dd>{num(p.experience)}</dd>
          <dt>Energy</dt>
          <dd>
            {num(p.energy)} / {num(p.maxEnergy)}
          </dd>
          <dt>Gold</dt>
          <dd>{num(p.gold)}</dd>
          <dt>Spirit stones</dt>
          <dd>{num(p.spiritStones)}</dd>
          <dt>Ban</dt>
          <dd>
            {p.banned
              ? `Banned ${p.banned.until ? `until ${formatTime(p.banned.until)}` : 'until unbanned'} by ${p.banned.by}: ${p.banned.reason} (${p.banned.ticket})`
              : 'Not banned'}
          </dd>
          <dt>Quarantine</dt>
          <dd>
            {p.quarantined
              ? `Quarantined since ${formatTime(p.quarantined.since)} by ${p.quarantined.by}: ${p.quarantined.reason}`
              : 'Not quarantined'}
          </dd>
          <dt>Updated</dt>
          <dd>{formatTime(p.updatedAt)}</dd>
        </dl>
      </section>
      <div className="row">
        <section aria-labelledby="inventory-title">
          <h3 id="inventory-title">Inventory</h3>
          <table>
            <caption className="sr-only">Inventory</caption>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">Quantity</th>
              </tr>
            </thead>
            <tbody>
              {inventory.length === 0 ? (
                <tr>
                  <td colSpan={2}>No items</td>
                </tr>
              ) : (
                inventory.map(([item, n]) => (
                  <tr key={item}>
                    <th scope="row">{item}</th>
                    <td>{num(n)}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="statistics-title">
          <h3 id="statistics-title">Statistics</h3>
          <table>
            <caption className="sr-only">Statistics</caption>
            <thead>
              <tr>
                <th scope="col">Statistic</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {statistics.length === 0 ? (
                <tr>
                  <td colSpan={2}>None yet</td>
                </tr>
              ) : (
                statistics.map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{num(v)}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </section>
      </div>
    </>
  );
}
