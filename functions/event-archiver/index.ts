import { loadConfig } from '../../shared/config.js';
import { createEventArchiverHandler } from './handler.js';

export const handler = createEventArchiverHandler(loadConfig());
