import { loadConfig } from '../../shared/config.js';
import { createPaymentWebhookHandler } from './handler.js';

export const handler = createPaymentWebhookHandler(loadConfig());
