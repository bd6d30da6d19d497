import { loadConfig } from '../../shared/config.js';
import { createApiHandler } from './handler.js';

export const handler = createApiHandler(loadConfig());
