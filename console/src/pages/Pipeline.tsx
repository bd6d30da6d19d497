import { useEffect, useRef, useState } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { type ApiFailure, failureOf } from '../api/client';
import type { paths } from '../api/schema';
import {
  ActionForm,
  describeWrite,
  Failure,
  formatTime,
  ReasonAndTicket,
  Show,
  useLoad,
  Scroll,
} from '../components/common';
import { useCan, useOperator } from '../context';

type Stats = paths['/v1/admin/stats']['get']['responses'][200]['content']['application/json'];
type DeadLetter =
  paths['/v1/admin/dead-letters']['get']['responses'][200]['content']['application/json']['items'][number];

interface Sample {
  readonly t: string;
  readonly hitRatio: number | null;
  readonly readsPerSecond: number | null;
  readonly dlqDepth: number | null;
  /** Figures the stats route may report (issue 13): charted once it does. */
  readonly queueDepth: number | null;
  readonly applied: number | null;
  readonly rejected: number | null;
  readonly projectionLagMs: number | null;
}

const POLL_MS = 2000;
const KEEP = 60;

const numberAt = (value: unknown, ...path: string[]): number | null => {
  let at: unknown = value;
  for (const k of path) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[k] : undefined;
  return typeof at === 'number' ? at : null;
};

/** Polls the stats and the DLQ, keeps the last minutes' samples, charts them live. */
function usePipelineSamples(): { samples: Sample[]; failure?: ApiFailure; latest?: Stats } {
  const { api } = useOperator();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [failure, setFailure] = useState<ApiFailure>();
  const [latest, setLatest] = useState<Stats>();
  const previous = useRef<{ at: number; stats: Stats }>(undefined);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      const [stats, dlq] = await Promise.all([
        api.GET('/v1/admin/stats'),
        api.GET('/v1/admin/dead-letters', { params: { query: { limit: '1' } } }),
      ]);
      if (stopped) return;
      if (!stats.data) {
        setFailure(failureOf(stats.error, stats.response));
        return;
      }
      setFailure(undefined);
      setLatest(stats.data);
      const now = Date.now();
      const before = previous.current;
      const rate = (...path: string[]): number | null => {
        const a = numberAt(before?.stats, ...path);
        const b = numberAt(stats.data, ...path);
        return before && a !== null && b !== null ? Math.max(0, (b - a) / ((now - before.at) / 1000)) : null;
      };
      const reads = rate('cache', 'hits');
      const misses = rate('cache', 'misses');
      previous.current = { at: now, stats: stats.data };
      const sample: Sample = {
        t: new Date(now).toISOString().slice(11, 19),
        hitRatio: stats.data.cache ? stats.data.cache.hitRatio : null,
        readsPerSecond: reads !== null && misses !== null ? reads + misses : null,
        dlqDepth: dlq.data ? dlq.data.approximateCount : null,
        queueDepth: numberAt(stats.data, 'queue', 'depth'),
        applied: rate('commands', 'applied'),
        rejected: rate('commands', 'rejected'),
        projectionLagMs: numberAt(stats.data, 'projection', 'lagMs'),
      };
      setSamples((s) => [...s.slice(-(KEEP - 1)), sample]);
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api]);
  return { samples, ...(failure ? { failure } : {}), ...(latest ? { latest } : {}) };
}

