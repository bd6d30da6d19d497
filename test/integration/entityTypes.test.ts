import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ProvisionedResources } from '../../local/stack.js';
import { CommandProcessor } from '../../shared/engine/commandProcessor.js';
import { EntityRegistry } from '../../shared/engine/registry.js';
import { accept, reject } from '../../shared/engine/decision.js';
import { defineEntityType } from '../../shared/engine/entityType.js';
import { commandEnvelope } from '../../shared/engine/envelope.js';
import { checkEntity } from '../../shared/checker/entityCheck.js';
import { entityState } from '../../shared/engine/queries.js';
import { eventStore } from '../../shared/gamekeep.js';
import { player } from '../../shared/domain/player/index.js';
import type { EventStore } from '../../shared/persistence/eventStore.js';
import { entityPk, STATE_SK } from '../../shared/persistence/tableLayout.js';
import { provisionTestStack } from '../support/stack.js';
import { sqsRecord } from '../support/pipeline.js';

/** A second entity type, declared here and nowhere in the engine: a guild with a treasury. */
interface Guild {
  founded: boolean;
  treasury: number;
}
type GuildCommand =
  | { type: 'FoundGuild'; name: string }
  | { type: 'Deposit'; amount: number }
  | { type: 'Withdraw'; amount: number };
type GuildEvent =
  | { type: 'GuildFounded'; name: string }
  | { type: 'Deposited'; amount: number }
  | { type: 'Withdrawn'; amount: number };

const guild = defineEntityType<Guild, GuildCommand, GuildEvent, { maxTreasury: number }>({
  name: 'guild',
  keyPrefix: 'G',
  idPattern: /^[a-z0-9-]{1,32}$/,
  commandSchema: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('FoundGuild'), name: z.string().min(1).max(30) }),
    z.strictObject({ type: z.literal('Deposit'), amount: z.int().positive() }),
    z.strictObject({ type: z.literal('Withdraw'), amount: z.int().positive() }),
  ]),
  config: { maxTreasury: 1_000 },
  initialState: () => ({ founded: false, treasury: 0 }),
  decide: (command, state, ctx) => {
    if (command.type === 'FoundGuild')
      return state.founded
        ? reject('GUILD_EXISTS', 'founded already')
        : accept([{ type: 'GuildFounded', name: command.name }]);
    if (!state.founded) return reject('GUILD_NOT_FOUND', 'no such guild');
    if (command.type === 'Deposit')
      return state.treasury + command.amount > ctx.config.maxTreasury
        ? reject('TREASURY_FULL', 'too much')
        : accept([{ type: 'Deposited', amount: command.amount }]);
    return state.treasury < command.amount
      ? reject('INSUFFICIENT_FUNDS', 'too little')
      : accept([{ type: 'Withdrawn', amount: command.amount }]);
  },
  evolve: (state, event) =>
    event.type === 'GuildFounded'
      ? { ...state, founded: true }
      : { ...state, treasury: state.treasury + (event.type === 'Deposited' ? event.amount : -event.amount) },
  claims: (command) =>
    command.type === 'FoundGuild'
      ? [
          {
            key: `GUILDNAME#${command.name.toLowerCase().replace(/[^a-z0-9]/g, '-')}`,
            kind: 'GUILDNAME',
            conflict: { code: 'GUILD_NAME_TAKEN', message: 'taken' },
          },
        ]
      : [],
  invariants: (state) => (state.treasury < 0 ? [`treasury ${state.treasury}`] : []),
});

let stack: ProvisionedResources;
let store: EventStore;
let processor: CommandProcessor;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  stack = await provisionTestStack();
  store = eventStore(stack.config);
  processor = new CommandProcessor({
    store,
    registry: new EntityRegistry([player, guild]),
    log: silent,
    commandRecordDays: 14,
    maxCommitAttempts: 8,
  });
});

const guildCommand = (id: string, command: GuildCommand, key: string) =>
  commandEnvelope({
    entityType: 'guild',
    entityId: id,
    command,
    source: { kind: 'service', actor: 'test' },
    identity: ['test', id, key],
    issuedAt: new Date('2026-11-24T00:00:00Z'),
  });

describe('a second entity type', () => {
  it('gets exactly-once commits, claims, rejections, queries and the audit from the engine unchanged', async () => {
    const found = guildCommand('azure-lotus', { type: 'FoundGuild', name: 'Azure Lotus' }, 'f');
    const deposit = guildCommand('azure-lotus', { type: 'Deposit', amount: 300 }, 'd');
    const overdraw = guildCommand('azure-lotus', { type: 'Withdraw', amount: 500 }, 'w');
    const clash = guildCommand('other-lotus', { type: 'FoundGuild', name: 'azure lotus' }, 'f');
    const report = await processor.processBatch([found, deposit, deposit, overdraw, clash].map((e) => sqsRecord(e)));
    expect(report.batchItemFailures).toEqual([]);
    expect(report.counts).toMatchObject({ applied: 2, duplicate: 1, rejected: 2 });
    expect(await entityState<Guild>(store, guild, 'azure-lotus')).toEqual({
      version: 2,
      state: { founded: true, treasury: 300 },
    });
    expect((await store.commandRecord(overdraw.commandId))?.code).toBe('INSUFFICIENT_FUNDS');
    expect((await store.commandRecord(clash.commandId))?.code).toBe('GUILD_NAME_TAKEN');
    const items = await store.partition(entityPk('G', 'azure-lotus'));
    expect(items.some((i) => i.sk === STATE_SK)).toBe(true);
    expect(checkEntity(guild, { entityId: 'azure-lotus', items }).findings).toEqual([]);
  });

  it('refuses two types that would share a key prefix', () => {
    expect(() => new EntityRegistry([player, { ...guild, name: 'clan', keyPrefix: 'P' }])).toThrow(/share key prefix/);
  });
});
