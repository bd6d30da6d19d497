import { loadConfig } from '../../shared/config.js';
import { createRewardSchedulerHandler } from './handler.js';

export const handler = createRewardSchedulerHandler(loadConfig());
