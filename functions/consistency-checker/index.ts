import { loadConfig } from '../../shared/config.js';
import { createConsistencyCheckerHandler } from './handler.js';

export const handler = createConsistencyCheckerHandler(loadConfig());
