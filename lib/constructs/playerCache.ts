import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** Serverless ElastiCache listens on 6379 (primary endpoint) and 6380 (reader endpoint). */
const CACHE_PORTS = ec2.Port.tcpRange(6379, 6380);
/** The cache user the functions authenticate as (RBAC, password from Secrets Manager). */
export const CACHE_USER_NAME = 'gamekeep';

/**
 * A private network without NAT: isolated subnets in two AZs, a gateway endpoint for DynamoDB and interface
 * endpoints for SQS and Secrets Manager. Only the functions that talk to the cache run in it.
 */
export class PrivateNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Attached to every function in the VPC; the cache admits exactly this group. */
  readonly functionSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, settings: StageSettings) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2, // env-agnostic synthesis: two AZs from Fn::GetAZs, no lookup
      natGateways: 0,
      subnetConfiguration: [{ name: 'Private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      flowLogs: {
        Rejected: {
          trafficType: ec2.FlowLogTrafficType.REJECT,
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', {
              retention: settings.logRetention,
              removalPolicy: settings.statefulRemovalPolicy,
            }),
          ),
        },
      },
    });
    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'Gamekeep functions in the VPC (API, projector, leaderboard rebuild)',
      // Isolated subnets have no route out: outbound reaches only the endpoints and the cache.
      allowAllOutbound: true,
    });

    this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });
    // Interface endpoints admit HTTPS from the functions only (not the whole VPC CIDR).
    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Gamekeep interface endpoints (SQS, Secrets Manager)',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(
      this.functionSecurityGroup,
      ec2.Port.tcp(443),
      'HTTPS from the Gamekeep functions',
    );
    for (const [name, service] of [
      ['Sqs', ec2.InterfaceVpcEndpointAwsService.SQS],
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
    ] as const) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [endpointSecurityGroup],
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      });
    }
  }
}

/**
 * The player-view cache and leaderboards (DESIGN.md section 2): ElastiCache Serverless for Valkey, in the
 * private subnets, TLS always on (serverless refuses plaintext), RBAC auth with a password kept in Secrets
 * Manager. Serverless over a replication group: no node sizing or failover to operate, Multi-AZ by default,
 * pay per use for bursty game traffic, and a per-stage ceiling caps the bill (see docs/operations.md).
 */
export class PlayerCache extends Construct {
  readonly cache: elasticache.CfnServerlessCache;
  /** `{"username": "gamekeep", "password": "..."}`; functions read it at cold start. */
  readonly authSecret: secretsmanager.Secret;
  /** `rediss://host:port` without credentials (they come from `authSecret`). */
  readonly url: string;

  constructor(
    scope: Construct,
    id: string,
    props: { readonly settings: StageSettings; readonly network: PrivateNetwork },
  ) {
    super(scope, id);
    const { settings, network } = props;

    this.authSecret = new secretsmanager.Secret(this, 'AuthSecret', {
      description: `Gamekeep ${settings.stage}: cache user credentials`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: CACHE_USER_NAME }),
        generateStringKey: 'password',
        excludePunctuation: true, // the password goes into a URL and an AUTH command unescaped
        passwordLength: 40,
      },
      removalPolicy: settings.statefulRemovalPolicy,
    });
    acknowledge(this.authSecret, {
      'AwsSolutions-SMG4':
        'The cache password is also stored in the ElastiCache user (CloudFormation dynamic reference); rotation is a runbook step (docs/operations.md) that updates both, not a rotation Lambda.',
    });

    // Valkey user groups require a user named "default"; it is disabled so every connection must authenticate.
    const defaultUser = new elasticache.CfnUser(this, 'DisabledDefaultUser', {
      engine: 'valkey',
      userId: `gamekeep-${settings.stage}-default`,
      userName: 'default',
      accessString: 'off -@all',
      noPasswordRequired: true,
    });
    const appUser = new elasticache.CfnUser(this, 'AppUser', {
      engine: 'valkey',
      userId: `gamekeep-${settings.stage}-app`,
      userName: CACHE_USER_NAME,
      // Every key and command: ElastiCache Serverless already refuses the administrative ones.
      accessString: 'on ~* &* +@all',
      authenticationMode: {
        Type: 'password',
        Passwords: [this.authSecret.secretValueFromJson('password').unsafeUnwrap()],
      },
    });
    const userGroup = new elasticache.CfnUserGroup(this, 'UserGroup', {
      engine: 'valkey',
      userGroupId: `gamekeep-${settings.stage}`,
      userIds: [defaultUser.ref, appUser.ref], // Ref = user id; also orders the creation
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: network.vpc,
      description: 'Gamekeep cache: reachable only from the Gamekeep functions',
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(network.functionSecurityGroup, CACHE_PORTS, 'Gamekeep functions');

    this.cache = new elasticache.CfnServerlessCache(this, 'Cache', {
      serverlessCacheName: `gamekeep-${settings.stage}`,
      description: `Gamekeep ${settings.stage}: player views and leaderboards`,
      engine: 'valkey',
      majorEngineVersion: '8',
      userGroupId: userGroup.ref,
      securityGroupIds: [securityGroup.securityGroupId],
      subnetIds: network.vpc.isolatedSubnets.map((s) => s.subnetId),
      cacheUsageLimits: {
        dataStorage: { maximum: settings.cacheLimits.dataStorageGb, unit: 'GB' },
        ecpuPerSecond: { maximum: settings.cacheLimits.ecpuPerSecond },
      },
      snapshotRetentionLimit: settings.cacheSnapshotRetentionDays,
      dailySnapshotTime: '02:00',
    });

    this.url = `rediss://${this.cache.attrEndpointAddress}:${this.cache.attrEndpointPort}`;
  }

  grantConnect(grantee: iam.IGrantable): void {
    this.authSecret.grantRead(grantee);
  }
}
