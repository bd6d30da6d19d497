import { type Command, Option } from 'commander';
import type { z } from 'zod';
import type { deadLetterAnswer } from '../../shared/http/schemas.js';
import { ApiRefusal, accepted } from '../api.js';
import { verb } from '../context.js';
import { CliFailure, columns, usage, wholeNumber } from '../output.js';
import { waitForOutcome } from './players.js';

type DeadLetterView = z.infer<typeof deadLetterAnswer>;

/**
 * `gamekeep dlq list|replay|discard`: the command dead-letter queue through the operators' routes
 * (`/v1/admin/dead-letters`). A replay restores per-player order: a dead letter whose player moved on since is
 * shown as such and replayed only with --force, a reason and a ticket.
 */
export function deadLetterVerbs(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('the command dead-letter queue: list, replay, discard')
    .addHelpText('after', '\nA look at the queue consumes nothing (docs/operations.md, "The gamekeep CLI").');

  dlq
    .command('list')
    .description("what the DLQ holds (every FIFO group's first message), with each player's progress since")
    .addOption(new Option('--limit <n>', 'at most this many (1-100)').argParser(wholeNumber('--limit', 1, 100)))
    .action(
      verb(async (ctx, options: { limit?: number }) => {
        const page = accepted(
          await ctx.api().request('GET', '/v1/admin/dead-letters', { query: { limit: options.limit } }),
          200,
        ) as { items: DeadLetterView[]; complete: boolean; approximateCount: number };
        ctx.out.result(page, () => listing(page));
      }),
    );

  dlq
    .command('replay <messageId>')
    .description('send a dead letter back to the command queue (applied at most once: its own command id)')
    .option('--force', 'replay even though its player moved on since (needs --reason and --ticket)')
    .option('--reason <text>', 'why (recorded)')
    .option('--ticket <id>', 'the ticket it is done under (recorded)')
    .addOption(
      new Option('--wait <seconds>', 'wait up to this long for the outcome').argParser(wholeNumber('--wait', 1, 300)),
    )
    .action(
      verb(
        async (
          ctx,
          messageId: string,
          options: { force?: boolean; reason?: string; ticket?: string; wait?: number },
        ) => {
          if (options.force && (!options.reason || !options.ticket))
            throw usage('--force needs --reason and --ticket: a forced replay is recorded with both');
          const body = {
            ...(options.force ? { force: true } : {}),
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.ticket ? { ticket: options.ticket } : {}),
          };
          const answer = await ctx
            .api()
            .request('POST', `/v1/admin/dead-letters/${encodeURIComponent(messageId)}/replay`, { body });
          let replay: { messageId: string; commandId: string; forced: boolean; entity: { version: number } };
          try {
            replay = accepted(answer, 202);
          } catch (error) {
            if (error instanceof ApiRefusal && error.code.endsWith('_MOVED_ON'))
              throw new CliFailure(
                error.message,
                1,
                error.code,
                `to replay it anyway: gamekeep dlq replay ${messageId} --force --reason "<why>" --ticket <ticket>`,
              );
            throw error;
          }
          const outcome = options.wait ? await waitForOutcome(ctx, replay.commandId, options.wait) : undefined;
          ctx.out.result(outcome ? { ...replay, outcome } : replay, () => [
            `replayed ${replay.messageId} as command ${replay.commandId}${replay.forced ? ' (forced)' : ''}: queued`,
            ...(outcome
              ? [
                  `  ${outcome.status}${outcome.version !== undefined ? ` at version ${outcome.version}` : ''}${outcome.code ? ` ${outcome.code}: ${outcome.message}` : ''}`,
                ]
              : [`  its outcome: gamekeep status ${replay.commandId}`]),
          ]);
        },
      ),
    );

  dlq
    .command('discard <messageId>')
    .description('delete a dead letter; its body, your reason and ticket are kept in an audit item')
    .requiredOption('--reason <text>', 'why it must not be applied (recorded)')
    .requiredOption('--ticket <id>', 'the ticket it is done under (recorded)')
    .action(
      verb(async (ctx, messageId: string, options: { reason: string; ticket: string }) => {
        const discarded = accepted(
          await ctx.api().request('POST', `/v1/admin/dead-letters/${encodeURIComponent(messageId)}/discard`, {
            body: { reason: options.reason, ticket: options.ticket },
          }),
          200,
        ) as { messageId: string; audit: { pk: string; sk: string; operator: string; at: string } };
        ctx.out.result(discarded, () => [
          `discarded ${discarded.messageId}: recorded as ${discarded.audit.pk} / ${discarded.audit.sk} (by ${discarded.audit.operator} at ${discarded.audit.at})`,
        ]);
      }),
    );
}

function listing(page: { items: DeadLetterView[]; complete: boolean; approximateCount: number }): string[] {
  const head = `${page.items.length} dead letter${page.items.length === 1 ? '' : 's'} listed, about ${page.approximateCount} in the queue${
    page.complete ? '' : ' (stopped at --limit)'
  }${page.approximateCount > page.items.length && page.complete ? ': the rest wait behind the first of their player' : ''}`;
  const rows = page.items.map((d) => [
    d.messageId,
    d.envelope ? `${d.envelope.entityType} ${d.envelope.entityId}` : '(not an envelope)',
    d.envelope ? `${d.envelope.commandType} ${d.envelope.commandId}` : (d.reason ?? ''),
    d.envelope ? `issued ${d.envelope.issuedAt}` : '',
    `received ${d.receiveCount}x`,
  ]);
  const lines = [head];
  const table = columns(rows);
  page.items.forEach((d, i) => {
    lines.push(`  ${table[i]}`);
    for (const note of notes(d)) lines.push(`      ${note}`);
  });
  return lines;
}

function notes(d: DeadLetterView): string[] {
  const out: string[] = [];
  if (!d.envelope) {
    out.push(`body: ${JSON.stringify(d.bodyPreview.slice(0, 120))}`);
    out.push('cannot be replayed: fix the producer, then discard it');
    return out;
  }
  if (d.reason) out.push(`reason: ${d.reason}`);
  if (d.commandOutcome) out.push(`its command was ${d.commandOutcome} already: a replay changes nothing`);
  if (d.entity?.movedOn)
    out.push(
      `${d.envelope.entityType} is at version ${d.entity.version} and moved on since: replay needs --force --reason --ticket`,
    );
  else if (d.entity) out.push(`${d.envelope.entityType} at version ${d.entity.version}, not moved on since`);
  else out.push(`unknown entity type ${d.envelope.entityType}: cannot be replayed here`);
  if (!d.firstInGroup) out.push('an earlier dead letter of the same player goes first');
  return out;
}
