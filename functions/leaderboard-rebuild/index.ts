import { loadConfig } from '../../shared/config.js';
import { createLeaderboardRebuildHandler } from './handler.js';

export const handler = createLeaderboardRebuildHandler(loadConfig());
