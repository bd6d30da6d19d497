import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, LAMBDA_BASIC_EXECUTION } from '../nag.js';
import type { StageSettings } from '../stage.js';

/** Where Vite builds the console (`npm run console:build`); the synth works without it (a placeholder page). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** The console lives under this prefix of the bucket and of the distribution, as it does locally. */
export const CONSOLE_PREFIX = '/console/';

/**
 * The viewer-request function: `/` and `/console` go to `/console/`; a console route without a file extension
 * (`/console/players/p-1`) is the single-page app's, so it is served `/console/index.html` and the router draws the
 * page. A missing file (`/console/assets/gone.js`) stays a miss: no 403-to-200 mapping hides real errors.
 */
export const CONSOLE_ROUTES_FUNCTION = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/' || uri === '/console') {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/console/' } } };
  }
  if (uri.indexOf('/console/') === 0 && uri.slice(uri.lastIndexOf('/') + 1).indexOf('.') === -1) {
    request.uri = '/console/index.html';
  }
  return request;
}`;

/** What the console reads from `/console/config.json` to sign in and to call the operator API. */
export interface ConsoleConfig {
  /** The operator API's base URL (`https://<id>.execute-api.<region>.amazonaws.com`, no trailing slash). */
  readonly apiBaseUrl: string;
  /** The OpenID Connect issuer (the user pool): its discovery document names the endpoints. */
  readonly issuer: string;
  /** The console's app client (public, PKCE). */
  readonly clientId: string;
  /** The hosted UI (`/oauth2/authorize`, `/oauth2/token`, `/logout`). */
  readonly signInUrl: string;
  readonly scopes: readonly string[];
  /** Absolute URLs registered with the app client. */
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
}

export interface ConsoleHostingProps {
  readonly settings: StageSettings;
  /** Origins the console talks to besides its own: the hosted UI, the issuer (discovery, keys). */
  readonly signInOrigins: readonly string[];
}

