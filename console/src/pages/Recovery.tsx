import { useEffect, useState } from 'react';
import { idempotencyKey } from '../api/client';
import type { paths } from '../api/schema';
import {
  ActionForm,
  describeWrite,
  Failure,
  formatTime,
  type Outcome,
  ReasonAndTicket,
  Show,
  TextField,
  useLoad,
  Scroll,
} from '../components/common';
import { useCan, useOperator } from '../context';

type Backups = paths['/v1/admin/backups']['get']['responses'][200]['content']['application/json'];
type Drill = paths['/v1/admin/drills/{drillId}']['get']['responses'][200]['content']['application/json'];

/** GET /v1/admin/checks/{checkId} (the document gives no schema: shared/checker/checkRun.ts's CheckReport). */
interface CheckReport {
  readonly checkId: string;
  readonly status: 'running' | 'done';
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly entitiesChecked: number;
  readonly claimsChecked: number;
  readonly counts: { safe: number; operator: number; isolate: number };
  readonly findings: readonly {
    class: string;
    kind: string;
    entityType?: string;
    entityId?: string;
    detail: string;
    repair?: { action: string; command?: { expectedVersion: number; finding: string } };
  }[];
  readonly repairs: readonly { finding: { kind: string; entityId?: string }; result: string; detail: string }[];
}

export function RecoveryPage() {
  return (
    <>
      <h1>Consistency and recovery</h1>
      <ConsistencyCheck />
      <BackupsAndDrills />
    </>
  );
}

function ConsistencyCheck() {
  const { api } = useOperator();
  const run = useCan('checks.run');
  const [sample, setSample] = useState('');
  const [checkId, setCheckId] = useState<string>();
  const start = (repair: boolean) => async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/checks', {
      body: { ...(sample ? { sample: Number(sample) } : {}), ...(repair ? { repair } : {}) },
    });
    if (answer.data) {
      setCheckId(answer.data.checkId);
      return {
        kind: 'done',
        message: `Check ${answer.data.checkId} started${repair ? ', repairing the safe findings' : ''}.`,
      };
    }
    return describeWrite(answer, 'Check');
  };
  return (
    <section aria-labelledby="check-title">
      <h2 id="check-title">Consistency check</h2>
      {run ? (
        <ActionForm
          name="Check the data"
          actions={[
            { label: 'Run check', run: start(false) },
            { label: 'Apply safe repairs', run: start(true) },
          ]}
        >
          <TextField
            label="Sample"
            type="number"
            min={1}
            step={1}
            value={sample}
            onChange={setSample}
            hint="Empty: every entity"
          />
        </ActionForm>
      ) : null}
      {checkId ? <CheckReportView key={checkId} checkId={checkId} /> : <p>No check run from this page yet.</p>}
    </section>
  );
}

