import { type FormEvent, useState } from 'react';
import type { paths } from '../api/schema';
import { SelectField, Show, TextField, useLoad } from '../components/common';
import { useOperator } from '../context';

type Board = paths['/v1/leaderboards/{board}']['get']['parameters']['path']['board'];
type Entry =
  paths['/v1/leaderboards/{board}']['get']['responses'][200]['content']['application/json']['entries'][number];
const BOARDS: readonly { value: Board; label: string }[] = [
  { value: 'level', label: 'Level' },
  { value: 'wealth', label: 'Wealth' },
  { value: 'combat-wins', label: 'Combat wins' },
  { value: 'experience-daily', label: 'Experience (daily)' },
  { value: 'experience-weekly', label: 'Experience (weekly)' },
];

/** Every board and period; a player's rank and the players around them. */
export function LeaderboardsPage() {
  const { api } = useOperator();
  const [board, setBoard] = useState<Board>('level');
  const [period, setPeriod] = useState('');
  const [player, setPlayer] = useState('');
  const [query, setQuery] = useState<{ board: Board; period?: string; around?: string }>({ board: 'level' });
  const periodic = board === 'experience-daily' || board === 'experience-weekly';
  const loaded = useLoad(
    () =>
      api.GET('/v1/leaderboards/{board}', {
        params: {
          path: { board: query.board },
          query: {
            limit: '20',
            ...(query.period ? { period: query.period } : {}),
            ...(query.around ? { around: query.around } : {}),
          },
        },
      }),
    [JSON.stringify(query)],
  );
  const show = (e: FormEvent) => {
    e.preventDefault();
    setQuery({
      board,
      ...(periodic && period ? { period } : {}),
      ...(player.trim() ? { around: player.trim() } : {}),
    });
  };
  return (
    <>
      <h1>Leaderboards</h1>
      <form aria-label="Choose a board" onSubmit={show} className="row">
        <SelectField label="Board" value={board} onChange={(v) => setBoard(v as Board)} options={BOARDS} />
        {periodic ? (
          <TextField
            label="Period"
            value={period}
            onChange={setPeriod}
            placeholder={board === 'experience-daily' ? 'YYYY-MM-DD' : 'YYYY-Www'}
            hint="Empty: the current one"
          />
        ) : null}
        <TextField label="Player" value={player} onChange={setPlayer} hint="Their rank and neighbourhood" />
        <div className="buttons">
          <button type="submit">Show board</button>
        </div>
      </form>
      <Show loaded={loaded} what="the board">
        {(b) => (
          <>
            {query.around ? (
              <p role="status">
                {b.player
                  ? `${b.player.playerId} is ranked ${b.player.rank} of ${b.total} with ${b.player.score}.`
                  : `${query.around} is not ranked on this board.`}
              </p>
            ) : null}
            {b.rebuilding ? <p className="note">This board is being rebuilt: it may be incomplete.</p> : null}
            <BoardTable
              entries={b.entries}
              caption={`${BOARDS.find((x) => x.value === b.board)?.label ?? b.board}${b.period ? `, ${b.period}` : ''}: ${b.total} ranked`}
              highlight={query.around}
            />
          </>
        )}
      </Show>
    </>
  );
}

function BoardTable({
  entries,
  caption,
  highlight,
}: {
  entries: readonly Entry[];
  caption: string;
  highlight?: string;
}) {
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Rank</th>
          <th scope="col">Player</th>
          <th scope="col">Score</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.playerId} aria-current={e.playerId === highlight ? 'true' : undefined}>
            <td>{e.rank}</td>
            <th scope="row">{e.playerId}</th>
            <td>{e.score}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
