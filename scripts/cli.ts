/**
 * `npm run cli -- <verb> …`: the `gamekeep` CLI (cli/gamekeep.ts) under its old name, so the verbs it had (send,
 * status, player, events) keep working; they now go through the HTTP API of the stack `npm start` runs instead of
 * reading the table. `npm run cli -- --help` lists every verb.
 */
import { run } from '../cli/gamekeep.js';

await run();
