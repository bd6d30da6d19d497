import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST, CONSOLE_ROUTES_FUNCTION } from '../../lib/constructs/consoleHosting.js';
import { ADMIN_PATH_PREFIX } from '../../lib/constructs/gameApis.js';
import { OperatorAccess } from '../../lib/constructs/operatorAccess.js';
import { stageSettings } from '../../lib/stage.js';
import { loadConfig } from '../../shared/config.js';
import { callerOf } from '../../shared/http/caller.js';
import { OPERATOR_ROLES } from '../../shared/http/operatorRoles.js';
import { routeKey, routes } from '../../shared/http/routes.js';
import { all, logicalIdOf, only, synthStage, type Resource, type SynthesizedStage } from './synthStage.js';

/**
 * Issue 13 on AWS: operators sign in with Cognito (MFA, groups = roles), the operator API takes their tokens on
 * every admin route of shared/http/routes.ts, and the console is served from a private bucket through CloudFront.
 */
describe('operator access: Cognito, the operator API and the console on CloudFront', () => {
  let dev: SynthesizedStage;
  let prod: SynthesizedStage;
  const resources = (s: SynthesizedStage = dev) => s.template.toJSON().Resources as Record<string, Resource>;
  const ids = () => ({
    pool: logicalIdOf(dev.stack.operators.userPool),
    client: logicalIdOf(dev.stack.operators.consoleClient),
    distribution: logicalIdOf(dev.stack.operators.console.distribution),
    bucket: logicalIdOf(dev.stack.operators.console.bucket),
    api: logicalIdOf(dev.stack.apis.operatorApi),
  });
  const domainName = () => ({ 'Fn::GetAtt': [ids().distribution, 'DomainName'] });

  // Two whole stages with real bundling: slow on a shared machine, hence the generous hook timeout.
  beforeAll(() => {
    dev = synthStage('dev');
    prod = synthStage('prod');
  }, 600_000);

  describe('the operator user pool', () => {
    it('admits no self sign-up, requires TOTP MFA, enforces threat protection and a strong password', () => {
      const [, pool] = only(dev.template, 'AWS::Cognito::UserPool');
      expect(pool.Properties).toMatchObject({
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        MfaConfiguration: 'ON',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        UserPoolTier: 'PLUS',
        UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
        AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
        UsernameConfiguration: { CaseSensitive: false },
      });
      const policy = pool.Properties.Policies.PasswordPolicy;
      expect(policy.MinimumLength).toBeGreaterThanOrEqual(12);
      expect(policy).toMatchObject({
        RequireLowercase: true,
        RequireUppercase: true,
        RequireNumbers: true,
        RequireSymbols: true,
      });
      expect(pool.Properties.DeletionProtection).toBe('INACTIVE');
      const [, prodPool] = only(prod.template, 'AWS::Cognito::UserPool');
      expect(prodPool.Properties.DeletionProtection).toBe('ACTIVE');
      expect(resources(prod)[logicalIdOf(prod.stack.operators.userPool)]?.DeletionPolicy).toBe('Retain');
    });

    it('has one group per operator role, and no other', () => {
      const groups = all(dev.template, 'AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties);
      expect(groups.map((g) => g.GroupName).sort()).toEqual([...OPERATOR_ROLES].sort());
      for (const g of groups) expect(g.UserPoolId).toEqual({ Ref: ids().pool });
    });

    it('the console is a public client: authorization code (PKCE), no secret, its CloudFront callback, short tokens', () => {
      const [, client] = only(dev.template, 'AWS::Cognito::UserPoolClient');
      expect(client.Properties).toMatchObject({
        UserPoolId: { Ref: ids().pool },
        GenerateSecret: false,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthScopes: ['openid', 'email', 'profile'],
        SupportedIdentityProviders: ['COGNITO'],
        ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
        CallbackURLs: [{ 'Fn::Join': ['', ['https://', domainName(), '/console/callback']] }],
        LogoutURLs: [{ 'Fn::Join': ['', ['https://', domainName(), '/console/']] }],
        AccessTokenValidity: 60,
        IdTokenValidity: 60,
        RefreshTokenValidity: 720,
        TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
        EnableTokenRevocation: true,
        PreventUserExistenceErrors: 'ENABLED',
      });
    });

    it('has a hosted UI domain, gamekeep-<stage>-<account> unless the stage names one', () => {
      const [, domain] = only(dev.template, 'AWS::Cognito::UserPoolDomain');
      expect(domain.Properties).toMatchObject({
        UserPoolId: { Ref: ids().pool },
        Domain: { 'Fn::Join': ['', ['gamekeep-dev-', { Ref: 'AWS::AccountId' }]] },
      });
      // A named prefix, on the construct alone (no functions to bundle).
      const settingsWith = (prefix: string) =>
        stageSettings(new App({ context: { ...dev.app.node.getAllContext(), operatorDomainPrefix: prefix } }).node);
      const stack = new Stack(new App(), 'Named');
      new OperatorAccess(stack, 'Operators', { settings: settingsWith('acme-games-ops') });
      expect(only(Template.fromStack(stack), 'AWS::Cognito::UserPoolDomain')[1].Properties.Domain).toBe(
        'acme-games-ops',
      );
      expect(() => settingsWith('my-cognito-ops')).toThrow(/not a Cognito domain prefix/);
      expect(() => settingsWith('Ops_Team')).toThrow(/not a Cognito domain prefix/);
    });
  });

  describe('the operator API', () => {
    const routesOf = (apiId: string) =>
      new Map(
        all(dev.template, 'AWS::ApiGatewayV2::Route', { ApiId: { Ref: apiId } }).map(([, r]) => [
          r.Properties.RouteKey as string,
          r.Properties,
        ]),
      );
    const issuer = () => ({
      'Fn::Join': [
        '',
        ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/', { Ref: ids().pool }],
      ],
    });

    it('serves every admin route of shared/http/routes.ts and the leaderboards behind the Cognito JWT authorizer, and nothing else', () => {
      const [authorizerId] = only(dev.template, 'AWS::ApiGatewayV2::Authorizer', {
        ApiId: { Ref: ids().api },
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: issuer(), Audience: [{ Ref: ids().client }] },
      });
      const admin = routes.filter((r) => r.path.startsWith(ADMIN_PATH_PREFIX) || r.path === '/v1/leaderboards/{board}');
      const open = routes.filter((r) => !r.authorized && r.audience === 'both');
      expect(admin.length).toBeGreaterThan(20);
      expect(admin.map(routeKey)).toContain('GET /v1/leaderboards/{board}');
      expect(open.map(routeKey).sort()).toEqual(['GET /v1/health', 'GET /v1/openapi.json']);
      const deployed = routesOf(ids().api);
      expect([...deployed.keys()].sort()).toEqual([...admin, ...open].map(routeKey).sort());
      for (const r of admin) {
        expect(deployed.get(routeKey(r)), routeKey(r)).toMatchObject({
          AuthorizationType: 'JWT',
          AuthorizerId: { Ref: authorizerId },
        });
      }
      for (const r of open) expect(deployed.get(routeKey(r))?.AuthorizationType ?? 'NONE', routeKey(r)).toBe('NONE');

      // One invoke permission per function behind it, for this API only.
      const permissions = all(dev.template, 'AWS::Lambda::Permission').filter(([, p]) =>
        JSON.stringify(p.Properties.SourceArn).includes(JSON.stringify({ Ref: ids().api })),
      );
      const targets = permissions.map(([, p]) => p.Properties.FunctionName['Fn::GetAtt'][0] as string);
      const { api, adminApi } = dev.stack.functions.functions;
      expect(targets.sort()).toEqual([logicalIdOf(api), logicalIdOf(adminApi)].sort());
    });

    it('lets only the console origin call it from a browser, and logs every call with the operator', () => {
      const api = resources()[ids().api]!;
      expect(api.Properties.CorsConfiguration).toMatchObject({
        AllowOrigins: [{ 'Fn::Join': ['', ['https://', domainName()]] }],
        AllowMethods: ['GET', 'POST'],
        AllowCredentials: false,
      });
      expect(api.Properties.CorsConfiguration.AllowHeaders).toEqual(
        expect.arrayContaining(['authorization', 'content-type', 'idempotency-key']),
      );
      const [, stage] = only(dev.template, 'AWS::ApiGatewayV2::Stage', { ApiId: { Ref: ids().api } });
      expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
      expect(stage.Properties.AccessLogSettings.DestinationArn).toBeDefined();
      expect(stage.Properties.AccessLogSettings.Format).toContain('$context.authorizer.claims.username');
    });

    it('the internal IAM API keeps every admin route for automation; the players API has none', () => {
      const byName = (name: string) => only(dev.template, 'AWS::ApiGatewayV2::Api', { Name: name })[0];
      const internal = routesOf(byName('gamekeep-dev-internal'));
      for (const r of routes.filter((x) => x.path.startsWith(ADMIN_PATH_PREFIX)))
        expect(internal.get(routeKey(r))?.AuthorizationType, routeKey(r)).toBe('AWS_IAM');
      expect([...routesOf(byName('gamekeep-dev-public')).keys()].some((k) => k.includes(ADMIN_PATH_PREFIX))).toBe(
        false,
      );
    });

    it('the functions behind it know the issuer and the client, and take a Cognito access token for an operator', () => {
      const envOf = (fn: 'api' | 'adminApi') =>
        resources()[logicalIdOf(dev.stack.functions.functions[fn])]!.Properties.Environment.Variables;
      for (const fn of ['api', 'adminApi'] as const) {
        expect(envOf(fn).GAMEKEEP_OPERATOR_ISSUER, fn).toEqual(issuer());
        expect(envOf(fn).GAMEKEEP_OPERATOR_AUDIENCE, fn).toEqual({ Ref: ids().client });
      }
      // The deployed values, as CloudFormation resolves them, read by the one config module.
      const deployed: Record<string, unknown> = {
        'AWS::Region': 'eu-west-1',
        'AWS::URLSuffix': 'amazonaws.com',
        [ids().pool]: 'eu-west-1_Abc123',
        [ids().client]: '4kq2consoleclient',
      };
      const resolve = (v: unknown): string =>
        typeof v === 'string'
          ? v
          : (v as { Ref?: string }).Ref !== undefined
            ? String(deployed[(v as { Ref: string }).Ref])
            : ((v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map(resolve).join('') as string);
      const config = loadConfig({
        GAMEKEEP_OPERATOR_ISSUER: resolve(envOf('adminApi').GAMEKEEP_OPERATOR_ISSUER),
        GAMEKEEP_OPERATOR_AUDIENCE: resolve(envOf('adminApi').GAMEKEEP_OPERATOR_AUDIENCE),
      });
      // An access token as API Gateway's JWT authorizer hands it on: no `aud`, `client_id`, groups as `[a b]`.
      const claims = {
        sub: '6f1c2d3e-0000-4000-8000-000000000001',
        iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123',
        client_id: '4kq2consoleclient',
        token_use: 'access',
        scope: 'openid email profile',
        username: 'alice',
        'cognito:groups': '[support gm]',
      };
      const event = { requestContext: { authorizer: { jwt: { claims } } } } as unknown as APIGatewayProxyEventV2;
      expect(callerOf(event, config)).toEqual({ kind: 'operator', id: 'alice', roles: ['support', 'gm'] });
      // The ID token of the same sign-in passes the authorizer too (its aud is the client) but names alice by
      // e-mail: refused, so one operator is one actor in the audit.
      const idToken = { ...claims, token_use: 'id', aud: '4kq2consoleclient', email: 'alice@example.com' };
      const withIdToken = {
        requestContext: { authorizer: { jwt: { claims: idToken } } },
      } as unknown as APIGatewayProxyEventV2;
      expect(() => callerOf(withIdToken, config)).toThrow(/access token, not the ID token/);
    });
  });

  describe('the console on S3 and CloudFront', () => {
    it('the bucket is private, TLS only, versioned, encrypted and logged', () => {
      expect(resources()[ids().bucket]!.Properties).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { LogFilePrefix: 's3/' },
      });
    });

    it('only this distribution reads it, through origin access control (no OAI, no public grant)', () => {
      expect(all(dev.template, 'AWS::CloudFront::CloudFrontOriginAccessIdentity')).toEqual([]);
      const [oacId, oac] = only(dev.template, 'AWS::CloudFront::OriginAccessControl');
      expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      });
      const distribution = resources()[ids().distribution]!.Properties.DistributionConfig;
      expect(distribution.Origins).toEqual([
        expect.objectContaining({
          DomainName: { 'Fn::GetAtt': [ids().bucket, 'RegionalDomainName'] },
          OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] },
          S3OriginConfig: { OriginAccessIdentity: '' },
        }),
      ]);

      const [, policy] = only(dev.template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: ids().bucket } });
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, any>[];
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids().bucket, 'Arn'] }, '/*']] },
          Condition: {
            StringEquals: {
              'AWS:SourceArn': {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':cloudfront::',
                    { Ref: 'AWS::AccountId' },
                    ':distribution/',
                    { Ref: ids().distribution },
                  ],
                ],
              },
            },
          },
        },
      ]);
      // The rest refuse plain HTTP and TLS below 1.2.
      for (const s of statements.filter((x) => x.Effect !== 'Allow')) expect(s.Effect).toBe('Deny');
      expect(JSON.stringify(statements)).toContain('aws:SecureTransport');
    });

    it('redirects to HTTPS, routes the single-page app with a viewer-request function and logs access', () => {
      const config = resources()[ids().distribution]!.Properties.DistributionConfig;
      const [functionId, fn] = only(dev.template, 'AWS::CloudFront::Function');
      expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
      expect(fn.Properties.FunctionCode).toBe(CONSOLE_ROUTES_FUNCTION);
      expect(config.DefaultCacheBehavior).toMatchObject({
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        FunctionAssociations: [
          { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } },
        ],
      });
      // Errors stay errors: no 403/404 mapped to the index page.
      expect(config.CustomErrorResponses).toBeUndefined();
      expect(config.Logging).toMatchObject({ Prefix: 'cloudfront/' });
    });

    it('the function sends console routes to index.html and leaves files, misses and other paths alone', () => {
      const handler = new Function(`${CONSOLE_ROUTES_FUNCTION}; return handler;`)() as (e: unknown) => any;
      const viewer = (uri: string) => handler({ request: { uri, method: 'GET', headers: {} } });
      for (const uri of ['/console/', '/console/players/p-1', '/console/callback', '/console/audit'])
        expect(viewer(uri).uri, uri).toBe('/console/index.html');
      for (const uri of ['/console/assets/index-3f2a.js', '/console/config.json', '/console/assets/gone.css', '/x'])
        expect(viewer(uri).uri, uri).toBe(uri);
      for (const uri of ['/', '/console'])
        expect(viewer(uri), uri).toEqual({
          statusCode: 302,
          statusDescription: 'Found',
          headers: { location: { value: '/console/' } },
        });
    });

    it('answers with HSTS, a CSP for the API and Cognito, no framing and no sniffing', () => {
      const [policyId, policy] = only(dev.template, 'AWS::CloudFront::ResponseHeadersPolicy');
      expect(resources()[ids().distribution]!.Properties.DistributionConfig.DefaultCacheBehavior).toMatchObject({
        ResponseHeadersPolicyId: { Ref: policyId },
      });
      const security = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      expect(security.StrictTransportSecurity).toMatchObject({ IncludeSubdomains: true, Override: true });
      expect(security.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(365 * 86400);
      expect(security.ContentTypeOptions).toEqual({ Override: true });
      expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      const csp = JSON.stringify(security.ContentSecurityPolicy.ContentSecurityPolicy);
      for (const directive of [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
      ])
        expect(csp).toContain(directive);
      expect(csp).toContain('https://*.execute-api.');
      expect(csp).toContain('https://cognito-idp.');
      expect(csp).toContain('.auth.');
      expect(csp).not.toContain("'unsafe-eval'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    });

    it('deploys the console under /console/ with a generated config.json, and invalidates the cache', () => {
      const [, deployment] = only(dev.template, 'Custom::CDKBucketDeployment');
      expect(deployment.Properties).toMatchObject({
        DestinationBucketName: { Ref: ids().bucket },
        DestinationBucketKeyPrefix: 'console/',
        Prune: true,
        DistributionId: { Ref: ids().distribution },
        DistributionPaths: ['/console/*'],
        SystemMetadata: { 'cache-control': 'no-cache' },
      });
      const markers = JSON.stringify(deployment.Properties.SourceMarkers);
      expect(markers).toContain(JSON.stringify({ 'Fn::GetAtt': [ids().api, 'ApiEndpoint'] }));
      expect(markers).toContain(JSON.stringify({ Ref: ids().client }));
      expect(markers).toContain(JSON.stringify({ Ref: ids().pool }));

      // What is uploaded: the build when console/dist exists, else a page saying the console was not built.
      const assembly = dev.app.synth();
      const staged = (deployment.Properties.SourceObjectKeys as string[]).map((key) =>
        join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`),
      );
      const config = staged.find((dir) => existsSync(join(dir, 'config.json')));
      expect(JSON.parse(readFileSync(join(config!, 'config.json'), 'utf8'))).toMatchObject({
        scopes: ['openid', 'email', 'profile'],
      });
      const site = staged.find((dir) => existsSync(join(dir, 'index.html')));
      const page = readFileSync(join(site!, 'index.html'), 'utf8');
      // The browser tests may build the console while this file synthesizes (they run side by side): the page is
      // either the placeholder or a Vite build of the console, under /console/.
      if (page.includes('console was not built')) expect(existsSync(join(site!, 'assets'))).toBe(false);
      else {
        expect(existsSync(join(CONSOLE_DIST, 'index.html'))).toBe(true);
        expect(page).toMatch(/<script type="module" crossorigin src="\/console\/assets\/index-[\w-]+\.js"><\/script>/);
        expect(page).toContain('<div id="root"></div>');
      }
    });

    it('outputs the console URL, the user pool and the operator API', () => {
      const outputs = dev.template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(outputs.ConsoleUrl?.Value).toEqual({ 'Fn::Join': ['', ['https://', domainName(), '/console/']] });
      expect(outputs.OperatorUserPoolId?.Value).toEqual({ Ref: ids().pool });
      expect(outputs.OperatorApiUrl?.Value).toEqual({ 'Fn::GetAtt': [ids().api, 'ApiEndpoint'] });
    });
  });

  describe.each(['dev', 'prod'] as const)('cdk-nag AwsSolutions on these constructs, %s', (stage) => {
    it('has no unacknowledged finding on the pool, the console, its deployment or the operator API', () => {
      const report = new AwsSolutionsChecks().validateScope((stage === 'dev' ? dev : prod).app);
      const mine = report.violations
        .map((v) => ({
          rule: `${v.severity} ${v.ruleName}`,
          paths: v.violatingResources
            .map((r) => r.constructPath ?? '')
            .filter((p) => /\/(Operators|Api\/OperatorApi|Custom::CDKBucketDeployment)/.test(p)),
        }))
        .filter((v) => v.paths.length > 0);
      expect(mine).toEqual([]);
    });
  });
});
