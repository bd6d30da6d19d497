import { randomUUID } from 'node:crypto';
import { startFauxqs } from 'fauxqs';
import { inject } from 'vitest';
import { attachLocalStack, type ProvisionedResources } from '../../local/stack.js';

export interface RestartableQueue {
  /** A fresh table on the shared DynamoDB Local, and the FIFO command queue and DLQ on this harness's own emulator. */
  readonly resources: ProvisionedResources;
  /** Stops the emulator: every queued message and every deduplication id it remembered is lost. */
  kill(): Promise<void>;
  /** Starts the emulator again on the same port with the same queues (empty), so the queue URLs in `resources` stay valid. */
  restart(): Promise<void>;
  /** Stops the emulator for good (also after a kill). */
  stop(): Promise<void>;
}

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;

/** An SQS emulator of its own that a test can kill and bring back, as a crash of the local stack would. */
export async function startRestartableQueue(
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<RestartableQueue> {
  const suffix = randomUUID().slice(0, 8);
  const names = { tableName: `t-${suffix}`, queueName: `q-${suffix}`, stream: false, ...options };
  let server: Fauxqs | undefined = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
  const { port, address } = server;
  // The table already exists on a restart; the queues are created again under the same names and URLs.
  const provision = async (): Promise<ProvisionedResources> => {
    const { config, commandQueue, deadLetterQueue } = await attachLocalStack(
      inject('dynamoDbEndpoint'),
      address,
      names,
    );
    return { config, commandQueue, deadLetterQueue };
  };
  let resources: ProvisionedResources;
  try {
    resources = await provision();
  } catch (error) {
    await server.stop();
    throw error;
  }

  const kill = async (): Promise<void> => {
    const running = server;
    server = undefined;
    await running?.stop();
  };
  return {
    resources,
    kill,
    async restart() {
      if (server) throw new Error('the queue emulator is running: kill() it first');
      server = await startFauxqs({ port, logger: false, host: '127.0.0.1' });
      const again = await provision();
      if (
        again.commandQueue.url !== resources.commandQueue.url ||
        again.deadLetterQueue.url !== resources.deadLetterQueue.url
      )
        throw new Error(`the restarted emulator names its queues differently: ${again.commandQueue.url}`);
    },
    stop: kill,
  };
}
