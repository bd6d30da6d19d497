import { useState } from 'react';
import type { paths } from '../api/schema';
import {
  ActionForm,
  describeWrite,
  formatTime,
  SelectField,
  Show,
  TextField,
  useLoad,
  Scroll,
} from '../components/common';
import { useCan, useOperator } from '../context';

type Approval = paths['/v1/admin/approvals']['get']['responses'][200]['content']['application/json']['items'][number];

/** Requests above the two-person threshold: a second operator approves or declines each. */
export function ApprovalsPage() {
  const { api, session } = useOperator();
  const decide = useCan('balances.adjust');
  const [status, setStatus] = useState<'pending' | 'approved' | 'declined' | 'expired'>('pending');
  const [deciding, setDeciding] = useState<{ approval: Approval; action: 'Approve' | 'Decline' }>();
  const [refresh, setRefresh] = useState(0);
  const loaded = useLoad(() => api.GET('/v1/admin/approvals', { params: { query: { status } } }), [status, refresh]);
  return (
    <>
      <h1>Approvals</h1>
      <SelectField
        label="Show requests"
        value={status}
        onChange={(v) => setStatus(v as typeof status)}
        options={[
          { value: 'pending', label: 'Pending' },
          { value: 'approved', label: 'Approved' },
          { value: 'declined', label: 'Declined' },
          { value: 'expired', label: 'Expired' },
        ]}
      />
      <Show loaded={loaded} what="approval requests">
        {(page) => (
          <Scroll label="Approval requests">
            <table>
              <caption>
                {page.items.length} {status} request(s)
              </caption>
              <thead>
                <tr>
                  <th scope="col">Request</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Player</th>
                  <th scope="col">What</th>
                  <th scope="col">Requested by</th>
                  <th scope="col">Requested</th>
                  <th scope="col">Decided by</th>
                  {decide && status === 'pending' ? <th scope="col">Decision</th> : null}
                </tr>
              </thead>
              <tbody>
                {page.items.map((a) => (
                  <tr key={a.approvalId}>
                    <th scope="row">{a.approvalId}</th>
                    <td>{a.action.kind}</td>
                    <td>{a.action.kind === 'adjustment' ? a.action.playerId : '—'}</td>
                    <td>
                      {a.action.kind === 'adjustment'
                        ? `${a.action.delta > 0 ? '+' : ''}${a.action.delta} ${a.action.currency}`
                        : `bulk grant ${a.action.bulkGrantId}`}
                      : {a.reason} ({a.ticket})
                    </td>
                    <td>{a.requestedBy ?? '—'}</td>
                    <td>{formatTime(a.requestedAt)}</td>
                    <td>{a.decidedBy ?? '—'}</td>
                    {decide && status === 'pending' ? (
                      <td className="buttons">
                        {a.requestedBy === session.username ? (
                          <span>Your own request: another operator decides</span>
                        ) : (
                          (['Approve', 'Decline'] as const).map((action) => (
                            <button key={action} type="button" onClick={() => setDeciding({ approval: a, action })}>
                              {action}
                            </button>
                          ))
                        )}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      </Show>
      {deciding ? (
        <Decision
          key={`${deciding.approval.approvalId}-${deciding.action}`}
          {...deciding}
          onDone={() => setRefresh((n) => n + 1)}
        />
      ) : null}
    </>
  );
}

function Decision({
  approval,
  action,
  onDone,
}: {
  approval: Approval;
  action: 'Approve' | 'Decline';
  onDone: () => void;
}) {
  const { api } = useOperator();
  const [reason, setReason] = useState('');
  const run = async () => {
    const path = { approvalId: approval.approvalId };
    const answer =
      action === 'Approve'
        ? await api.POST('/v1/admin/approvals/{approvalId}/approve', {
            params: { path },
            body: reason ? { reason } : {},
          })
        : await api.POST('/v1/admin/approvals/{approvalId}/decline', { params: { path }, body: { reason } });
    onDone();
    return describeWrite(
      { ...answer, data: answer.data && {} },
      `${action === 'Approve' ? 'Approved' : 'Declined'} ${approval.approvalId}`,
    );
  };
  return (
    <ActionForm name={`${action} request ${approval.approvalId}`} actions={[{ label: action, run }]}>
      <TextField
        label="Reason"
        value={reason}
        onChange={setReason}
        required={action === 'Decline'}
        {...(action === 'Approve' ? { hint: 'Optional' } : {})}
      />
    </ActionForm>
  );
}
