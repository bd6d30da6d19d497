import { type FormEvent, useState } from 'react';
import { useOperator } from '../context';
import { formatTime, Show, show, useLoad } from './common';

/** History at any version, with the diff from it to now: pick a version on the slider, then show it. */
export function VersionHistory({ playerId, current }: { playerId: string; current: number }) {
  const [picked, setPicked] = useState(Math.max(1, current - 1));
  const [shown, setShown] = useState<number>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setShown(picked);
  };
  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">History</h3>
      <form aria-label="Pick a version" onSubmit={submit} className="row">
        <div className="field">
          <label htmlFor="version-slider">Version</label>
          <input
            id="version-slider"
            type="range"
            min={1}
            max={Math.max(1, current)}
            value={picked}
            onChange={(e) => setPicked(Number(e.target.value))}
            aria-valuetext={`version ${picked} of ${current}`}
          />
          <output htmlFor="version-slider">
            version {picked} of {current}
          </output>
        </div>
        <div className="buttons">
          <button type="submit">Show version</button>
        </div>
      </form>
      {shown !== undefined ? <VersionDiff playerId={playerId} version={shown} current={current} /> : null}
    </section>
  );
}

function VersionDiff({ playerId, version, current }: { playerId: string; version: number; current: number }) {
  const { api } = useOperator();
  const path = { playerId };
  const past = useLoad(
    () => api.GET('/v1/admin/players/{playerId}/history', { params: { path, query: { atVersion: String(version) } } }),
    [playerId, version],
  );
  const diff = useLoad(
    () =>
      api.GET('/v1/admin/players/{playerId}/diff', {
        params: { path, query: { from: String(version), to: String(current) } },
      }),
    [playerId, version, current],
  );
  return (
    <div className="row">
      <Show loaded={past} what={`version ${version}`}>
        {(h) => (
          <section aria-labelledby="at-version-title">
            <h4 id="at-version-title">
              State at version {h.version} ({formatTime(h.committedAt)})
            </h4>
            <details>
              <summary>The whole state</summary>
              <pre>{JSON.stringify(h.state, null, 2)}</pre>
            </details>
          </section>
        )}
      </Show>
      <Show loaded={diff} what="the diff">
        {(d) => (
          <section aria-labelledby="diff-title">
            <h4 id="diff-title">
              Changes from version {d.from} to now (version {d.to})
            </h4>
            <table>
              <caption className="sr-only">
                Changes from version {d.from} to {d.to}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">At version {d.from}</th>
                  <th scope="col">Now</th>
                </tr>
              </thead>
              <tbody>
                {d.changes.length === 0 ? (
                  <tr>
                    <td colSpan={3}>No changes</td>
                  </tr>
                ) : (
                  d.changes.map((c) => (
                    <tr key={c.path}>
                      <th scope="row">{c.path}</th>
                      <td>{show(c.before)}</td>
                      <td>{show(c.after)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </section>
        )}
      </Show>
    </div>
  );
}
