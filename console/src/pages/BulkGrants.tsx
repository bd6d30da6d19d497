import { useEffect, useState } from 'react';
import { idempotencyKey } from '../api/client';
import type { paths } from '../api/schema';
import {
  ActionForm,
  describeWrite,
  Failure,
  Field,
  type Outcome,
  ReasonAndTicket,
  SelectField,
  Show,
  TextField,
  useLoad,
  Scroll,
} from '../components/common';
import { useCan, useOperator } from '../context';

type BulkGrant = paths['/v1/admin/bulk-grants/{bulkGrantId}']['get']['responses'][200]['content']['application/json'];
type Grant = paths['/v1/admin/bulk-grants']['post']['requestBody']['content']['application/json']['grant'];

/** Player ids from pasted text or a CSV: the first column of each line, a header line `playerId` skipped. */
export function playerIdsOf(text: string): string[] {
  const ids = text
    .split(/\r?\n/)
    .flatMap((line) => line.split(/[,;\t]/).slice(0, 1))
    .map((id) => id.trim().replace(/^"|"$/g, ''))
    .filter((id) => id && !/^player_?id$/i.test(id));
  return [...new Set(ids)];
}

export function BulkGrantsPage() {
  const items = useCan('items.grant');
  const balances = useCan('balances.adjust');
  const allowed = items || balances;
  const [running, setRunning] = useState<string>();
  return (
    <>
      <h1>Bulk grants</h1>
      {allowed ? <BulkGrantForm onStarted={setRunning} /> : <p>Your roles do not allow bulk grants.</p>}
      {running ? <BulkGrantProgress key={running} bulkGrantId={running} /> : null}
      <BulkGrantList onOpen={setRunning} />
    </>
  );
}

function BulkGrantForm({ onStarted }: { onStarted: (id: string) => void }) {
  const { api } = useOperator();
  const [who, setWho] = useState<'list' | 'active'>('list');
  const [ids, setIds] = useState('');
  const [activeOn, setActiveOn] = useState('');
  const [kind, setKind] = useState<'currency' | 'item'>('currency');
  const [currency, setCurrency] = useState<'gold' | 'spiritStones'>('gold');
  const [item, setItem] = useState('');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const players = playerIdsOf(ids);

  const submit = async (): Promise<Outcome> => {
    const grant: Grant =
      kind === 'currency' ? { currency, amount: Number(amount) } : { item, quantity: Number(amount) };
    const answer = await api.POST('/v1/admin/bulk-grants', {
      params: { header: { 'Idempotency-Key': idempotencyKey() } },
      body: { ...(who === 'list' ? { players } : { activeOn }), grant, reason, ticket },
    });
    if (answer.data?.bulkGrantId) {
      onStarted(answer.data.bulkGrantId);
      return answer.data.status === 'pending-approval'
        ? {
            kind: 'done',
            message: `Waiting for a second operator's approval (request ${answer.data.approvalId ?? answer.data.bulkGrantId}).`,
          }
        : { kind: 'done', message: `Bulk grant ${answer.data.bulkGrantId} started.` };
    }
    return describeWrite(answer, 'Bulk grant');
  };

  return (
    <ActionForm name="Run bulk grant" submit={submit}>
      <SelectField
        label="Players"
        value={who}
        onChange={(v) => setWho(v as typeof who)}
        options={[
          { value: 'list', label: 'A list of player ids' },
          { value: 'active', label: 'Every player active on a day' },
        ]}
      />
      {who === 'list' ? (
        <>
          <Field
            label="Player ids"
            hint={`One per line, or a CSV whose first column is the id (${players.length} found)`}
          >
            {(props) => <textarea {...props} rows={5} value={ids} onChange={(e) => setIds(e.target.value)} />}
          </Field>
          <Field label="CSV file">
            {(props) => (
              <input
                {...props}
                type="file"
                accept=".csv,text/csv,text/plain"
                onChange={async (e) => {
                  const file = e.target.files?.[0];
                  if (file) setIds(await file.text());
                }}
              />
            )}
          </Field>
        </>
      ) : (
        <TextField label="Active on" type="date" value={activeOn} onChange={setActiveOn} required />
      )}
      <SelectField
        label="Grant"
        value={kind}
        onChange={(v) => setKind(v as typeof kind)}
        options={[
          { value: 'currency', label: 'A currency' },
          { value: 'item', label: 'An item' },
        ]}
      />
      {kind === 'currency' ? (
        <SelectField
          label="Currency"
          value={currency}
          onChange={(v) => setCurrency(v as typeof currency)}
          options={[
            { value: 'gold', label: 'Gold' },
            { value: 'spiritStones', label: 'Spirit stones' },
          ]}
        />
      ) : (
        <TextField label="Item" value={item} onChange={setItem} required />
      )}
      <TextField label="Amount" type="number" min={1} step={1} value={amount} onChange={setAmount} required />
      <ReasonAndTicket reason={reason} ticket={ticket} onReason={setReason} onTicket={setTicket} />
    </ActionForm>
  );
}

