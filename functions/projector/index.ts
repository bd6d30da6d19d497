import { loadConfig } from '../../shared/config.js';
import { createProjectorHandler } from './handler.js';

export const handler = createProjectorHandler(loadConfig());