function CheckReportView({ checkId }: { checkId: string }) {
  const { api } = useOperator();
  const [tick, setTick] = useState(0);
  const loaded = useLoad(async () => {
    const answer = await api.GET('/v1/admin/checks/{checkId}', { params: { path: { checkId } } });
    return { ...answer, data: answer.data as unknown as CheckReport | undefined };
  }, [checkId, tick]);
  const running = loaded.state === 'loaded' && loaded.data.status === 'running';
  const active = running || loaded.state === 'loading';
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return (
    <Show loaded={loaded} what={`check ${checkId}`}>
      {(r) => (
        <section aria-labelledby="report-title">
          <h3 id="report-title">Check {r.checkId}</h3>
          <p role="status">
            {r.status === 'running' ? 'Running' : `Done ${formatTime(r.finishedAt)}`}: {r.entitiesChecked} entities and{' '}
            {r.claimsChecked} claims checked; {r.counts.safe} safe, {r.counts.operator} for an operator,{' '}
            {r.counts.isolate} to isolate.
          </p>
          <Scroll label="Findings">
            <table>
              <caption>Findings ({r.findings.length} listed)</caption>
              <thead>
                <tr>
                  <th scope="col">Class</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Entity</th>
                  <th scope="col">Detail</th>
                  <th scope="col">Repair</th>
                </tr>
              </thead>
              <tbody>
                {r.findings.map((f) => (
                  <tr key={`${f.kind}-${f.entityId ?? ''}-${f.detail}`}>
                    <td>{f.class}</td>
                    <td>{f.kind}</td>
                    <td>{f.entityId ?? '—'}</td>
                    <td>{f.detail}</td>
                    <td>
                      {f.repair?.command && f.entityId ? (
                        <StateRepair playerId={f.entityId} command={f.repair.command} />
                      ) : (
                        (f.repair?.action ?? '—')
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
          {r.repairs.length > 0 ? (
            <table>
              <caption>Repairs done</caption>
              <thead>
                <tr>
                  <th scope="col">Finding</th>
                  <th scope="col">Result</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {r.repairs.map((x) => (
                  <tr key={`${x.finding.kind}-${x.finding.entityId ?? ''}-${x.detail}`}>
                    <td>
                      {x.finding.kind} {x.finding.entityId ?? ''}
                    </td>
                    <td>{x.result}</td>
                    <td>{x.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      )}
    </Show>
  );
}

/** An operator's repair of one player's state from its events (StateRepaired), with a reason and a ticket. */
function StateRepair({
  playerId,
  command,
}: {
  playerId: string;
  command: { expectedVersion: number; finding: string };
}) {
  const { api } = useOperator();
  const allowed = useCan('players.repair');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  if (!allowed) return <span>repair-state</span>;
  const run = async () =>
    describeWrite(
      await api.POST('/v1/admin/players/{playerId}/repairs', {
        params: { path: { playerId }, header: { Prefer: 'wait=10', 'Idempotency-Key': idempotencyKey() } },
        body: { ...command, reason, ticket },
      }),
      `Repaired ${playerId}`,
    );
  return (
    <ActionForm name={`Repair ${playerId}`} actions={[{ label: 'Repair', run }]}>
      <ReasonAndTicket reason={reason} ticket={ticket} onReason={setReason} onTicket={setTicket} />
    </ActionForm>
  );
}

function BackupsAndDrills() {
  const { api } = useOperator();
  const runBackups = useCan('backups.run');
  const runDrills = useCan('drills.run');
  const [refresh, setRefresh] = useState(0);
  const [drillId, setDrillId] = useState<string>();
  const loaded = useLoad(() => api.GET('/v1/admin/backups', { params: { query: { limit: '20' } } }), [refresh]);
  const again = () => setRefresh((n) => n + 1);
  const backup = async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/backups', { body: {} });
    again();
    return answer.data
      ? { kind: 'done', message: `Backup ${answer.data.backupId} (${answer.data.kind}) started.` }
      : describeWrite(answer, 'Backup');
  };
  const drill = async (): Promise<Outcome> => {
    const answer = await api.POST('/v1/admin/drills', { body: {} });
    if (answer.data) {
      setDrillId(answer.data.drillId);
      return { kind: 'done', message: `Drill ${answer.data.drillId} started.` };
    }
    return describeWrite(answer, 'Drill');
  };
  return (
    <section aria-labelledby="backups-title">
      <h2 id="backups-title">Backups and drills</h2>
      <div className="row">
        {runBackups ? (
          <ActionForm name="Backups" actions={[{ label: 'Take backup', run: backup }]}>
            <p>A full or incremental backup, as the schedule would take it.</p>
          </ActionForm>
        ) : null}
        {runDrills ? (
          <ActionForm name="Recovery drill" actions={[{ label: 'Run drill', run: drill }]}>
            <p>Restores the latest backup into a scratch table, checks it and measures RTO and RPO.</p>
          </ActionForm>
        ) : null}
      </div>
      {drillId ? <DrillReport key={drillId} drillId={drillId} /> : null}
      <Show loaded={loaded} what="backups">
        {(b) => <BackupTable backups={b} onVerified={again} />}
      </Show>
    </section>
  );
}

function BackupTable({ backups, onVerified }: { backups: Backups; onVerified: () => void }) {
  const { api } = useOperator();
  const verify = useCan('backups.run');
  const [outcome, setOutcome] = useState<Outcome>();
  const d = backups.lastDrill;
  return (
    <>
      <section aria-labelledby="last-drill-title">
        <h3 id="last-drill-title">Last drill</h3>
        {d ? (
          <dl className="facts">
            <dt>Drill</dt>
            <dd>
              {d.drillId} ({d.status})
            </dd>
            <dt>Started</dt>
            <dd>{formatTime(d.startedAt)}</dd>
            <dt>RTO (restore time)</dt>
            <dd>{d.restoreSeconds !== undefined ? `${d.restoreSeconds} s` : '—'}</dd>
            <dt>RPO (events lost)</dt>
            <dd>{d.eventsLost !== undefined ? d.eventsLost : '—'}</dd>
            <dt>Items restored</dt>
            <dd>{d.restored ?? '—'}</dd>
            {d.failure ? (
              <>
                <dt>Failure</dt>
                <dd>{d.failure}</dd>
              </>
            ) : null}
          </dl>
        ) : (
          <p>No drill has run yet.</p>
        )}
      </section>
      <Scroll label="Backups">
        <table>
          <caption>Backups, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Kind</th>
              <th scope="col">Tier</th>
              <th scope="col">Consistent up to</th>
              <th scope="col">Items</th>
              <th scope="col">Last verification</th>
              {verify ? <th scope="col">Verify</th> : null}
            </tr>
          </thead>
          <tbody>
            {backups.backups.map((b) => (
              <tr key={b.backupId}>
                <th scope="row">{b.backupId}</th>
                <td>{b.kind}</td>
                <td>{b.tier}</td>
                <td>{formatTime(b.consistentUpTo)}</td>
                <td>{b.items}</td>
                <td>
                  {b.lastVerification
                    ? `${b.lastVerification.status} ${formatTime(b.lastVerification.finishedAt)}`
                    : 'never'}
                </td>
                {verify ? (
                  <td>
                    <button
                      type="button"
                      onClick={async () => {
                        const answer = await api.POST('/v1/admin/backups/{backupId}/verifications', {
                          params: { path: { backupId: b.backupId } },
                          body: {},
                        });
                        setOutcome(
                          answer.data
                            ? {
                                kind: 'done',
                                message: `Verification ${answer.data.verificationId} of ${b.backupId} started.`,
                              }
                            : describeWrite(answer, 'Verify'),
                        );
                        onVerified();
                      }}
                    >
                      Verify
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      {outcome?.kind === 'failed' ? <Failure failure={outcome.failure} label="Refused" /> : null}
      {outcome?.kind === 'done' ? <p role="status">{outcome.message}</p> : null}
    </>
  );
}

function DrillReport({ drillId }: { drillId: string }) {
  const { api } = useOperator();
  const [tick, setTick] = useState(0);
  const loaded = useLoad(
    () => api.GET('/v1/admin/drills/{drillId}', { params: { path: { drillId } } }),
    [drillId, tick],
  );
  const running = loaded.state !== 'failed' && (loaded.state === 'loading' || loaded.data.status === 'running');
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setTick((t) => t + 1), 2000);
    return () => clearInterval(timer);
  }, [running]);
  return (
    <Show loaded={loaded} what={`drill ${drillId}`}>
      {(d: Drill) => (
        <section aria-labelledby="drill-title">
          <h3 id="drill-title">Drill {d.drillId}</h3>
          <p role="status">
            {d.status}
            {d.restore ? `: ${d.restore.restored} items restored` : ''}
            {d.rpo ? `, ${d.rpo.eventsLost} events lost` : ''}
            {d.failure ? ` (${d.failure})` : ''}
          </p>
          {d.figures.length > 0 ? (
            <table>
              <caption>RTO and RPO per failure</caption>
              <thead>
                <tr>
                  <th scope="col">Failure</th>
                  <th scope="col">Strategy</th>
                  <th scope="col">RTO</th>
                  <th scope="col">RPO</th>
                </tr>
              </thead>
              <tbody>
                {d.figures.map((f) => (
                  <tr key={f.failure}>
                    <th scope="row">{f.failure}</th>
                    <td>{f.strategy}</td>
                    <td>{f.rto}</td>
                    <td>{f.rpo}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      )}
    </Show>
  );
}