function Chart({
  title,
  samples,
  lines,
  unit,
}: {
  title: string;
  samples: readonly Sample[];
  lines: readonly { key: keyof Sample; name: string; color: string }[];
  unit?: string;
}) {
  const last = samples.at(-1);
  const reported = lines.some((l) => samples.some((s) => s[l.key] !== null));
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure aria-labelledby={id} className="chart">
      <figcaption id={id}>
        <strong>{title}</strong>:{' '}
        {reported
          ? lines
              .map((l) => {
                const v = last?.[l.key];
                return `${l.name} ${typeof v === 'number' ? `${Math.round(v * 100) / 100}${unit ?? ''}` : '—'}`;
              })
              .join(', ')
          : 'not reported by GET /v1/admin/stats'}
      </figcaption>
      <div aria-hidden="true" style={{ width: '100%', height: 160 }}>
        <ResponsiveContainer>
          <LineChart data={[...samples]} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="t" minTickGap={40} />
            <YAxis width={48} />
            <Tooltip />
            {lines.map((l) => (
              <Line
                key={l.key}
                type="monotone"
                dataKey={l.key}
                name={l.name}
                stroke={l.color}
                dot={false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

export function PipelinePage() {
  const { samples, failure, latest } = usePipelineSamples();
  return (
    <>
      <h1>Pipeline health</h1>
      <p>
        Live every {POLL_MS / 1000} s{latest ? ` (${latest.scope} counters)` : ''}.
      </p>
      {failure ? <Failure failure={failure} label="Could not read the statistics" /> : null}
      <div className="charts">
        <Chart
          title="Queue depth"
          samples={samples}
          lines={[{ key: 'queueDepth', name: 'messages', color: '#1f5fa8' }]}
        />
        <Chart
          title="DLQ depth"
          samples={samples}
          lines={[{ key: 'dlqDepth', name: 'dead letters', color: '#a8321f' }]}
        />
        <Chart
          title="Commands per second"
          samples={samples}
          lines={[
            { key: 'applied', name: 'applied', color: '#1f7a3a' },
            { key: 'rejected', name: 'rejected', color: '#a8321f' },
          ]}
          unit="/s"
        />
        <Chart
          title="Projection lag"
          samples={samples}
          lines={[{ key: 'projectionLagMs', name: 'lag', color: '#6b3fa0' }]}
          unit=" ms"
        />
        <Chart
          title="Cache hit ratio"
          samples={samples}
          lines={[{ key: 'hitRatio', name: 'hit ratio', color: '#1f5fa8' }]}
        />
        <Chart
          title="Player reads per second"
          samples={samples}
          lines={[{ key: 'readsPerSecond', name: 'reads', color: '#7a5a1f' }]}
          unit="/s"
        />
      </div>
      <DeadLetters />
    </>
  );
}

function DeadLetters() {
  const { api } = useOperator();
  const resolve = useCan('deadLetters.resolve');
  const [refresh, setRefresh] = useState(0);
  const [acting, setActing] = useState<{ letter: DeadLetter; action: 'Replay' | 'Discard' }>();
  const loaded = useLoad(() => api.GET('/v1/admin/dead-letters', { params: { query: { limit: '100' } } }), [refresh]);
  return (
    <section aria-labelledby="dlq-title">
      <h2 id="dlq-title">Dead letters</h2>
      <div className="buttons">
        <button type="button" onClick={() => setRefresh((n) => n + 1)}>
          Refresh dead letters
        </button>
      </div>
      <Show loaded={loaded} what="dead letters">
        {(page) => (
          <Scroll label="Dead letters">
            <table>
              <caption>
                {page.items.length} of about {page.approximateCount} dead letter(s)
                {page.complete ? '' : ' (more not shown)'}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Message</th>
                  <th scope="col">Command</th>
                  <th scope="col">Player</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Receives</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Order</th>
                  {resolve ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {page.items.map((d) => (
                  <tr key={d.messageId}>
                    <th scope="row">{d.messageId}</th>
                    <td>{d.envelope?.commandType ?? '—'}</td>
                    <td>{d.envelope?.entityId ?? d.messageGroupId ?? '—'}</td>
                    <td>{d.reason ?? '—'}</td>
                    <td>{d.receiveCount}</td>
                    <td>{formatTime(d.sentAt)}</td>
                    <td>{d.firstInGroup ? 'first in its group' : 'behind another'}</td>
                    {resolve ? (
                      <td className="buttons">
                        {(['Replay', 'Discard'] as const).map((action) => (
                          <button key={action} type="button" onClick={() => setActing({ letter: d, action })}>
                            {action}
                          </button>
                        ))}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      </Show>
      {acting ? (
        <DeadLetterAction
          key={`${acting.letter.messageId}-${acting.action}`}
          {...acting}
          onDone={() => setRefresh((n) => n + 1)}
        />
      ) : null}
    </section>
  );
}

function DeadLetterAction({
  letter,
  action,
  onDone,
}: {
  letter: DeadLetter;
  action: 'Replay' | 'Discard';
  onDone: () => void;
}) {
  const { api } = useOperator();
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const path = { messageId: letter.messageId };
  const run = async () => {
    if (action === 'Replay') {
      const answer = await api.POST('/v1/admin/dead-letters/{messageId}/replay', {
        params: { path },
        body: { reason, ticket },
      });
      onDone();
      return describeWrite(
        { ...answer, data: answer.data && {} },
        `Replayed ${letter.messageId} as command ${answer.data?.commandId ?? ''}`,
      );
    }
    const answer = await api.POST('/v1/admin/dead-letters/{messageId}/discard', {
      params: { path },
      body: { reason, ticket },
    });
    onDone();
    return describeWrite({ ...answer, data: answer.data && {} }, `Discarded ${letter.messageId}`);
  };
  return (
    <ActionForm name={`${action} ${letter.messageId}`} actions={[{ label: action, run }]}>
      <ReasonAndTicket reason={reason} ticket={ticket} onReason={setReason} onTicket={setTicket} />
    </ActionForm>
  );
}
