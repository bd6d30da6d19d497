import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { stageSettings } from '../../lib/stage.js';
import { loadConfig } from '../../shared/config.js';

/** Stage settings read from the CDK context, without a synth: what a bad value does to a deploy, before it starts. */
const cdkContext = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context?: Record<string, unknown> }).context;
const settings = (context: Record<string, unknown>) =>
  stageSettings(new App({ context: { ...cdkContext, stage: 'dev', ...context } }).node);

describe('the audit retention setting (issue 13)', () => {
  it('is absent by default (the defaults of shared/persistence/auditLog.ts apply)', () => {
    expect(settings({}).auditRetention).toBeUndefined();
  });

  it('carries kind=days pairs to the processor as the config reads them', () => {
    const s = settings({ auditRetentionDays: 'operator=3650,client=7' });
    expect(s.auditRetention).toBe('operator=3650,client=7');
    expect(loadConfig({ GAMEKEEP_AUDIT_RETENTION_DAYS: s.auditRetention }).auditRetentionDays).toEqual({
      operator: 3650,
      client: 7,
    });
  });

  it('refuses a value the functions could not read, at synth time', () => {
    expect(() => settings({ auditRetentionDays: 'players=30' })).toThrow(/auditRetentionDays "players=30"/);
    expect(() => settings({ auditRetentionDays: 'operator=forever' })).toThrow(/auditRetentionDays/);
  });
});