function BulkGrantProgress({ bulkGrantId }: { bulkGrantId: string }) {
  const { api } = useOperator();
  const [tick, setTick] = useState(0);
  const loaded = useLoad(
    () => api.GET('/v1/admin/bulk-grants/{bulkGrantId}', { params: { path: { bulkGrantId } } }),
    [bulkGrantId, tick],
  );
  const finished = loaded.state === 'loaded' && (loaded.data.status === 'done' || loaded.data.status === 'declined');
  const active = !finished && loaded.state !== 'failed';
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return (
    <section aria-labelledby="progress-title">
      <h2 id="progress-title">Bulk grant {bulkGrantId}</h2>
      <Show loaded={loaded} what="the bulk grant">
        {(g) => <BulkGrantReport grant={g} />}
      </Show>
    </section>
  );
}

function BulkGrantReport({ grant }: { grant: BulkGrant }) {
  const { total, granted, skipped, failed } = grant.progress;
  const done = granted + skipped + failed;
  const notes = grant.report ? [...grant.report.skipped, ...grant.report.failed] : [];
  return (
    <>
      <div className="field">
        <label htmlFor="bulk-progress">Progress</label>
        <progress id="bulk-progress" max={Math.max(1, total ?? done)} value={done}>
          {done} of {total ?? '?'}
        </progress>
      </div>
      <p role="status">
        Status {grant.status} ({grant.progress.phase}): {granted} granted, {skipped} skipped, {failed} failed of{' '}
        {total ?? 'not yet counted'}.
      </p>
      {grant.report ? (
        <Scroll label="Bulk grant report">
          <table>
            <caption>Report</caption>
            <thead>
              <tr>
                <th scope="col">Player</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">Everyone else</th>
                <td>granted</td>
                <td>{grant.report.granted} player(s)</td>
              </tr>
              {notes.map((r) => (
                <tr key={r.playerId}>
                  <th scope="row">{r.playerId}</th>
                  <td>{r.outcome}</td>
                  <td>
                    {r.code}: {r.message}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {grant.report.truncated ? <p>The report lists the first players only.</p> : null}
        </Scroll>
      ) : null}
    </>
  );
}

function BulkGrantList({ onOpen }: { onOpen: (id: string) => void }) {
  const { api } = useOperator();
  const loaded = useLoad(() => api.GET('/v1/admin/bulk-grants'), []);
  return (
    <section aria-labelledby="bulk-list-title">
      <h2 id="bulk-list-title">Recent bulk grants</h2>
      {loaded.state === 'failed' ? (
        <Failure failure={loaded.failure} label="Could not list bulk grants" />
      ) : (
        <Show loaded={loaded} what="bulk grants">
          {(page) => (
            <table>
              <caption className="sr-only">Recent bulk grants</caption>
              <thead>
                <tr>
                  <th scope="col">Bulk grant</th>
                  <th scope="col">Status</th>
                  <th scope="col">Granted</th>
                  <th scope="col">Total</th>
                  <th scope="col">Open</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((g) => (
                  <tr key={g.bulkGrantId}>
                    <th scope="row">{g.bulkGrantId}</th>
                    <td>{g.status}</td>
                    <td>{g.progress.granted}</td>
                    <td>{g.progress.total ?? '—'}</td>
                    <td>
                      <button type="button" onClick={() => onOpen(g.bulkGrantId)}>
                        Show report
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Show>
      )}
    </section>
  );
}
