import { randomBytes } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../../shared/config.js';
import { dynamoDbClient } from '../../../shared/clients.js';
import { eventStore, type Clients } from '../../../shared/gamekeep.js';
import type { EventStore } from '../../../shared/persistence/eventStore.js';
import type { ProvisionedResources } from '../../../local/stack.js';
import { readSide, type ReadSide } from '../../../shared/readside/index.js';
import { startCommandPipeline, type CommandPipeline } from '../../../local/commandPipeline.js';
import { localHttpHandlers, mintPlayerToken, startGateway, type LocalGateway } from '../../../local/gateway.js';
import { provisionTestStack } from '../../support/stack.js';

export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

export interface CallOptions {
  /** A bearer token; `service` and `admin` are the local IAM stand-ins. */
  readonly auth?: string;
  readonly body?: unknown;
  /** Sent as is, not JSON-encoded. */
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
}

export interface ApiHarness {
  readonly url: string;
  readonly config: Config;
  readonly stack: ProvisionedResources;
  readonly store: EventStore;
  readonly pipeline: CommandPipeline | undefined;
  /** The API function's read side, when the harness was given a Redis. */
  readonly readSide: ReadSide | undefined;
  readonly service: string;
  readonly admin: string;
  readonly webhookSecrets: Readonly<Record<string, readonly string[]>>;
  player(playerId: string): Promise<string>;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  /** Every item in the test table, for "nothing was written" checks. */
  itemCount(): Promise<number>;
  stop(): Promise<void>;
}

export interface ApiHarnessOptions {
  readonly pipeline?: boolean;
  readonly webhookSecrets?: Record<string, readonly string[]>;
  /** A table and queue to use instead of a fresh pair on the shared stand-ins (a stream table on its own DynamoDB Local). */
  readonly stack?: ProvisionedResources;
  /** With a Redis, player reads go through the read side and leaderboards answer; without, the API reads DynamoDB alone. */
  readonly redisUrl?: string;
  /** Clients the HTTP functions use instead of their own (a real client wrapped with fault injection). */
  readonly clients?: Clients;
  /** Settings laid over the stack's config (the backup bucket and its key, say). */
  readonly config?: Partial<Config>;
}

/** The real gateway on a free port over a fresh table and queue, with the command pipeline running. */
export async function startApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const stack = options.stack ?? (await provisionTestStack());
  const secret = () => randomBytes(24).toString('hex');
  const config: Config = {
    ...stack.config,
    jwtSecret: secret(),
    serviceToken: secret(),
    adminToken: secret(),
    webhookSecrets: options.webhookSecrets ?? { acme: ['acme-secret-1'], stripe: ['whsec_test_secret_1'] },
    redisUrl: options.redisUrl,
    ...options.config,
  };
  // Made here rather than by the API function, so that stop() can close its connection.
  const side = config.redisUrl ? readSide(config, { store: eventStore(config) }) : undefined;
  const gateway: LocalGateway = await startGateway({
    handlers: localHttpHandlers(config, { ...options.clients, ...(side ? { readSide: side } : {}) }),
    jwtSecret: config.jwtSecret!,
    serviceToken: config.serviceToken!,
    adminToken: config.adminToken!,
    port: 0,
  });
  const pipeline =
    options.pipeline === false ? undefined : startCommandPipeline({ ...stack, config }, { concurrency: 2 });
  const db = dynamoDbClient(config);
  const store = eventStore(config);

  return {
    url: gateway.url,
    config,
    stack,
    store,
    pipeline,
    readSide: side,
    service: config.serviceToken!,
    admin: config.adminToken!,
    webhookSecrets: config.webhookSecrets,
    player: (playerId) => mintPlayerToken(config.jwtSecret!, playerId),
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.auth) headers.authorization = `Bearer ${o.auth}`;
      let body: string | Buffer | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(`${gateway.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async itemCount() {
      let count = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new ScanCommand({
            TableName: config.tableName,
            Select: 'COUNT',
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        count += out.Count ?? 0;
        start = out.LastEvaluatedKey;
      } while (start);
      return count;
    },
    async stop() {
      await pipeline?.stop();
      await gateway.stop();
      await side?.close();
      db.destroy();
    },
  };
}

/** Waits until a command has an outcome (applied or rejected). */
export async function outcomeOf(h: ApiHarness, commandId: string, auth: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const r = await h.call('GET', `/v1/commands/${commandId}`, { auth });
    if (r.body?.status && r.body.status !== 'queued') return r.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`command ${commandId} has no outcome`);
}
