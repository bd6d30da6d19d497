import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { AUDIT_INDEXES_CONTEXT, GameTable } from '../../lib/constructs/gameTable.js';
import { stageSettings } from '../../lib/stage.js';
import { auditIndexDefinitions } from '../../shared/persistence/auditLog.js';
import { createTableInput } from '../../shared/persistence/tableDefinition.js';

/** The table construct alone: its indexes are the local table's (same names, keys, projection), and the audit's grant. */
const cdkContext = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context?: Record<string, unknown> }).context;

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkContext, stage: 'dev', ...context } });
  const stack = new Stack(app, 'T');
  const table = new GameTable(stack, 'Game', stageSettings(app.node));
  const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  table.grantAuditRead(reader);
  const template = Template.fromStack(stack).toJSON();
  const [cfnTable] = Object.values(template.Resources as Record<string, any>).filter(
    (r) => r.Type === 'AWS::DynamoDB::GlobalTable',
  );
  return { template, table: cfnTable!.Properties };
}

describe('GameTable', () => {
  it('declares the audit indexes exactly as the local table does: sparse keys, the listing fields projected', () => {
    const { table } = synth();
    const local = createTableInput('t').GlobalSecondaryIndexes!;
    const declared = (table.GlobalSecondaryIndexes as any[]).map((i) => ({
      IndexName: i.IndexName,
      KeySchema: i.KeySchema,
      Projection: i.Projection,
    }));
    expect(declared).toEqual(
      local.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection })),
    );
    expect(declared.map((i) => i.IndexName)).toEqual(['entities', 'audit-actor', 'audit-source', 'audit-entity']);
    for (const index of auditIndexDefinitions)
      expect(declared.find((i) => i.IndexName === index.IndexName)!.Projection).toEqual({
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: index.Projection!.NonKeyAttributes,
      });
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  it('adds them one deployment at a time when asked, as CloudFormation requires for a table that exists', () => {
    const names = (context: Record<string, unknown>) =>
      (synth(context).table.GlobalSecondaryIndexes as any[]).map((i) => i.IndexName);
    expect(names({ [AUDIT_INDEXES_CONTEXT]: '0' })).toEqual(['entities']);
    expect(names({ [AUDIT_INDEXES_CONTEXT]: '1' })).toEqual(['entities', 'audit-actor']);
    expect(names({ [AUDIT_INDEXES_CONTEXT]: 2 })).toEqual(['entities', 'audit-actor', 'audit-source']);
    expect(() => synth({ [AUDIT_INDEXES_CONTEXT]: '4' })).toThrow(/from 0 to 3/);
  });

  it('grants audit readers Query on the audit indexes only, never on the table or another index', () => {
    const { template } = synth();
    const statements = Object.values(template.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
    const queries = statements.filter((s) => [s.Action].flat().includes('dynamodb:Query'));
    // Policies are minimized: one statement may list the three indexes.
    for (const s of queries) expect([s.Action].flat()).toEqual(['dynamodb:Query']);
    const resources = queries.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(3);
    for (const name of ['audit-actor', 'audit-source', 'audit-entity'])
      expect(resources.filter((r) => r.includes(`/index/${name}`))).toHaveLength(1);
    expect(statements.some((s) => [s.Action].flat().some((a: string) => /Scan|PutItem|GetItem/.test(a)))).toBe(false);
  });
});
