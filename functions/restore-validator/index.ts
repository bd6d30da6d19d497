import { loadConfig } from '../../shared/config.js';
import { createRestoreValidatorHandler } from './handler.js';

export const handler = createRestoreValidatorHandler(loadConfig());
