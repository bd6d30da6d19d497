import { z } from 'zod';
import type { Config } from '../config.js';
import { secretJson, type SecretSource } from '../secretsManager.js';

/** A provider's current webhook secrets (several during a rotation); Secrets Manager on AWS, the environment locally. */
export type WebhookSecrets = (provider: string) => Promise<readonly string[]>;

const secretDocument = z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), z.array(z.string().min(16)).max(5));

/**
 * Where the providers' signing secrets come from: on AWS the Secrets Manager secret named by
 * GAMEKEEP_WEBHOOK_SECRETS_ARN (`{"<provider>": ["<secret>", ...]}`, cached by Powertools Parameters, so a
 * rotation reaches every instance within SECRET_MAX_AGE_SECONDS), locally GAMEKEEP_WEBHOOK_SECRET_<PROVIDER>.
 */
export function webhookSecretsFrom(config: Config, source?: SecretSource): WebhookSecrets {
  const arn = config.webhookSecretsArn;
  if (!arn)
    return async (provider) => (Object.hasOwn(config.webhookSecrets, provider) ? config.webhookSecrets[provider]! : []);
  return async (provider) => {
    const secrets = secretDocument.parse(await secretJson(arn, source ? { source } : {}));
    return Object.hasOwn(secrets, provider) ? secrets[provider]! : [];
  };
}
