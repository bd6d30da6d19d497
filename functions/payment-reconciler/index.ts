import { loadConfig } from '../../shared/config.js';
import { createPaymentReconcilerHandler } from './handler.js';

export const handler = createPaymentReconcilerHandler(loadConfig());
