import { Stack, type CfnElement } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routes, type FunctionName as RouteFunction, type Route } from '../../shared/http/routes.js';
import { acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** HTTP API access log variables only (the REST API's standard fields are not all defined for HTTP APIs). */
const HTTP_API_ACCESS_LOG = apigateway.AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    caller: '$context.identity.userArn',
  }),
);

/** Which routes each API serves: the route table of shared/http/routes.ts is the single source. */
export const publicRoutes = (): Route[] => routes.filter((r) => r.audience !== 'internal');
export const internalRoutes = (): Route[] => routes.filter((r) => r.audience !== 'public');

export interface GameApisProps {
  readonly settings: StageSettings;
  /** The function serving each route's `fn`. */
  readonly handlers: Record<RouteFunction, lambda.IFunction>;
}

/**
 * Two HTTP APIs with the same paths: PUBLIC (players with a JWT, payment providers, open routes) and
 * INTERNAL (game services and operators signing with SigV4, IAM authorizer). The functions tell caller classes
 * apart by `requestContext.authorizer` (jwt vs iam) and, for IAM, by role (the caller roles below).
 */
export class GameApis extends Construct {
  readonly publicApi: apigwv2.HttpApi;
  readonly internalApi: apigwv2.HttpApi;
  readonly publicStage: apigwv2.HttpStage;
  readonly internalStage: apigwv2.HttpStage;
  /** Assumed by game servers: every internal route except /v1/admin/*. */
  readonly gameServiceRole: iam.Role;
  /** Assumed by operators: every internal route. */
  readonly operatorRole: iam.Role;

  constructor(scope: Construct, id: string, props: GameApisProps) {
    super(scope, id);
    const { settings, handlers } = props;

    this.publicApi = new apigwv2.HttpApi(this, 'PublicApi', {
      apiName: `gamekeep-${settings.stage}-public`,
      description: `Gamekeep ${settings.stage}: players (JWT) and payment webhooks`,
      createDefaultStage: false,
    });
    this.publicStage = this.stage(this.publicApi, 'Public', settings);
    const playerJwt = new HttpJwtAuthorizer('PlayerJwt', settings.jwt.issuer, {
      jwtAudience: [...settings.jwt.audience],
      identitySource: ['$request.header.Authorization'],
    });
    this.addRoutes(this.publicApi, 'Public', publicRoutes(), handlers, playerJwt);

    this.internalApi = new apigwv2.HttpApi(this, 'InternalApi', {
      apiName: `gamekeep-${settings.stage}-internal`,
      description: `Gamekeep ${settings.stage}: game services and operators (IAM)`,
      createDefaultStage: false,
    });
    this.internalStage = this.stage(this.internalApi, 'Internal', settings);
    this.addRoutes(this.internalApi, 'Internal', internalRoutes(), handlers, new HttpIamAuthorizer());

    for (const api of [this.publicApi, this.internalApi]) {
      acknowledge(api, {
        'AwsSolutions-APIG4':
          'Only GET /v1/health and GET /v1/openapi.json (no data) and the payment webhook (provider HMAC signature checked in code; providers cannot sign with JWT or SigV4) have no authorizer; every other route has one (shared/http/routes.ts `authorized`).',
      });
    }

    // The roles the internal API's callers assume; shared/http/caller.ts maps a SigV4 caller to its class by role name.
    const execute = (api: apigwv2.HttpApi, path: string): string =>
      Stack.of(this).formatArn({ service: 'execute-api', resource: api.apiId, resourceName: `$default/*${path}` });
    this.gameServiceRole = new iam.Role(this, 'GameServiceRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: `Gamekeep ${settings.stage}: game servers calling the internal API`,
    });
    this.gameServiceRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [execute(this.internalApi, '/v1/*')] }),
    );
    this.gameServiceRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: ['execute-api:Invoke'],
        resources: [execute(this.internalApi, '/v1/admin/*')],
      }),
    );
    this.operatorRole = new iam.Role(this, 'OperatorRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: `Gamekeep ${settings.stage}: operators calling the internal API (including /v1/admin/*)`,
    });
    this.operatorRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [execute(this.internalApi, '/v1/*')] }),
    );
    const internalApiId = Stack.of(this).getLogicalId(this.internalApi.node.defaultChild as CfnElement);
    for (const role of [this.gameServiceRole, this.operatorRole]) {
      acknowledge(role, {
        [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${internalApiId}>/$default/*/v1/*]`]:
          "Invoke on the internal API's v1 routes, any method; the game service role is denied /v1/admin/* explicitly.",
      });
    }
  }

  private stage(api: apigwv2.HttpApi, name: string, settings: StageSettings): apigwv2.HttpStage {
    const accessLogs = new logs.LogGroup(this, `${name}AccessLogs`, {
      retention: settings.logRetention,
      removalPolicy: settings.statefulRemovalPolicy,
    });
    return api.addStage(`${name}Stage`, {
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.apiThrottle,
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs), format: HTTP_API_ACCESS_LOG },
    });
  }

  private addRoutes(
    api: apigwv2.HttpApi,
    prefix: string,
    apiRoutes: readonly Route[],
    handlers: Record<RouteFunction, lambda.IFunction>,
    authorizer: apigwv2.IHttpRouteAuthorizer,
  ): void {
    // An integration belongs to one API: one per (API, function).
    const integrations = new Map<RouteFunction, HttpLambdaIntegration>();
    for (const route of apiRoutes) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${prefix}-${route.fn}`, handlers[route.fn]);
        integrations.set(route.fn, integration);
      }
      api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
        ...(route.authorized ? { authorizer } : {}),
      });
    }
  }
}
