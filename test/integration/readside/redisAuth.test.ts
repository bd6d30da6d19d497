import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type LocalRedis } from '../../../local/redis.js';
import { lambdaContext } from '../../../local/lambdaContext.js';
import type { ProvisionedResources } from '../../../local/stack.js';
import { createCommandProcessorHandler } from '../../../functions/command-processor/handler.js';
import { readSide, redisReady, type ReadSide } from '../../../shared/readside/index.js';
import { eventStore } from '../../../shared/gamekeep.js';
import { provisionTestStack } from '../../support/stack.js';
import { playerCommand, sqsEvent, sqsRecord } from '../../support/pipeline.js';

/** The deployed cache requires a user and password (from Secrets Manager); the client connects once it has them. */
let redis: LocalRedis;
let stack: ProvisionedResources;
const sides: ReadSide[] = [];
const PASSWORD = 'a-long-cache-password-for-tests';

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  stack = await provisionTestStack();
  const handler = createCommandProcessorHandler(stack.config);
  await handler(
    sqsEvent([sqsRecord(playerCommand('auth-1', { type: 'CreatePlayer', name: 'Auth One' }))]),
    lambdaContext('command-processor'),
  );
});

afterAll(async () => {
  await Promise.all(sides.map((s) => s.close()));
  await redis.stop();
});

function side(credentials?: () => Promise<{ password: string }>): ReadSide {
  const config = { ...stack.config, redisUrl: redis.url };
  const s = readSide(config, { store: eventStore(config), ...(credentials ? { redisCredentials: credentials } : {}) });
  sides.push(s);
  return s;
}

describe('an authenticated cache', () => {
  it('serves reads from the cache once the client has its credentials', async () => {
    let asked = 0;
    const s = side(async () => {
      asked++;
      return { password: PASSWORD };
    });
    expect(await redisReady(s.redis, 5000)).toBe(true);
    expect((await s.readPlayerView('auth-1')).status).toBe('found');
    const second = await s.readPlayerView('auth-1');
    expect(second).toMatchObject({ status: 'found', source: 'cache' });
    expect(asked).toBe(1);
  });

  it('keeps answering from DynamoDB, and counts it, while the credentials are wrong', async () => {
    const s = side(async () => ({ password: 'not-the-password-at-all' }));
    for (let i = 0; i < 3; i++)
      expect(await s.readPlayerView('auth-1')).toMatchObject({ status: 'found', source: 'table' });
    expect(s.cacheStats().hits).toBe(0);
    expect(s.cacheStats().tableReads).toBeGreaterThanOrEqual(3);
  });
});
