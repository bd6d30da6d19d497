import { describe, expect, it } from 'vitest';
import { configEnvironment, loadConfig } from '../../../shared/config.js';

describe('config', () => {
  it('round-trips the environment the local runtime hands a child process, emulator URLs included', () => {
    const env = {
      GAMEKEEP_TABLE: 'gamekeep',
      GAMEKEEP_QUEUE_URL: 'http://sqs.us-east-1.127.0.0.1:45231/000000000000/commands.fifo',
      GAMEKEEP_DLQ_URL: 'http://sqs.us-east-1.127.0.0.1:45231/000000000000/commands-dlq.fifo',
      GAMEKEEP_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      GAMEKEEP_SQS_ENDPOINT: 'http://127.0.0.1:45231',
      REDIS_URL: 'redis://127.0.0.1:6390',
      GAMEKEEP_WEBHOOK_SECRET_ACME: 'one-secret-long-enough,two-secret-long-enough',
    };
    const config = loadConfig(env);
    expect(config.queueUrl).toBe(env.GAMEKEEP_QUEUE_URL);
    expect(config.webhookSecrets).toEqual({ acme: ['one-secret-long-enough', 'two-secret-long-enough'] });
    expect(loadConfig(configEnvironment(config))).toEqual(config);
  });

  it('refuses what is not a URL', () => {
    expect(() => loadConfig({ GAMEKEEP_QUEUE_URL: 'not a url' })).toThrow();
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow();
  });
});
