import { loadConfig } from '../../shared/config.js';
import { createAdminApiHandler } from './handler.js';

export const handler = createAdminApiHandler(loadConfig());
