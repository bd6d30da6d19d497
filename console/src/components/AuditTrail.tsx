import { type FormEvent, useState } from 'react';
import type { paths } from '../api/schema';
import { useOperator } from '../context';
import { formatTime, SelectField, Show, show, TextField, useLoad, Scroll } from './common';

type AuditQuery = NonNullable<paths['/v1/admin/audit']['get']['parameters']['query']>;
type AuditEntry = paths['/v1/admin/audit']['get']['responses'][200]['content']['application/json']['items'][number];
const SOURCES = ['client', 'service', 'payment', 'schedule', 'operator', 'system'] as const;

/** The reason and ticket an operator's command carried, from the first of its events that names them. */
function why(e: AuditEntry): { reason?: string; ticket?: string; operator?: string } {
  const event = e.events?.find((x) => typeof x.reason === 'string' || typeof x.ticket === 'string');
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  if (!event) return {};
  const found = { reason: text(event.reason), ticket: text(event.ticket), operator: text(event.operator) };
  return Object.fromEntries(Object.entries(found).filter(([, v]) => v !== undefined));
}

/**
 * The audit, newest first, a page at a time (cursor pagination), filtered by who did it, from which source, which
 * command, for which player, between when. With `playerId`, one player's trail.
 */
export function AuditTrail({
  playerId,
  title = 'Audit trail',
  refresh = 0,
}: {
  playerId?: string;
  title?: string;
  refresh?: number;
}) {
  const { api } = useOperator();
  const [filters, setFilters] = useState({ actor: '', source: '', type: '', playerId: '', from: '', to: '' });
  const [applied, setApplied] = useState<AuditQuery>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const query: AuditQuery = {
    ...applied,
    ...(playerId ? { playerId } : {}),
    ...(cursor ? { cursor } : {}),
    limit: '20',
  };
  const loaded = useLoad(() => api.GET('/v1/admin/audit', { params: { query } }), [JSON.stringify(query), refresh]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const text = (v: string) => v.trim() || undefined;
    const time = (v: string) => (v ? new Date(v).toISOString() : undefined);
    const q = {
      actor: text(filters.actor),
      source: (text(filters.source) as AuditQuery['source']) ?? undefined,
      type: text(filters.type),
      playerId: text(filters.playerId),
      from: time(filters.from),
      to: time(filters.to),
    };
    setApplied(Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as AuditQuery);
    setCursors([]);
  };
  const set = (k: keyof typeof filters) => (v: string) => setFilters((f) => ({ ...f, [k]: v }));
  const id = playerId ? 'player-audit-title' : 'audit-title';

  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <form aria-label="Filter the audit" onSubmit={apply} className="filters row">
        {playerId ? null : <TextField label="Actor" value={filters.actor} onChange={set('actor')} />}
        <SelectField
          label="Source kind"
          value={filters.source}
          onChange={set('source')}
          options={[{ value: '', label: 'Any' }, ...SOURCES]}
        />
        <TextField label="Command type" value={filters.type} onChange={set('type')} placeholder="AdjustBalance…" />
        {playerId ? null : <TextField label="Player" value={filters.playerId} onChange={set('playerId')} />}
        <TextField label="From" type="datetime-local" value={filters.from} onChange={set('from')} />
        <TextField label="To" type="datetime-local" value={filters.to} onChange={set('to')} />
        <div className="buttons">
          <button type="submit">Search the audit</button>
        </div>
      </form>
      <Show loaded={loaded} what="the audit">
        {(page) => (
          <>
            <Scroll label="Audit entries">
              <table>
                <caption>
                  {page.items.length === 0 ? 'No entries match.' : `${page.items.length} entries, newest first`}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Source</th>
                    <th scope="col">Command</th>
                    <th scope="col">Outcome</th>
                    {playerId ? null : <th scope="col">Player</th>}
                    <th scope="col">Version</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Ticket</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((e) => {
                    const w = why(e);
                    return (
                      <tr key={e.commandId}>
                        <td>{formatTime(e.decidedAt)}</td>
                        <td>{w.operator ?? e.source.actor}</td>
                        <td>{e.source.kind}</td>
                        <td>{e.commandType}</td>
                        <td>{e.code ? `${e.status} ${e.code}` : e.status}</td>
                        {playerId ? null : <td>{e.entityId}</td>}
                        <td>{show(e.version)}</td>
                        <td>{w.reason ?? '—'}</td>
                        <td>{w.ticket ?? '—'}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </Scroll>
            <div className="buttons">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Previous page
              </button>
              <button
                type="button"
                disabled={!page.cursor}
                onClick={() => page.cursor && setCursors((c) => [...c, page.cursor!])}
              >
                Next page
              </button>
              <button type="button" onClick={loaded.reload}>
                Refresh the audit
              </button>
            </div>
          </>
        )}
      </Show>
    </section>
  );
}
