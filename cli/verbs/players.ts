import { randomUUID } from 'node:crypto';
import { type Command, Option } from 'commander';
import { accepted } from '../api.js';
import { type VerbContext, verb } from '../context.js';
import { columns, usage, wholeNumber } from '../output.js';
import { progress } from '../progress.js';

/** A command's outcome as GET /v1/commands/{commandId} answers it. */
export interface CommandOutcome {
  readonly commandId: string;
  readonly status: 'queued' | 'applied' | 'rejected';
  readonly code?: string;
  readonly message?: string;
  readonly version?: number;
  readonly entityType?: string;
  readonly entityId?: string;
}

/**
 * `gamekeep player|events|status|send`: what `npm run cli` did by reading the table, now through the API (reads as
 * an operator; `send` as a game service, which is who sends server-authoritative commands).
 */
export function playerVerbs(program: Command): void {
  program
    .command('player <playerId>')
    .description("a player's view and version")
    .addOption(
      new Option('--min-version <n>', 'never an older version (409 until reached)').argParser(
        wholeNumber('--min-version', 0, 9_999_999_999),
      ),
    )
    .action(
      verb(async (ctx, playerId: string, options: { minVersion?: number }) => {
        const answer = await ctx
          .api()
          .request('GET', `/v1/players/${encodeURIComponent(playerId)}`, { query: { minVersion: options.minVersion } });
        const view = accepted(answer, 200) as Record<string, unknown>;
        ctx.out.result(view, () => [
          `player ${playerId} at version ${String(view.version)}${answer.headers.get('x-cache') ? ` (from the ${answer.headers.get('x-cache')})` : ''}`,
          ...columns(
            Object.entries(view)
              .filter(([k]) => k !== 'playerId' && k !== 'version')
              .map(([k, v]) => [`  ${k}`, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]),
          ),
        ]);
      }),
    );

  program
    .command('events <playerId> [afterVersion] [limit]')
    .description("a page of a player's audit trail (versions after afterVersion, default 0; limit default 20)")
    .option('--all', 'every page to the end')
    .action(
      verb(
        async (
          ctx,
          playerId: string,
          afterText: string | undefined,
          limitText: string | undefined,
          o: { all?: boolean },
        ) => {
          let after = wholeNumber('afterVersion', 0, 9_999_999_999)(afterText ?? '0');
          const limit = wholeNumber('limit', 1, 500)(limitText ?? (o.all ? '500' : '20'));
          const path = `/v1/players/${encodeURIComponent(playerId)}/events`;
          const items: EventPageItem[] = [];
          let next: number | null = null;
          const bar = o.all ? progress(ctx.out, 'versions') : undefined;
          try {
            if (bar) {
              const view = accepted(await ctx.api().request('GET', `/v1/players/${encodeURIComponent(playerId)}`), 200);
              bar.start(Math.max(0, Number(view.version) - after));
            }
            do {
              const page = accepted(
                await ctx.api().request('GET', path, { query: { afterVersion: after, limit } }),
                200,
              ) as {
                items: EventPageItem[];
                nextAfterVersion: number | null;
              };
              items.push(...page.items);
              next = page.nextAfterVersion;
              bar?.update(items.length);
              if (next !== null) after = next;
            } while (o.all && next !== null);
          } finally {
            bar?.stop();
          }
          const answer = { playerId, items, nextAfterVersion: next };
          ctx.out.result(answer, () => [
            `${items.length} version${items.length === 1 ? '' : 's'} of player ${playerId}${next !== null ? ` (more: gamekeep events ${playerId} ${next})` : ''}`,
            ...columns(
              items.map((i) => [
                `  v${i.version}`,
                i.committedAt,
                i.commandType,
                `${i.source.kind}:${i.source.actor}`,
                i.events.map((e) => e.type).join(', '),
              ]),
            ),
          ]);
        },
      ),
    );

  program
    .command('status <commandId>')
    .description("a command's outcome: queued, applied (version) or rejected (code, message)")
    .action(
      verb(async (ctx, commandId: string) => {
        const outcome = accepted(
          await ctx.api().request('GET', `/v1/commands/${encodeURIComponent(commandId)}`),
          200,
        ) as CommandOutcome;
        ctx.out.result(outcome, () => describeOutcome(outcome));
      }),
    );

  program
    .command('send <playerId> <command> [idempotencyKey]')
    .description(
      'send a command (JSON) as a game service; CreatePlayer creates the player. The key (default: random) makes a retry the same command',
    )
    .addOption(
      new Option('--wait <seconds>', 'answer with the outcome once known (Prefer: wait, 0-10)').argParser(
        wholeNumber('--wait', 0, 10),
      ),
    )
    .action(
      verb(async (ctx, playerId: string, json: string, key: string | undefined, o: { wait?: number }) => {
        let command: { type?: unknown; name?: unknown } & Record<string, unknown>;
        try {
          command = JSON.parse(json) as typeof command;
        } catch {
          throw usage(`the command must be JSON, like '{"type":"AddExperience","amount":100,"source":"quest"}'`);
        }
        if (typeof command !== 'object' || command === null || typeof command.type !== 'string')
          throw usage('the command must be a JSON object with a "type"');
        const headers = {
          'idempotency-key': key ?? randomUUID(),
          ...(o.wait !== undefined ? { prefer: `wait=${o.wait}` } : {}),
        };
        const { type, ...fields } = command;
        const answer =
          type === 'CreatePlayer'
            ? await ctx.api().request('POST', '/v1/players', { as: 'service', headers, body: { playerId, ...fields } })
            : await ctx.api().request('POST', `/v1/players/${encodeURIComponent(playerId)}/commands`, {
                as: 'service',
                headers,
                body: command,
              });
        const outcome = accepted(answer, 200, 202) as CommandOutcome;
        ctx.out.result(outcome, () => describeOutcome(outcome));
      }),
    );
}

interface EventPageItem {
  readonly version: number;
  readonly commandId: string;
  readonly commandType: string;
  readonly events: readonly { type: string }[];
  readonly source: { kind: string; actor: string };
  readonly committedAt: string;
}

export function describeOutcome(o: CommandOutcome): string {
  const where = o.entityId ? ` (${o.entityType ?? 'player'} ${o.entityId})` : '';
  switch (o.status) {
    case 'queued':
      return `${o.commandId} queued: no outcome yet (gamekeep status ${o.commandId})`;
    case 'applied':
      return `${o.commandId} applied at version ${o.version}${where}`;
    case 'rejected':
      return `${o.commandId} rejected ${o.code}: ${o.message}${where}`;
  }
}

/** Polls a command's outcome for up to `seconds`; the last answer (perhaps still queued). */
export async function waitForOutcome(ctx: VerbContext, commandId: string, seconds: number): Promise<CommandOutcome> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const outcome = accepted(await ctx.api().request('GET', `/v1/commands/${commandId}`), 200) as CommandOutcome;
    if (outcome.status !== 'queued' || Date.now() >= until) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
