import { loadConfig } from '../../shared/config.js';
import { createCommandProcessorHandler } from './handler.js';

export const handler = createCommandProcessorHandler(loadConfig());
