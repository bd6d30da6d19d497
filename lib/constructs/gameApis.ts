import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routes, servesOperators, type FunctionName as RouteFunction, type Route } from '../../shared/http/routes.js';
import { acknowledge } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** HTTP API access log variables only (the REST API's standard fields are not all defined for HTTP APIs). */
const HTTP_API_ACCESS_FIELDS = {
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
};
const HTTP_API_ACCESS_LOG = apigateway.AccessLogFormat.custom(JSON.stringify(HTTP_API_ACCESS_FIELDS));
/** The operator API logs who called: the operator's user name and client from the verified token. */
const OPERATOR_API_ACCESS_LOG = apigateway.AccessLogFormat.custom(
  JSON.stringify({
    ...HTTP_API_ACCESS_FIELDS,
    caller: '$context.authorizer.claims.username',
    client: '$context.authorizer.claims.client_id',
  }),
);

/** Every path under it is an operator's (the admin function's, and the statistics the API function keeps). */
export const ADMIN_PATH_PREFIX = '/v1/admin/';

/** Which routes each API serves: the route table of shared/http/routes.ts is the single source. */
export const publicRoutes = (): Route[] => routes.filter((r) => r.audience !== 'internal');
export const internalRoutes = (): Route[] => routes.filter((r) => r.audience !== 'public');
/** The operator API: every admin route and the leaderboards, and the open routes of both APIs (health, OpenAPI). */
export const operatorRoutes = (): Route[] =>
  routes.filter((r) => servesOperators(r) || (r.audience === 'both' && !r.authorized));

/** The headers the console sends to the operator API, and those it may read in the answers. */
const CONSOLE_REQUEST_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'prefer'];
const CONSOLE_RESPONSE_HEADERS = ['preference-applied', 'retry-after', 'location'];

/** How the operator API authorizes: the operators' OpenID issuer and the console's client, and its origin. */
export interface OperatorSignIn {
  /** The user pool's issuer URL (the tokens' `iss`). */
  readonly issuer: string;
  /** The app client ids an operator token must be for (`aud` of an ID token, `client_id` of an access token). */
  readonly audiences: readonly string[];
  /** The console's origin, the only one CORS lets call the operator API from a browser. */
  readonly consoleOrigin: string;
}

export interface GameApisProps {
  readonly settings: StageSettings;
  /** The function serving each route's `fn`. */
  readonly handlers: Record<RouteFunction, lambda.IFunction>;
  readonly operators: OperatorSignIn;
}

/**
 * Three HTTP APIs on the same route table: PUBLIC (players with a JWT, payment providers, open routes),
 * INTERNAL (game services and automation signing with SigV4, IAM authorizer) and OPERATOR (the console: /v1/admin/*
 * with the operators' Cognito JWT, CORS for the console's origin). One route takes one authorizer and a JWT
 * authorizer one issuer, hence one API per kind of credential. The functions tell caller classes apart by
 * `requestContext.authorizer` (jwt vs iam), then by issuer or audience (operator vs player) and, for IAM, by role.
 */
export class GameApis extends Construct {
  readonly publicApi: apigwv2.HttpApi;
  readonly internalApi: apigwv2.HttpApi;
  readonly publicStage: apigwv2.HttpStage;
  readonly internalStage: apigwv2.HttpStage;
  readonly operatorApi: apigwv2.HttpApi;
  readonly operatorStage: apigwv2.HttpStage;
  /** Assumed by game servers: every internal route except /v1/admin/*. */
  readonly gameServiceRole: iam.Role;
  /** Assumed by operators: every internal route. */
  readonly operatorRole: iam.Role;

  constructor(scope: Construct, id: string, props: GameApisProps) {
    super(scope, id);
    const { settings, handlers, operators } = props;

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

    this.operatorApi = new apigwv2.HttpApi(this, 'OperatorApi', {
      apiName: `gamekeep-${settings.stage}-operator`,
      description: `Gamekeep ${settings.stage}: operators in the console (Cognito JWT)`,
      createDefaultStage: false,
      // API Gateway answers the preflight itself (before any authorizer) and sets these headers on every answer.
      corsPreflight: {
        allowOrigins: [operators.consoleOrigin],
        allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
        allowHeaders: CONSOLE_REQUEST_HEADERS,
        exposeHeaders: CONSOLE_RESPONSE_HEADERS,
        allowCredentials: false,
        maxAge: Duration.hours(1),
      },
    });
    this.operatorStage = this.stage(this.operatorApi, 'Operator', settings, OPERATOR_API_ACCESS_LOG);
    const operatorJwt = new HttpJwtAuthorizer('OperatorJwt', operators.issuer, {
      jwtAudience: [...operators.audiences],
      identitySource: ['$request.header.Authorization'],
    });
    this.addRoutes(this.operatorApi, 'Operator', operatorRoutes(), handlers, operatorJwt);

    acknowledge(this.operatorApi, {
      'AwsSolutions-APIG4':
        'Only GET /v1/health and GET /v1/openapi.json (no data) have no authorizer; every /v1/admin/* route has the operator JWT authorizer.',
    });
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

  private stage(
    api: apigwv2.HttpApi,
    name: string,
    settings: StageSettings,
    format: apigateway.AccessLogFormat = HTTP_API_ACCESS_LOG,
  ): apigwv2.HttpStage {
    const accessLogs = new logs.LogGroup(this, `${name}AccessLogs`, {
      retention: settings.logRetention,
      removalPolicy: settings.statefulRemovalPolicy,
    });
    return api.addStage(`${name}Stage`, {
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.apiThrottle,
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs), format },
    });
  }

  private addRoutes(
    api: apigwv2.HttpApi,
    prefix: string,
    apiRoutes: readonly Route[],
    handlers: Record<RouteFunction, lambda.IFunction>,
    authorizer: apigwv2.IHttpRouteAuthorizer,
  ): void {
    // An integration belongs to one API: one per (API, function). Its invoke permission names the API, not each
    // route: the API's routes are this table anyway, and a permission per route (~100 of them) would bring the stack
    // near CloudFormation's 500-resource limit.
    const integrations = new Map<RouteFunction, HttpLambdaIntegration>();
    for (const route of apiRoutes) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${prefix}-${route.fn}`, handlers[route.fn], {
          scopePermissionToRoute: false,
        });
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