/**
 * The operator console on AWS: a private, versioned S3 bucket read only by one CloudFront distribution (origin
 * access control), a viewer-request function for the single-page app's routes, security headers on every answer,
 * access logs to a log bucket, and a deployment of `console/dist` with a generated `config.json`.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly routes: cloudfront.Function;
  readonly headers: cloudfront.ResponseHeadersPolicy;
  /** `https://<domain>`, no trailing slash: the console is at `${origin}/console/`. */
  readonly origin: string;
  private readonly settings: StageSettings;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    const { settings } = props;
    this.settings = settings;
    const stack = Stack.of(this);

    // CloudFront standard logs are written with an ACL, so this bucket (unlike the console's) keeps object writer.
    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ expiration: Duration.days(settings.logRetention) }],
      removalPolicy: settings.statefulRemovalPolicy,
    });
    acknowledge(this.logBucket, {
      'AwsSolutions-S1':
        'This is the access-log bucket of the console bucket and its distribution; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Assets', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      // Earlier builds stay restorable for a month after a deploy replaces them.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/',
      removalPolicy: settings.statefulRemovalPolicy,
    });

    this.routes = new cloudfront.Function(this, 'Routes', {
      functionName: `gamekeep-${settings.stage}-console-routes`,
      comment: 'Console routes: / to /console/, extension-less /console/* paths to the single-page app',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(CONSOLE_ROUTES_FUNCTION),
    });

    // The operator API is an HTTP API of this region; its exact id would make the distribution depend on the API,
    // whose CORS origin is this distribution (a cycle), so the console may connect to this region's execute-api hosts.
    const connectSources = [
      "'self'",
      `https://*.execute-api.${stack.region}.${stack.urlSuffix}`,
      ...props.signInOrigins,
    ].join(' ');
    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: `gamekeep-${settings.stage}-console-security`,
      comment: 'HSTS, CSP (self, the operator API, Cognito), no framing, no sniffing, no referrer',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentSecurityPolicy: {
          contentSecurityPolicy: [
            "default-src 'self'",
            "script-src 'self'",
            // Inline style attributes (charts) only; no inline script anywhere.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            `connect-src ${connectSources}`,
            `form-action 'self' ${props.signInOrigins.join(' ')}`,
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
          ].join('; '),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        // The callback URL carries the authorization code: it never leaves in a Referer.
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()', override: true },
        ],
      },
    });

    const domain = settings.consoleDomain;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Gamekeep ${settings.stage} operator console`,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        functionAssociations: [{ function: this.routes, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      ...(domain
        ? {
            domainNames: [domain.name],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });
    this.origin = `https://${domain ? domain.name : this.distribution.distributionDomainName}`;

    acknowledge(this.distribution, {
      'AwsSolutions-CFR1':
        'Operators work from wherever they are (on call, travelling); every API call is authorized by the operator JWT and MFA, so no geo restriction.',
      'AwsSolutions-CFR2':
        'The distribution serves static console files only; data is behind the operator API (JWT authorizer, throttled). A CloudFront WAF must live in us-east-1, outside this env-agnostic stack.',
      ...(domain
        ? {}
        : {
            'AwsSolutions-CFR4':
              'Without a custom domain (stage setting consoleDomainName + consoleCertificateArn) CloudFront serves its default certificate, whose security policy is fixed by AWS; set the domain to enforce TLSv1.2_2021.',
          }),
    });
  }

  /**
   * Uploads the built console (or a placeholder page saying it was not built) under `/console/`, with `config.json`
   * generated from the deployed values, and invalidates the distribution's copy.
   */
  deploy(config: ConsoleConfig): s3deploy.BucketDeployment {
    const built = existsSync(join(CONSOLE_DIST, 'index.html'));
    const site = built
      ? s3deploy.Source.asset(CONSOLE_DIST, { exclude: ['config.json'] })
      : s3deploy.Source.data('index.html', PLACEHOLDER_PAGE);
    const deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
      sources: [site, s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: CONSOLE_PREFIX.slice(1),
      prune: true,
      // Browsers revalidate every file (a 304 when unchanged), so the next load after a deploy is the new build.
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: [`${CONSOLE_PREFIX}*`],
      memoryLimit: 512,
      logGroup: new logs.LogGroup(this, 'DeploymentLogs', {
        retention: this.settings.logRetention,
        removalPolicy: this.settings.statefulRemovalPolicy,
      }),
    });
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const copy = "The CDK's bucket-deployment function copies the build";
    // The handler is the CDK's singleton at the stack's root; its role and function are acknowledged there.
    acknowledge(deployment.handlerRole.node.scope as IConstruct, {
      'AwsSolutions-L1':
        "The CDK's bucket-deployment handler pins its own Python runtime (with the AWS CLI layer); it moves with aws-cdk-lib upgrades.",
      [LAMBDA_BASIC_EXECUTION]:
        "AWSLambdaBasicExecutionRole only lets the CDK's bucket-deployment function write its own CloudWatch Logs.",
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': `${copy}: it reads the CDK asset bucket and this console bucket.`,
      'AwsSolutions-IAM5[Action::s3:GetObject*]': `${copy}: it reads the zipped build from the CDK asset bucket.`,
      'AwsSolutions-IAM5[Action::s3:List*]': `${copy}: it lists the console bucket to prune files a build dropped.`,
      'AwsSolutions-IAM5[Action::s3:Abort*]': `${copy}: multipart uploads of large files may be aborted.`,
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': `${copy}: prune deletes files the new build no longer has.`,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]': `${copy}: the zipped build is an object of the CDK bootstrap asset bucket.`,
      [`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`]: `${copy}: every object of the console bucket is the deployment's to replace.`,
      'AwsSolutions-IAM5[Resource::*]':
        'cloudfront:CreateInvalidation / GetInvalidation for the deploy-time invalidation of /console/*; the CDK grants them on every distribution.',
    });
    return deployment;
  }
}

const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gamekeep console not built</title></head>
<body><main><h1>The Gamekeep console was not built</h1>
<p>This stage was deployed without <code>console/dist</code>. Run <code>npm run console:build</code>, then deploy again
(docs/console.md, "On AWS: Cognito, the operator API and CloudFront").</p></main></body></html>
`;
