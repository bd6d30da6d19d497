import { useState } from 'react';
import { failureOf, idempotencyKey } from '../api/client';
import type { paths } from '../api/schema';
import { useCan, useOperator } from '../context';
import {
  ActionForm,
  describeWrite,
  formatTime,
  type Outcome,
  OutcomeNote,
  ReasonAndTicket,
  SelectField,
  TextField,
  WAIT,
} from './common';

interface Props {
  readonly playerId: string;
  readonly version: number;
  readonly quarantined: boolean | undefined;
  readonly banned: boolean | undefined;
  readonly onChange: () => void;
}

/** What the operator may do to this player: only the actions their roles allow are shown. */
export function PlayerActions(props: Props) {
  const adjust = useCan('balances.adjust');
  const items = useCan('items.grant');
  const rollback = useCan('players.rollback');
  const quarantine = useCan('players.quarantine');
  const ban = useCan('players.ban');
  if (!adjust && !items && !rollback && !quarantine && !ban) return null;
  return (
    <section aria-labelledby="actions-title">
      <h3 id="actions-title">Actions</h3>
      <div className="actions">
        {adjust ? <BalanceAdjustment {...props} /> : null}
        {items ? <ItemChange {...props} /> : null}
        {rollback ? <RollbackPreview {...props} /> : null}
        {quarantine ? <Quarantine {...props} /> : null}
        {ban ? <BanAction {...props} /> : null}
      </div>
    </section>
  );
}

function useWriteFields() {
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const fields = <ReasonAndTicket reason={reason} ticket={ticket} onReason={setReason} onTicket={setTicket} />;
  return { reason, ticket, fields };
}

const headers = () => ({ ...WAIT, 'Idempotency-Key': idempotencyKey() });

function BalanceAdjustment({ playerId, onChange }: Props) {
  const { api } = useOperator();
  const [currency, setCurrency] = useState<'gold' | 'spiritStones'>('gold');
  const [delta, setDelta] = useState('');
  const w = useWriteFields();
  const submit = async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/players/{playerId}/adjustments', {
      params: { path: { playerId }, header: headers() },
      body: { currency, delta: Number(delta), reason: w.reason, ticket: w.ticket },
    });
    onChange();
    return describeWrite(answer, `Adjusted ${currency} by ${delta}`);
  };
  return (
    <ActionForm name="Adjust balance" submit={submit}>
      <SelectField
        label="Currency"
        value={currency}
        onChange={(v) => setCurrency(v as typeof currency)}
        options={[
          { value: 'gold', label: 'Gold' },
          { value: 'spiritStones', label: 'Spirit stones' },
        ]}
      />
      <TextField
        label="Change"
        type="number"
        step={1}
        value={delta}
        onChange={setDelta}
        required
        hint="Negative takes away"
      />
      {w.fields}
    </ActionForm>
  );
}

function ItemChange({ playerId, onChange }: Props) {
  const { api } = useOperator();
  const [item, setItem] = useState('');
  const [quantity, setQuantity] = useState('1');
  const w = useWriteFields();
  const run = (change: 'grant' | 'revoke') => async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/players/{playerId}/items', {
      params: { path: { playerId }, header: headers() },
      body: { change, item, quantity: Number(quantity), reason: w.reason, ticket: w.ticket },
    });
    onChange();
    return describeWrite(answer, `${change === 'grant' ? 'Granted' : 'Revoked'} ${quantity} × ${item}`);
  };
  return (
    <ActionForm
      name="Items"
      actions={[
        { label: 'Grant item', run: run('grant') },
        { label: 'Revoke item', run: run('revoke') },
      ]}
    >
      <TextField label="Item" value={item} onChange={setItem} required />
      <TextField label="Quantity" type="number" min={1} step={1} value={quantity} onChange={setQuantity} required />
      {w.fields}
    </ActionForm>
  );
}

type Impact = paths['/v1/admin/players/{playerId}/rollbacks']['post']['responses'][200]['content']['application/json'];

