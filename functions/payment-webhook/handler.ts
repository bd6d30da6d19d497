import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { dynamoDbClient } from '../../shared/clients.js';
import { commandQueue, eventStore, type Clients } from '../../shared/gamekeep.js';
import { httpErrors } from '../../shared/http/middleware.js';
import { receivePayment } from '../../shared/http/paymentWebhook.js';
import { webhookSecretsFrom, type WebhookSecrets } from '../../shared/payments/webhookSecrets.js';

export interface PaymentWebhookClients extends Clients {
  /** Where the providers' secrets come from; Secrets Manager or the environment, per the config, when absent. */
  readonly webhookSecrets?: WebhookSecrets;
}

/** The payment webhook function: verify the provider's signature, check the catalog, enqueue the credit. */
export function createPaymentWebhookHandler(config: Config, clients: PaymentWebhookClients = {}) {
  const logger = new Logger({ serviceName: 'payment-webhook' });
  const db = clients.db ?? dynamoDbClient(config);
  const deps = {
    db,
    tableName: config.tableName,
    store: eventStore(config, { ...clients, db }),
    queue: commandQueue(config, clients),
    now: () => new Date(),
  };
  const secrets: WebhookSecrets = clients.webhookSecrets ?? webhookSecretsFrom(config);

  return middy(
    async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
      receivePayment(deps, secrets, event),
  )
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger))
    .use(httpErrors(logger));
}
