/** `npm run token -- <playerId> [ttlSeconds]`: a dev player token for the local gateway (HS256, sub = the player). */
import { loadConfig } from '../shared/config.js';
import { playerIdSchema } from '../shared/domain/player/commandSchemas.js';
import { mintPlayerToken } from '../local/gateway.js';
import { localSecrets } from './localSecrets.js';
import { parseScriptArgs, usageError, wholeNumber } from './commandLine.js';

const USAGE =
  'usage: npm run token -- <playerId> [ttlSeconds]   (playerId: 1-64 of A-Z a-z 0-9 _ -; ttlSeconds: default 24 h)';
const { positionals } = parseScriptArgs(USAGE, { options: {}, allowPositionals: true });
const [playerId, ttl, ...extra] = positionals;
const id = playerIdSchema.safeParse(playerId);
if (!id.success || extra.length > 0) usageError(USAGE);
const ttlSeconds = ttl === undefined ? undefined : wholeNumber(USAGE, 'ttlSeconds', ttl);
const { jwtSecret } = localSecrets(loadConfig());
console.log(await mintPlayerToken(jwtSecret, id.data, ttlSeconds));