/** A rollback shows its impact first (a dry run); only Confirm roll back writes. */
function RollbackPreview({ playerId, version, onChange }: Props) {
  const { api } = useOperator();
  const [toVersion, setToVersion] = useState(String(Math.max(1, version - 1)));
  const [includeRelated, setIncludeRelated] = useState(false);
  const [acknowledge, setAcknowledge] = useState(false);
  const [impact, setImpact] = useState<Impact>();
  const [outcome, setOutcome] = useState<Outcome>();
  const [busy, setBusy] = useState(false);
  const w = useWriteFields();
  const body = (dryRun: boolean) => ({
    toVersion: Number(toVersion),
    reason: w.reason,
    ticket: w.ticket,
    ...(includeRelated ? { includeRelated } : {}),
    ...(acknowledge ? { acknowledgeImbalance: true } : {}),
    ...(dryRun ? { dryRun } : {}),
  });
  const preview = async () => {
    setBusy(true);
    setOutcome(undefined);
    setImpact(undefined);
    const answer = await api.POST('/v1/admin/players/{playerId}/rollbacks', {
      params: { path: { playerId } },
      body: body(true),
    });
    setBusy(false);
    if (answer.response.status === 200 && answer.data && 'entity' in answer.data) setImpact(answer.data);
    else setOutcome({ kind: 'failed', failure: failureOf(answer.error, answer.response) });
  };
  const confirm = async () => {
    setBusy(true);
    const answer = await api.POST('/v1/admin/players/{playerId}/rollbacks', {
      params: { path: { playerId }, header: headers() },
      body: body(false),
    });
    setBusy(false);
    setImpact(undefined);
    setOutcome(describeWrite(answer, `Rolled back to version ${toVersion}`));
    onChange();
  };
  return (
    <form
      aria-label="Roll back"
      className="action"
      onSubmit={(e) => {
        e.preventDefault();
        void preview();
      }}
    >
      <h3>Roll back</h3>
      <TextField
        label="To version"
        type="number"
        min={0}
        max={version}
        step={1}
        value={toVersion}
        onChange={setToVersion}
        required
      />
      {w.fields}
      <label className="check">
        <input type="checkbox" checked={includeRelated} onChange={(e) => setIncludeRelated(e.target.checked)} />
        Include related players
      </label>
      <label className="check">
        <input type="checkbox" checked={acknowledge} onChange={(e) => setAcknowledge(e.target.checked)} />
        Acknowledge an imbalance
      </label>
      <div className="buttons">
        <button type="submit" disabled={busy}>
          Roll back
        </button>
      </div>
      {impact ? (
        <section aria-label="Rollback preview" className="preview">
          <h4>Impact of rolling back to version {impact.entity.toVersion}</h4>
          <p>
            Undoes {impact.entity.undone.length} command(s) from version {impact.entity.fromVersion}.{' '}
            {impact.balanced ? 'Balanced.' : 'Not balanced: other players keep what they received.'}
          </p>
          <table>
            <caption className="sr-only">Commands undone</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Command</th>
                <th scope="col">Source</th>
                <th scope="col">Committed</th>
              </tr>
            </thead>
            <tbody>
              {impact.entity.undone.map((u) => (
                <tr key={u.version}>
                  <td>{u.version}</td>
                  <td>{u.commandType}</td>
                  <td>
                    {u.source.kind} {u.source.actor}
                  </td>
                  <td>{formatTime(u.committedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table>
            <caption className="sr-only">Balance changes</caption>
            <thead>
              <tr>
                <th scope="col">Balance</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(impact.entity.deltas).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{v > 0 ? `+${v}` : v}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {impact.related.length > 0 ? (
            <p>Related players: {impact.related.map((r) => r.entityId).join(', ')}</p>
          ) : null}
          <div className="buttons">
            <button type="button" disabled={busy} onClick={() => void confirm()}>
              Confirm roll back
            </button>
            <button type="button" onClick={() => setImpact(undefined)}>
              Cancel
            </button>
          </div>
        </section>
      ) : null}
      <OutcomeNote outcome={outcome} />
    </form>
  );
}

function Quarantine({ playerId, quarantined, onChange }: Props) {
  const { api } = useOperator();
  const w = useWriteFields();
  const run = (what: 'quarantine' | 'release') => async (): Promise<Outcome> => {
    const path =
      what === 'quarantine'
        ? ('/v1/admin/players/{playerId}/quarantine' as const)
        : ('/v1/admin/players/{playerId}/release' as const);
    const answer = await api.POST(path, {
      params: { path: { playerId }, header: headers() },
      body: { reason: w.reason, ticket: w.ticket },
    });
    onChange();
    return describeWrite(answer, what === 'quarantine' ? 'Quarantined' : 'Released');
  };
  const actions = [
    ...(quarantined !== true ? [{ label: 'Quarantine', run: run('quarantine') }] : []),
    ...(quarantined !== false ? [{ label: 'Release', run: run('release') }] : []),
  ];
  return (
    <ActionForm name="Quarantine or release" actions={actions}>
      {w.fields}
    </ActionForm>
  );
}

function BanAction({ playerId, banned, onChange }: Props) {
  const { api } = useOperator();
  const [until, setUntil] = useState('');
  const w = useWriteFields();
  const ban = async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/players/{playerId}/ban', {
      params: { path: { playerId }, header: headers() },
      body: { reason: w.reason, ticket: w.ticket, ...(until ? { until: new Date(until).toISOString() } : {}) },
    });
    onChange();
    return describeWrite(answer, 'Banned');
  };
  const unban = async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/players/{playerId}/unban', {
      params: { path: { playerId }, header: headers() },
      body: { reason: w.reason, ticket: w.ticket },
    });
    onChange();
    return describeWrite(answer, 'Unbanned');
  };
  const actions = [
    ...(banned !== true ? [{ label: 'Ban', run: ban }] : []),
    ...(banned !== false ? [{ label: 'Unban', run: unban }] : []),
  ];
  return (
    <ActionForm name="Ban or unban" actions={actions}>
      {banned !== true ? (
        <TextField
          label="Banned until"
          type="datetime-local"
          value={until}
          onChange={setUntil}
          hint="Empty: until unbanned"
        />
      ) : null}
      {w.fields}
    </ActionForm>
  );
}
