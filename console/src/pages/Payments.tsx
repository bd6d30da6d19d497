import { type FormEvent, useState } from 'react';
import type { paths } from '../api/schema';
import {
  ActionForm,
  describeWrite,
  Failure,
  formatTime,
  ReasonAndTicket,
  Show,
  TextField,
  useLoad,
  Scroll,
} from '../components/common';
import { type ApiFailure, failureOf } from '../api/client';
import { useCan, useOperator } from '../context';

type Payment = paths['/v1/admin/payments/{provider}/{orderId}']['get']['responses'][200]['content']['application/json'];
type Resolution = { payment: Payment; action: 'Assign' | 'Credit' | 'Dismiss' };

export function PaymentsPage() {
  const [resolving, setResolving] = useState<Resolution>();
  const [refresh, setRefresh] = useState(0);
  const done = () => setRefresh((n) => n + 1);
  return (
    <>
      <h1>Payments</h1>
      <OrderLookup onResolve={setResolving} refresh={refresh} />
      {resolving ? (
        <PaymentResolution
          key={`${resolving.payment.orderId}-${resolving.action}`}
          {...resolving}
          onDone={done}
          onCancel={() => setResolving(undefined)}
        />
      ) : null}
      <PaymentList list="unmatched" title="Unmatched payments" onResolve={setResolving} refresh={refresh} />
      <PaymentList list="disputed" title="Disputed payments" onResolve={setResolving} refresh={refresh} />
    </>
  );
}

function OrderLookup({ onResolve, refresh }: { onResolve: (r: Resolution) => void; refresh: number }) {
  const { api } = useOperator();
  const [provider, setProvider] = useState('acme');
  const [orderId, setOrderId] = useState('');
  const [found, setFound] = useState<Payment>();
  const [failure, setFailure] = useState<ApiFailure>();
  const look = async (e?: FormEvent) => {
    e?.preventDefault();
    setFailure(undefined);
    setFound(undefined);
    const answer = await api.GET('/v1/admin/payments/{provider}/{orderId}', {
      params: { path: { provider, orderId } },
    });
    if (answer.data && answer.response.ok) setFound(answer.data);
    else setFailure(failureOf(answer.error, answer.response));
  };
  void refresh;
  return (
    <section aria-labelledby="lookup-title">
      <h2 id="lookup-title">Look up an order</h2>
      <form aria-label="Look up an order" onSubmit={look} className="row">
        <TextField label="Provider" value={provider} onChange={setProvider} required />
        <TextField label="Order id" value={orderId} onChange={setOrderId} required />
        <div className="buttons">
          <button type="submit">Look up order</button>
        </div>
      </form>
      {failure ? <Failure failure={failure} label="Could not look up the order" /> : null}
      {found ? <PaymentTable payments={[found]} caption={`Order ${found.orderId}`} onResolve={onResolve} /> : null}
    </section>
  );
}

function PaymentList({
  list,
  title,
  onResolve,
  refresh,
}: {
  list: 'unmatched' | 'disputed';
  title: string;
  onResolve: (r: Resolution) => void;
  refresh: number;
}) {
  const { api } = useOperator();
  const loaded = useLoad(
    () =>
      list === 'unmatched'
        ? api.GET('/v1/admin/payments/unmatched', { params: { query: { limit: '50' } } })
        : api.GET('/v1/admin/payments/disputed', { params: { query: { limit: '50' } } }),
    [list, refresh],
  );
  const id = `${list}-title`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <Show loaded={loaded} what={title.toLowerCase()}>
        {(page) => (
          <PaymentTable payments={page.items} caption={`${page.items.length} ${list}`} onResolve={onResolve} />
        )}
      </Show>
    </section>
  );
}

function PaymentTable({
  payments,
  caption,
  onResolve,
}: {
  payments: readonly Payment[];
  caption: string;
  onResolve: (r: Resolution) => void;
}) {
  const resolve = useCan('payments.resolve');
  return (
    <Scroll label={caption}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Player</th>
            <th scope="col">SKU</th>
            <th scope="col">Amount</th>
            <th scope="col">Status</th>
            <th scope="col">Problem</th>
            <th scope="col">Received</th>
            {resolve ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {payments.map((p) => (
            <tr key={`${p.provider}/${p.orderId}`}>
              <th scope="row">
                {p.provider} {p.orderId}
              </th>
              <td>{p.playerId}</td>
              <td>{p.sku}</td>
              <td>
                {p.amount} {p.currency}
              </td>
              <td>{p.status}</td>
              <td>{p.problem ? `${p.problem.code}: ${p.problem.message}` : '—'}</td>
              <td>{formatTime(p.receivedAt)}</td>
              {resolve ? (
                <td className="buttons">
                  {p.status === 'unmatched' || p.status === 'disputed' ? (
                    (['Assign', 'Credit', 'Dismiss'] as const).map((action) => (
                      <button key={action} type="button" onClick={() => onResolve({ payment: p, action })}>
                        {action}
                      </button>
                    ))
                  ) : (
                    <span>—</span>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

/** Assign (credit to another player), credit (to the payment's player) or dismiss, with a reason and a ticket. */
function PaymentResolution({
  payment,
  action,
  onDone,
  onCancel,
}: Resolution & { onDone: () => void; onCancel: () => void }) {
  const { api } = useOperator();
  const [playerId, setPlayerId] = useState('');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const path = { provider: payment.provider, orderId: payment.orderId };
  const submit = async () => {
    const answer =
      action === 'Dismiss'
        ? await api.POST('/v1/admin/payments/{provider}/{orderId}/dismiss', {
            params: { path },
            body: { reason, ticket },
          })
        : await api.POST('/v1/admin/payments/{provider}/{orderId}/credit', {
            params: { path },
            body: { reason, ticket, ...(action === 'Assign' ? { playerId } : {}) },
          });
    onDone();
    const status = answer.data?.status;
    return describeWrite(
      { ...answer, data: answer.data && { status: undefined } },
      `${action === 'Dismiss' ? 'Dismissed' : 'Credited'} ${payment.orderId}${status ? ` (now ${status})` : ''}`,
    );
  };
  return (
    <section aria-label={`${action} payment`} className="panel">
      <ActionForm name={`${action} ${payment.provider} ${payment.orderId}`} actions={[{ label: action, run: submit }]}>
        {action === 'Assign' ? (
          <TextField label="Credit to player" value={playerId} onChange={setPlayerId} required />
        ) : null}
        <ReasonAndTicket reason={reason} ticket={ticket} onReason={setReason} onTicket={setTicket} />
      </ActionForm>
      <button type="button" onClick={onCancel}>
        Close
      </button>
    </section>
  );
}
