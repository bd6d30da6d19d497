import { beforeAll, describe, expect, it } from 'vitest';
import { all, synthStage, type Resource, type SynthesizedStage } from './synthStage.js';
import { FUNCTIONS } from '../../lib/constructs/gameFunctions.js';
import { AUDIT_INDEXES } from '../../shared/persistence/auditLog.js';

/**
 * The point-in-time restore runbook (docs/operations.md): `detach` drops the old table from the stack,
 * `import` adds the restored one as PITR created it and changes nothing else (CloudFormation import refuses
 * other changes), and the normal template afterwards re-attaches stream, TTL, PITR and the projector.
 */
describe('table restore phases', () => {
  const RESTORED = 'gamekeep-dev-restored-20261124';
  let detach: SynthesizedStage;
  let adopt: SynthesizedStage;

  beforeAll(() => {
    detach = synthStage('dev', { restoreTableName: RESTORED, restorePhase: 'detach' });
    adopt = synthStage('dev', { restoreTableName: RESTORED, restorePhase: 'import' });
  });

  /** The template's resources; bundle hashes are blanked (sources edited between the two syntheses are not a template change here). */
  const resources = (s: SynthesizedStage) =>
    JSON.parse(
      JSON.stringify(s.template.toJSON().Resources).replace(/"S3Key":"[0-9a-f]{64}\.zip"/g, '"S3Key":"<bundle>"'),
    ) as Record<string, Resource>;

  it('detach: no table in the stack; the functions use the restored table by name; no stream consumer', () => {
    expect(all(detach.template, 'AWS::DynamoDB::GlobalTable')).toEqual([]);
    for (const [, fn] of all(detach.template, 'AWS::Lambda::Function', {
      Environment: { Variables: { GAMEKEEP_TABLE: RESTORED } },
    })) {
      expect(fn.Properties.Environment.Variables.GAMEKEEP_TABLE).toBe(RESTORED);
    }
    expect(
      all(detach.template, 'AWS::Lambda::Function').filter(
        ([, f]) => f.Properties.Environment?.Variables?.GAMEKEEP_TABLE !== undefined,
      ),
    ).toHaveLength(Object.keys(FUNCTIONS).length);
    expect(all(detach.template, 'AWS::Lambda::EventSourceMapping')).toHaveLength(1); // the command queue only
  });

  it('import: adds exactly the table, under its original logical id, as restored (its entity index, but no stream, TTL, PITR, protection or tags), encrypted with the table key', () => {
    const before = resources(detach);
    const after = resources(adopt);
    const added = Object.keys(after).filter((id) => !(id in before));
    expect(added).toEqual(['TableCD117FA1']);
    for (const id of Object.keys(before)) expect(after[id], id).toEqual(before[id]);
    const table = after.TableCD117FA1!;
    expect(table.Properties.StreamSpecification).toBeUndefined();
    expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(table.Properties.Replicas[0].PointInTimeRecoverySpecification).toBeUndefined();
    expect(table.Properties.Replicas[0].Tags).toBeUndefined(); // re-added by the deploy after the import
    expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBeUndefined();
    expect(table.Properties.Replicas[0].SSESpecification).toEqual({
      KMSMasterKeyId: { 'Fn::GetAtt': ['TableKeyF581D96F', 'Arn'] },
    });
    // PITR and AWS Backup restore the table's indexes: the entity index and the audit's are part of the table as
    // restored.
    expect(table.Properties.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName)).toEqual([
      'entities',
      ...Object.values(AUDIT_INDEXES).map((i) => i.name),
    ]);
    expect(table.DeletionPolicy).toBeDefined(); // CloudFormation imports only resources with a DeletionPolicy
  });
});
