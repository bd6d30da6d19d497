import { Aws, type CfnResource } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ENTITY_INDEX, TABLE_KEY } from '../../shared/persistence/tableDefinition.js';
import { AUDIT_INDEXES, AUDIT_PROJECTED, AUDIT_SORT_KEY } from '../../shared/persistence/auditLog.js';
import { acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** Table item actions, by what a caller may do. Transactions are authorized per contained action. No role may Scan. */
export const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
/** Listing the entities of a type: a Query of the sparse entity index (shared/engine/queries.ts `listEntityIds`). */
export const ENTITY_LISTING = ['dynamodb:Query'] as const;
export const TABLE_COMMIT = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'] as const;
/** Reading the audit: Query on its three indexes (shared/persistence/auditLog.ts), never on the table itself. */
export const AUDIT_READ = ['dynamodb:Query'] as const;

/**
 * CloudFormation adds at most one global secondary index to a table per deployment. A stack deployed before the
 * audit indexes gets them in three deployments: `-c gamekeep:auditIndexes=1`, then `=2`, then without it (all).
 */
export const AUDIT_INDEXES_CONTEXT = 'gamekeep:auditIndexes';

/** Key use a table reader/writer needs, as TableV2 grants would give with a customer-managed key. */
const KEY_DECRYPT = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_ENCRYPT = ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/**
 * The single table of DESIGN.md section 3 and its customer-managed key. The logical ids are pinned to the
 * ones the first deployed stack (CoreStack) used: moving the table into a construct must never replace it.
 */
export class GameTable extends Construct {
  /** What the functions, grants and backup use: the stack's table, or the restored one by name during a restore. */
  readonly table: dynamodb.ITableV2;
  /** The table's key. The table's `encryptionKey` is unset (see the override), so grants go through `grant*` below. */
  readonly key: kms.Key;
  /** False only during a restore (the restored table has no stream until the final deploy re-attaches it). */
  readonly hasStream: boolean;

  constructor(scope: Construct, id: string, settings: StageSettings) {
    super(scope, id);
    const restore = settings.tableRestore;

    // The key must live exactly as long as the table: a retained table with a deleted key is unreadable.
    this.key = new kms.Key(this, 'TableKey', {
      description: `Gamekeep ${settings.stage}: table encryption`,
      enableKeyRotation: true,
      removalPolicy: settings.statefulRemovalPolicy,
    });
    (this.key.node.defaultChild as CfnResource).overrideLogicalId('TableKeyF581D96F');

    if (restore?.phase === 'detach') {
      // The old table leaves the stack (retained in prod); everything else points at the restored table.
      this.table = dynamodb.TableV2.fromTableName(this, 'RestoredTable', restore.tableName);
      this.hasStream = false;
      return;
    }

    // `import` declares the restored table exactly as PITR created it, so `cdk import` can adopt it.
    const asRestored = restore?.phase === 'import';
    const table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      // A restore keeps the table's indexes (PITR and AWS Backup restore them by default), so `import` declares it too.
      globalSecondaryIndexes: [
        {
          indexName: ENTITY_INDEX.name,
          partitionKey: { name: ENTITY_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: ENTITY_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.KEYS_ONLY,
        },
        // The audit: sparse (only command records carry the keys), with the listing fields, one write unit each.
        ...Object.values(AUDIT_INDEXES)
          .slice(0, auditIndexCount(this))
          .map((index) => ({
            indexName: index.name,
            partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
            sortKey: { name: AUDIT_SORT_KEY, type: dynamodb.AttributeType.STRING },
            projectionType: dynamodb.ProjectionType.INCLUDE,
            nonKeyAttributes: [...AUDIT_PROJECTED],
          })),
      ],
      ...(asRestored
        ? {}
        : {
            timeToLiveAttribute: TABLE_KEY.ttlAttribute,
            dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 35 },
            deletionProtection: settings.isProd,
          }),
      // TableEncryptionV2.customerManagedKey(key) cannot render in a region-agnostic stack (it throws
      // ReplicaSpecificationCannotRenderedRegion): ask for KMS here and point the only replica at our key below.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy: settings.statefulRemovalPolicy,
    });
    const cfnTable = table.node.defaultChild as dynamodb.CfnGlobalTable;
    cfnTable.overrideLogicalId('TableCD117FA1');
    // Same template customerManagedKey(key) produces for the deployment region's replica.
    cfnTable.addPropertyOverride('Replicas.0.SSESpecification.KMSMasterKeyId', this.key.keyArn);

    // While importing, nothing may change but the adopted table: references keep using the name, as in `detach`.
    this.table = asRestored ? dynamodb.TableV2.fromTableName(this, 'RestoredTable', restore.tableName) : table;
    this.hasStream = !asRestored;
  }

  /**
   * Item actions on the table, optionally only on items whose partition key matches one of `leadingKeys`
   * (IAM `dynamodb:LeadingKeys`, e.g. `UNMATCHED#*`), plus the key use DynamoDB makes on the caller's behalf.
   */
  grantItems(grantee: iam.IGrantable, actions: readonly string[], leadingKeys?: readonly string[]): void {
    this.grant(grantee, actions, this.table.tableArn, leadingKeys);
  }

  /** Listing entities (players) through the sparse entity index: Query on the index only, never a Scan of the table. */
  grantEntityListing(grantee: iam.IGrantable): void {
    this.grant(grantee, ENTITY_LISTING, `${this.table.tableArn}/index/${ENTITY_INDEX.name}`);
  }

  private grant(
    grantee: iam.IGrantable,
    actions: readonly string[],
    resource: string,
    leadingKeys?: readonly string[],
  ): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: [resource],
        ...(leadingKeys
          ? { conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...leadingKeys] } } }
          : {}),
      }),
    );
    const writes = actions.some((a) => !(TABLE_READ as readonly string[]).includes(a));
    if (writes && Construct.isConstruct(grantee)) {
      acknowledge(grantee, {
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
          'Table key use, on the table key only and only through DynamoDB (kms:ViaService condition).',
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]':
          'Table key use, on the table key only and only through DynamoDB (kms:ViaService condition).',
      });
    }
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: writes ? [...KEY_DECRYPT, ...KEY_ENCRYPT] : KEY_DECRYPT,
        resources: [this.key.keyArn],
        // Only through DynamoDB: the role cannot use the key directly.
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }

  /** Reading the audit: Query on the audit indexes only. */
  grantAuditRead(grantee: iam.IGrantable): void {
    for (const index of Object.values(AUDIT_INDEXES))
      this.grant(grantee, AUDIT_READ, `${this.table.tableArn}/index/${index.name}`);
  }

  /** Stream records are decrypted with the table key by the stream consumer itself (no kms:ViaService). */
  grantStreamDecrypt(grantee: iam.IGrantable): void {
    this.key.grant(grantee, ...KEY_DECRYPT);
  }
}

/** How many of the audit indexes the table declares: all, unless a stack is being brought to them one by one. */
function auditIndexCount(scope: Construct): number {
  const all = Object.keys(AUDIT_INDEXES).length;
  const asked = scope.node.tryGetContext(AUDIT_INDEXES_CONTEXT) as string | number | undefined;
  if (asked === undefined) return all;
  const count = Number(asked);
  if (!Number.isInteger(count) || count < 0 || count > all)
    throw new Error(`${AUDIT_INDEXES_CONTEXT} must be an integer from 0 to ${all}, got ${String(asked)}`);
  return count;
}
