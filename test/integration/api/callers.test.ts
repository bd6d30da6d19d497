import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { callerOf, requireCaller } from '../../../shared/http/caller.js';
import { HttpError } from '../../../shared/http/errors.js';
import { verifySignature, signatureHeader } from '../../../shared/payments/signature.js';
import { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import { webhookSecretsFrom } from '../../../shared/payments/webhookSecrets.js';
import { loadConfig } from '../../../shared/config.js';

/** The request context each HTTP API's authorizer produces, as the functions receive it on AWS. */
const withAuthorizer = (authorizer: unknown) =>
  ({ requestContext: { authorizer } }) as unknown as APIGatewayProxyEventV2;
const iam = (userArn: string) => withAuthorizer({ iam: { userArn, accountId: '123456789012' } });
const config = { serviceRoles: ['game-servers'], operatorRoles: ['gm-team'] };

function refusal(f: () => unknown): number | undefined {
  try {
    f();
  } catch (error) {
    if (error instanceof HttpError) return error.statusCode;
    throw error;
  }
  return undefined;
}

describe('caller classes from the authorizer context', () => {
  it('takes a player from the JWT authorizer subject', () => {
    expect(callerOf(withAuthorizer({ jwt: { claims: { sub: 'hero-1' }, scopes: null } }), config)).toEqual({
      kind: 'player',
      id: 'hero-1',
    });
    expect(refusal(() => callerOf(withAuthorizer({ jwt: { claims: { sub: 'a#STATE' } } }), config))).toBe(403);
  });

  it('maps IAM roles to services and operators, naming the session as the actor', () => {
    expect(callerOf(iam('arn:aws:sts::123456789012:assumed-role/game-servers/i-0abc'), config)).toEqual({
      kind: 'service',
      id: 'i-0abc',
    });
    expect(callerOf(iam('arn:aws:sts::123456789012:assumed-role/gm-team/alice@example.com'), config)).toEqual({
      kind: 'operator',
      id: 'alice-example.com',
      roles: ['viewer', 'support', 'gm', 'ops'],
    });
    expect(callerOf(iam('arn:aws:iam::123456789012:role/game-servers'), config)).toEqual({
      kind: 'service',
      id: 'game-servers',
    });
  });

  it('takes an operator from an operator JWT, its roles from groups or cognito:groups as API Gateway renders them', () => {
    const jwt = (claims: Record<string, string>) => withAuthorizer({ jwt: { claims, scopes: null } });
    const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool';
    const cognito = { ...config, operatorIssuer: issuer, operatorAudiences: ['console-client-id'] };
    expect(
      callerOf(
        jwt({ iss: issuer, sub: 'u-1', username: 'ana', 'cognito:groups': '[support ops]', client_id: 'x' }),
        cognito,
      ),
    ).toEqual({ kind: 'operator', id: 'ana', roles: ['support', 'ops'] });
    // Without the issuer configured, the console's audience or client id tells an operator's token.
    expect(
      callerOf(
        jwt({ iss: 'i', sub: 'u-2', email: 'bo@example.com', groups: '["gm","other"]', aud: 'gamekeep-admin' }),
        config,
      ),
    ).toEqual({ kind: 'operator', id: 'bo-example.com', roles: ['gm'] });
    expect(
      callerOf(jwt({ iss: 'i', sub: 'u-3', 'cognito:groups': 'viewer', client_id: 'console-client-id' }), cognito),
    ).toEqual({ kind: 'operator', id: 'u-3', roles: ['viewer'] });
    // An operator token without a known role is refused, never taken for a player's; a player's stays a player's.
    expect(refusal(() => callerOf(jwt({ iss: issuer, sub: 'u-4', 'cognito:groups': '[admins]' }), cognito))).toBe(403);
    expect(refusal(() => callerOf(jwt({ iss: 'i', sub: 'u-5', aud: 'gamekeep-admin' }), config))).toBe(403);
    expect(callerOf(jwt({ iss: 'gamekeep-local', sub: 'hero-1', aud: 'gamekeep', groups: '[gm]' }), cognito)).toEqual({
      kind: 'player',
      id: 'hero-1',
    });
  });

  it('refuses IAM principals of no known role with 403, and callers of another class', () => {
    expect(refusal(() => callerOf(iam('arn:aws:sts::123456789012:assumed-role/intruder/x'), config))).toBe(403);
    expect(refusal(() => callerOf(iam('arn:aws:iam::123456789012:user/bob'), config))).toBe(403);
    expect(refusal(() => requireCaller({ kind: 'anonymous' }, 'operator'))).toBe(401);
    expect(refusal(() => requireCaller({ kind: 'service', id: 's' }, 'operator'))).toBe(403);
  });
});

describe('webhook signatures', () => {
  const body = Buffer.from('{"a":1}');
  const now = 1_800_000_000;

  it('accepts any of several v1 values against any current secret, within 300 s', () => {
    expect(verifySignature(signatureHeader(['s1'], body, now), body, ['s0', 's1'], now + 300)).toBe(true);
    expect(
      verifySignature(
        `t=${now},v1=${'0'.repeat(64)},${signatureHeader(['s1'], body, now).split(',')[1]}`,
        body,
        ['s1'],
        now,
      ),
    ).toBe(true);
  });

  it('refuses stale, future, tampered, malformed and unsigned deliveries', () => {
    expect(verifySignature(signatureHeader(['s1'], body, now), body, ['s1'], now + 301)).toBe(false);
    expect(verifySignature(signatureHeader(['s1'], body, now + 301), body, ['s1'], now)).toBe(false);
    expect(verifySignature(signatureHeader(['s1'], body, now), Buffer.from('{"a":2}'), ['s1'], now)).toBe(false);
    expect(verifySignature(`t=${now},v1=abc`, body, ['s1'], now)).toBe(false);
    expect(verifySignature(`v1=${'0'.repeat(64)}`, body, ['s1'], now)).toBe(false);
    expect(verifySignature(undefined, body, ['s1'], now)).toBe(false);
    expect(verifySignature(signatureHeader(['s1'], body, now), body, [], now)).toBe(false);
  });
});

describe('webhook secrets source', () => {
  it('reads the Secrets Manager document named by the config, once per cache period', async () => {
    let reads = 0;
    const config = loadConfig({ GAMEKEEP_WEBHOOK_SECRETS_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:webhooks' });
    // A Powertools provider whose fetch is counted: the cache in front of it is Powertools Parameters' own.
    class CountedSecrets extends BaseProvider {
      protected async _get(arn: string): Promise<string> {
        reads++;
        expect(arn).toBe('arn:aws:secretsmanager:us-east-1:1:secret:webhooks');
        return JSON.stringify({ acme: ['acme-secret-0123456789', 'acme-secret-next-0123'] });
      }
      protected async _getMultiple(): Promise<Record<string, unknown>> {
        return {};
      }
    }
    const secrets = webhookSecretsFrom(config, new CountedSecrets({}));
    expect(await secrets('acme')).toEqual(['acme-secret-0123456789', 'acme-secret-next-0123']);
    expect(await secrets('stripe')).toEqual([]);
    expect(await secrets('constructor')).toEqual([]);
    expect(reads).toBe(1);
  });

  it('uses GAMEKEEP_WEBHOOK_SECRET_<PROVIDER> locally', async () => {
    const secrets = webhookSecretsFrom(
      loadConfig({ GAMEKEEP_WEBHOOK_SECRET_ACME: 'one-0123456789abcdef, two-0123456789abcdef' }),
    );
    expect(await secrets('acme')).toEqual(['one-0123456789abcdef', 'two-0123456789abcdef']);
    expect(await secrets('other')).toEqual([]);
  });
});
