import type { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';

/** How long a fetched secret is trusted: a rotation in Secrets Manager reaches every instance within this. */
export const SECRET_MAX_AGE_SECONDS = 300;

/** Where secrets are read: Powertools Parameters' Secrets Manager provider, or another provider in tests. */
export type SecretSource = Pick<BaseProvider, 'get'>;

let secretsManager: SecretsProvider | undefined;

/** The process's one Secrets Manager provider (its cache is shared by every reader). */
export function secretsManagerSource(): SecretSource {
  secretsManager ??= new SecretsProvider();
  return secretsManager;
}

/**
 * A JSON secret's document (webhook signing secrets, the cache's credentials), cached for
 * SECRET_MAX_AGE_SECONDS unless `fresh` asks for the current value.
 */
export async function secretJson(
  arn: string,
  options: { fresh?: boolean; source?: SecretSource } = {},
): Promise<unknown> {
  const source = options.source ?? secretsManagerSource();
  const value = await source.get(arn, {
    maxAge: SECRET_MAX_AGE_SECONDS,
    transform: 'json',
    forceFetch: options.fresh ?? false,
  });
  if (value === undefined || value === null) throw new Error(`secret ${arn} has no value`);
  return value;
}
