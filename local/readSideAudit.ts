import { isDeepStrictEqual } from 'node:util';
import type { EventStore } from '../shared/persistence/eventStore.js';
import { STATE_SK, entityPk, type StateItem } from '../shared/persistence/tableLayout.js';
import type { PlayerEvent, PlayerState } from '../shared/domain/player/index.js';
import { playerViewOf, periodOf, type ReadSide } from '../shared/readside/index.js';
import { absoluteScores, boardKey, type BoardName } from '../shared/readside/leaderboards.js';
import { experienceGained } from '../shared/readside/projector.js';
import { viewKey } from '../shared/readside/playerCache.js';
import type { Check } from './playerAudit.js';

/** Every leaderboard as the table alone says it must be: absolute scores from states, experience summed per period. */
export async function expectedLeaderboards(store: EventStore, playerIds: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const boards = new Map<string, Map<string, number>>();
  const add = (key: string, id: string, value: number, sum: boolean): void => {
    const board = boards.get(key) ?? new Map<string, number>();
    board.set(id, (sum ? (board.get(id) ?? 0) : 0) + value);
    boards.set(key, board);
  };
  const states = await store.getMany(playerIds.map((id) => ({ pk: entityPk('P', id), sk: STATE_SK })));
  for (const id of playerIds) {
    const state = states.get(`${entityPk('P', id)}|${STATE_SK}`) as StateItem<PlayerState> | undefined;
    if (!state) continue;
    for (const [board, score] of Object.entries(absoluteScores(playerViewOf(state)))) if (score !== undefined) add(boardKey(board as BoardName), id, score, false);
    for (const item of await store.allEvents<PlayerEvent>(entityPk('P', id))) {
      const amount = experienceGained(item.events);
      if (amount > 0) for (const board of ['experience-daily', 'experience-weekly'] as const) add(boardKey(board, periodOf(board, new Date(item.committedAt))), id, amount, true);
    }
  }
  return boards;
}

/**
 * G4 and G5 after the system went quiet: every player's cached view is the table's state at its version, and
 * every leaderboard holds exactly the scores the table justifies.
 */
export async function auditReadSide(store: EventStore, side: ReadSide, playerIds: readonly string[]): Promise<Check[]> {
  const states = await store.getMany(playerIds.map((id) => ({ pk: entityPk('P', id), sk: STATE_SK })));
  let equal = 0;
  const wrong: string[] = [];
  for (const id of playerIds) {
    const state = states.get(`${entityPk('P', id)}|${STATE_SK}`) as StateItem<PlayerState> | undefined;
    const [v, d] = await side.redis.hmget(viewKey(id), 'v', 'd');
    if (!state) {
      if (v !== null && v !== '0') wrong.push(`${id}: cached but not in the table`);
      else equal++;
      continue;
    }
    if (v === null) wrong.push(`${id}: not cached`);
    else if (Number(v) !== state.version) wrong.push(`${id}: cached v${v}, table v${state.version}`);
    else if (!isDeepStrictEqual(JSON.parse(d!), JSON.parse(JSON.stringify(playerViewOf(state))))) wrong.push(`${id}: cached view differs at v${v}`);
    else equal++;
  }

  const expected = await expectedLeaderboards(store, playerIds);
  const boardProblems: string[] = [];
  let entries = 0;
  for (const [key, board] of expected) {
    const raw = await side.redis.zrange(key, '0', '-1', 'WITHSCORES');
    const actual = new Map<string, number>();
    for (let i = 0; i < raw.length; i += 2) actual.set(raw[i]!, -Number(raw[i + 1]));
    entries += actual.size;
    if (actual.size !== board.size) boardProblems.push(`${key}: ${actual.size} entries, table says ${board.size}`);
    for (const [id, score] of board) if (actual.get(id) !== score) boardProblems.push(`${key} ${id}: ${actual.get(id)} instead of ${score}`);
  }
  return [
    { name: 'cached player views equal the table (G4, G5)', ok: wrong.length === 0, detail: wrong.slice(0, 3).join('; ') || `${equal} views at the table's version` },
    { name: 'leaderboards equal the table (G4)', ok: boardProblems.length === 0, detail: boardProblems.slice(0, 3).join('; ') || `${expected.size} boards, ${entries} entries` },
  ];
}
