import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { OPERATOR_ROLES, type OperatorRole } from '../../shared/http/operatorRoles.js';
import type { StageSettings } from '../stage.js';
import { ConsoleHosting } from './consoleHosting.js';

/** Where the console's sign-in returns (authorization code) and where a sign-out lands, under the console's origin. */
export const CONSOLE_CALLBACK_PATH = '/console/callback';
export const CONSOLE_SIGNED_OUT_PATH = '/console/';

/** What each group lets an operator do: shared/http/operatorRoles.ts checks it on every admin action. */
const ROLE_DESCRIPTIONS: Readonly<Record<OperatorRole, string>> = {
  viewer: 'Reads everything: players, history and diffs, payments, dead letters, checks, backups, the audit',
  support: 'Viewer who adjusts balances up to the support limit, grants and revokes items, resolves payments',
  gm: 'Support without the limit, who also rolls back, quarantines and releases, bans and unbans',
  ops: 'Viewer who runs the machinery: dead letters, checks and repairs, rebuilds, backups, restores, drills',
};

/** Short-lived tokens: a stolen access token is worth an hour, a session a working day. */
export const OPERATOR_TOKEN_VALIDITY = {
  access: Duration.hours(1),
  id: Duration.hours(1),
  refresh: Duration.hours(12),
} as const;

export interface OperatorAccessProps {
  readonly settings: StageSettings;
}

/**
 * The operator console on AWS and its sign-in. Operators sign in against this Cognito user pool (OpenID Connect, authorization code + PKCE at the
 * hosted UI): accounts made by an administrator only, TOTP MFA required, threat protection enforced, one group per
 * role of shared/http/operatorRoles.ts. Their access tokens (`cognito:groups`, `client_id`, `username`) are what
 * the operator API's JWT authorizer accepts and shared/http/caller.ts turns into an operator with roles. The
 * console itself is served by `console` (S3 + CloudFront), whose origin is the app client's only callback.
 */
export class OperatorAccess extends Construct {
  readonly userPool: cognito.UserPool;
  readonly consoleClient: cognito.UserPoolClient;
  readonly signInDomain: cognito.UserPoolDomain;
  readonly groups: Readonly<Record<OperatorRole, cognito.UserPoolGroup>>;
  readonly console: ConsoleHosting;
  /** The tokens' `iss`: what the JWT authorizer and the functions (GAMEKEEP_OPERATOR_ISSUER) expect. */
  readonly issuer: string;
  /** The hosted UI's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`): authorize, token, logout. */
  readonly signInUrl: string;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { settings } = props;
    const stack = Stack.of(this);
    // Known before the domain resource exists, so the console's headers (and so the pool's invitation, which names
    // the console) do not depend on the domain: the pool, its domain and the distribution form no cycle.
    const domainPrefix = settings.operatorDomainPrefix ?? `gamekeep-${settings.stage}-${Aws.ACCOUNT_ID}`;
    this.signInUrl = `https://${domainPrefix}.auth.${stack.region}.amazoncognito.com`;
    const issuerOrigin = `https://cognito-idp.${stack.region}.${stack.urlSuffix}`;
    this.console = new ConsoleHosting(this, 'Console', { settings, signInOrigins: [this.signInUrl, issuerOrigin] });
    const consoleOrigin = this.console.origin;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `gamekeep-${settings.stage}-operators`,
      // Accounts are made by an administrator (docs/console.md); nobody signs themselves up.
      selfSignUpEnabled: false,
      // The user name is the operator's name in the audit (the access token's `username`); e-mail signs in too.
      signInAliases: { username: true, email: true },
      signInCaseSensitive: false,
      standardAttributes: { email: { required: true, mutable: true } },
      autoVerify: { email: true },
      keepOriginal: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false, email: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 12,
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // The Plus plan brings threat protection: compromised-credential checks and adaptive authentication, enforced.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: settings.isProd,
      removalPolicy: settings.statefulRemovalPolicy,
      userInvitation: {
        emailSubject: `Your Gamekeep ${settings.stage} console account`,
        emailBody: `An account was made for you on the Gamekeep ${settings.stage} operator console. User name {username}, temporary password {####}. Sign in at ${consoleOrigin}/console/ within 3 days; you will choose a password and set up an authenticator app (MFA is required).`,
      },
    });

    this.groups = Object.fromEntries(
      OPERATOR_ROLES.map((role) => [
        role,
        this.userPool.addGroup(`Group-${role}`, { groupName: role, description: ROLE_DESCRIPTIONS[role] }),
      ]),
    ) as Record<OperatorRole, cognito.UserPoolGroup>;

    this.signInDomain = this.userPool.addDomain('SignIn', {
      cognitoDomain: { domainPrefix },
      managedLoginVersion: cognito.ManagedLoginVersion.CLASSIC_HOSTED_UI,
    });
    this.issuer = `${issuerOrigin}/${this.userPool.userPoolId}`;

    this.consoleClient = this.userPool.addClient('ConsoleClient', {
      userPoolClientName: `gamekeep-${settings.stage}-console`,
      // A browser application cannot keep a secret: a public client, and PKCE (S256) is the proof of the code.
      generateSecret: false,
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [`${consoleOrigin}${CONSOLE_CALLBACK_PATH}`],
        logoutUrls: [`${consoleOrigin}${CONSOLE_SIGNED_OUT_PATH}`],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      accessTokenValidity: OPERATOR_TOKEN_VALIDITY.access,
      idTokenValidity: OPERATOR_TOKEN_VALIDITY.id,
      refreshTokenValidity: OPERATOR_TOKEN_VALIDITY.refresh,
      authSessionValidity: Duration.minutes(5),
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
    });
    // Sign-in happens at the hosted UI only: no password, SRP or custom flow straight against the pool, so MFA and
    // threat protection cannot be sidestepped by a script; the console only refreshes its tokens.
    (this.consoleClient.node.defaultChild as cognito.CfnUserPoolClient).explicitAuthFlows = [
      'ALLOW_REFRESH_TOKEN_AUTH',
    ];
  }

  /** Deploys the console with the `config.json` that points it at this pool, its app client and the operator API. */
  deployConsole(apiBaseUrl: string) {
    return this.console.deploy({
      apiBaseUrl,
      issuer: this.issuer,
      clientId: this.consoleClient.userPoolClientId,
      signInUrl: this.signInUrl,
      scopes: ['openid', 'email', 'profile'],
      redirectUri: `${this.console.origin}${CONSOLE_CALLBACK_PATH}`,
      postLogoutRedirectUri: `${this.console.origin}${CONSOLE_SIGNED_OUT_PATH}`,
    });
  }
}
