import { z } from 'zod';
import type { Config } from '../config.js';
import { secretString } from '../secrets.js';

/** A provider's current webhook secrets (several during a rotation); Secrets Manager on AWS, the environment locally. */
export type WebhookSecrets = (provider: string) => Promise<readonly string[]>;

/** How long fetched secrets are trusted: a rotation in Secrets Manager reaches every instance within this. */
const CACHE_MS = 5 * 60_000;

const secretDocument = z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), z.array(z.string().min(16)).max(5));

/**
 * Where the providers' signing secrets come from: on AWS the Secrets Manager secret named by
 * GAMEKEEP_WEBHOOK_SECRETS_ARN (`{"<provider>": ["<secret>", ...]}`), locally GAMEKEEP_WEBHOOK_SECRET_<PROVIDER>.
 */
export function webhookSecretsFrom(
  config: Config,
  fetchSecret: (arn: string) => Promise<string> = secretString,
): WebhookSecrets {
  const arn = config.webhookSecretsArn;
  if (!arn)
    return async (provider) => (Object.hasOwn(config.webhookSecrets, provider) ? config.webhookSecrets[provider]! : []);
  let cached: { at: number; secrets: z.infer<typeof secretDocument> } | undefined;
  return async (provider) => {
    if (!cached || Date.now() - cached.at > CACHE_MS)
      cached = { at: Date.now(), secrets: secretDocument.parse(JSON.parse(await fetchSecret(arn))) };
    return Object.hasOwn(cached.secrets, provider) ? cached.secrets[provider]! : [];
  };
}
