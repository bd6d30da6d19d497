import { beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionedResources } from '../../local/stack.js';
import { lambdaContext } from '../../local/lambdaContext.js';
import { createCommandProcessorHandler } from '../../functions/command-processor/handler.js';
import { eventStore } from '../../shared/gamekeep.js';
import type { EventStore } from '../../shared/persistence/eventStore.js';
import { commandPk, entityPk, reusedCommandSk, STATE_SK, type StateItem } from '../../shared/persistence/tableLayout.js';
import { payloadHashOf } from '../../shared/engine/envelope.js';
import { evolve, initialPlayerState, type PlayerEvent, type PlayerState } from '../../shared/domain/player/index.js';
import { provisionTestStack } from '../support/stack.js';
import { playerCommand, sqsEvent, sqsRecord } from '../support/pipeline.js';

let stack: ProvisionedResources;
let store: EventStore;
let handle: (records: ReturnType<typeof sqsRecord>[]) => Promise<string[]>;

beforeAll(async () => {
  stack = await provisionTestStack();
  store = eventStore(stack.config);
  const handler = createCommandProcessorHandler(stack.config);
  handle = async (records) => {
    const out = await handler(sqsEvent(records), lambdaContext('command-processor'));
    return out.batchItemFailures.map((f) => f.itemIdentifier);
  };
});

async function stateOf(playerId: string): Promise<StateItem<PlayerState> | undefined> {
  return store.item<StateItem<PlayerState>>({ pk: entityPk('P', playerId), sk: STATE_SK });
}

async function foldOf(playerId: string): Promise<{ state: PlayerState; versions: number[] }> {
  const events = await store.allEvents<PlayerEvent>(entityPk('P', playerId));
  return { state: events.flatMap((e) => e.events).reduce(evolve, initialPlayerState()), versions: events.map((e) => e.version) };
}

describe('command processing', () => {
  it('applies a player life cycle and keeps state equal to the fold of its events', async () => {
    const id = 'life-1';
    const failures = await handle([
      sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Lin Feng' })),
      sqsRecord(playerCommand(id, { type: 'GrantReward', taskId: 'daily:2026-11-24', gold: 50, experience: 250 })),
      sqsRecord(playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 5000, reason: 'shop' })),
      sqsRecord(playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 40, reason: 'shop' })),
    ]);
    expect(failures).toEqual([]);
    const item = await stateOf(id);
    expect(item?.version).toBe(3);
    expect(item?.state.gold).toBe(1000 + 50 - 40);
    expect(item?.state.level).toBe(2);
    const fold = await foldOf(id);
    expect(fold.versions).toEqual([1, 2, 3]);
    expect(fold.state).toEqual(item?.state);
  });

  it('records a domain rejection with its code and changes nothing', async () => {
    const id = 'poor-1';
    await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Poor One' }))]);
    const spend = playerCommand(id, { type: 'SpendCurrency', currency: 'spiritStones', amount: 10, reason: 'shop' });
    expect(await handle([sqsRecord(spend)])).toEqual([]);
    const record = await store.commandRecord(spend.commandId);
    expect(record).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_FUNDS', version: 1 });
    expect((await stateOf(id))?.version).toBe(1);
  });

  it('applies the same command sent three times exactly once', async () => {
    const id = 'dup-1';
    await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Dup One' }))]);
    const grant = playerCommand(id, { type: 'GrantReward', taskId: 'daily:2026-11-25', gold: 7 });
    // Once in one batch, twice more in later batches (redeliveries, re-sends after the dedup window).
    expect(await handle([sqsRecord(grant), sqsRecord(grant)])).toEqual([]);
    expect(await handle([sqsRecord(grant)])).toEqual([]);
    const item = await stateOf(id);
    expect(item?.state.gold).toBe(1007);
    expect(item?.version).toBe(2);
  });

  it('rejects a reused command id with another payload and never applies it', async () => {
    const id = 'reuse-1';
    await handle([sqsRecord(playerCommand(id, { type: 'CreatePlayer', name: 'Reuse One' }))]);
    const first = playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 10, reason: 'shop' }, 'key-1');
    const second = playerCommand(id, { type: 'SpendCurrency', currency: 'gold', amount: 900, reason: 'shop' }, 'key-1');
    expect(second.commandId).toBe(first.commandId);
    expect(await handle([sqsRecord(first)])).toEqual([]);
    expect(await handle([sqsRecord(second)])).toEqual([]);
    const item = await stateOf(id);
    expect(item?.state.gold).toBe(990);
    const reuse = await store.item<{ code: string }>({ pk: commandPk(first.commandId), sk: reusedCommandSk(payloadHashOf(second)) });
    expect(reuse?.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('enforces unique names and a payment credited once, whatever the command id', async () => {
    await handle([sqsRecord(playerCommand('name-a', { type: 'CreatePlayer', name: 'Shared Name' }))]);
    const clash = playerCommand('name-b', { type: 'CreatePlayer', name: '  shared NAME ' });
    await handle([sqsRecord(clash)]);
    expect(await store.commandRecord(clash.commandId)).toMatchObject({ status: 'rejected', code: 'NAME_TAKEN' });
    expect(await stateOf('name-b')).toBeUndefined();

    const pay1 = playerCommand('name-a', { type: 'CreditPurchase', provider: 'stripe', orderId: 'ord-1', sku: 'stones-100' });
    const pay2 = playerCommand('name-a', { type: 'CreditPurchase', provider: 'stripe', orderId: 'ord-1', sku: 'stones-100' });
    await handle([sqsRecord(pay1)]);
    await handle([sqsRecord(pay2)]);
    expect((await stateOf('name-a'))?.state.spiritStones).toBe(100);
    expect(await store.commandRecord(pay2.commandId)).toMatchObject({ status: 'rejected', code: 'ORDER_ALREADY_CREDITED' });
  });
});
