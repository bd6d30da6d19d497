/**
 * `npm run cli -- <verb> …` against the stack `npm start` runs:
 *   send <playerId> '<command JSON>' [idempotency-key]   enqueue a command as a game service would
 *   status <commandId>                                    a command's outcome
 *   player <playerId>                                     a player's state and version
 *   events <playerId> [afterVersion] [limit]              a page of the player's audit trail
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../shared/config.js';
import { commandQueue, eventStore } from '../shared/gamekeep.js';
import { commandEnvelope } from '../shared/engine/envelope.js';
import { commandStatus, entityEvents, entityState } from '../shared/engine/queries.js';
import { player, playerCommandSchema } from '../shared/domain/player/index.js';
import { STALE_STACK_HINT, runningStack, unreachable } from './localSecrets.js';

async function main(): Promise<number> {
  let config: Config;
  try {
    config = runningStack();
  } catch {
    console.error('No local stack is running: start one with `npm start`.');
    return 2;
  }
  const [verb, ...args] = process.argv.slice(2);
  const store = eventStore(config);
  switch (verb) {
    case 'send': {
      const [playerId, json, key = randomUUID()] = args;
      const parsed = playerCommandSchema.safeParse(JSON.parse(json ?? '{}'));
      if (!playerId || !player.idPattern.test(playerId) || !parsed.success) {
        console.error(
          parsed.success ? 'usage: send <playerId> <command JSON> [idempotency-key]' : parsed.error.message,
        );
        return 2;
      }
      const envelope = commandEnvelope({
        entityType: 'player',
        entityId: playerId,
        command: parsed.data as never,
        source: { kind: 'service', actor: 'cli' },
        identity: ['service', 'cli', playerId, key],
        issuedAt: new Date(),
      });
      await commandQueue(config).send([envelope]);
      console.log(JSON.stringify({ commandId: envelope.commandId, status: 'queued' }));
      return 0;
    }
    case 'status':
      console.log(JSON.stringify(await commandStatus(store, args[0] ?? ''), null, 2));
      return 0;
    case 'player':
      console.log(
        JSON.stringify((await entityState(store, player, args[0] ?? '')) ?? { error: 'no such player' }, null, 2),
      );
      return 0;
    case 'events':
      console.log(
        JSON.stringify(
          await entityEvents(store, player, args[0] ?? '', Number(args[1] ?? 0), Number(args[2] ?? 20)),
          null,
          2,
        ),
      );
      return 0;
    default:
      console.error('verbs: send, status, player, events');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(unreachable(error) ? STALE_STACK_HINT : error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
