import { loadConfig } from '../../shared/config.js';
import { createBackupWorkerHandler } from './handler.js';

export const handler = createBackupWorkerHandler(loadConfig());
