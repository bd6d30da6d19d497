/** `npm run token -- <playerId> [ttlSeconds]`: a dev player token for the local gateway (HS256, sub = the player). */
import { loadConfig } from '../shared/config.js';
import { playerIdSchema } from '../shared/domain/player/commands.js';
import { mintPlayerToken } from '../local/gateway.js';
import { localSecrets } from './localSecrets.js';

const [playerId, ttl] = process.argv.slice(2);
const id = playerIdSchema.safeParse(playerId);
if (!id.success) {
  console.error('usage: npm run token -- <playerId> [ttlSeconds]   (playerId: 1-64 of A-Z a-z 0-9 _ -)');
  process.exit(2);
}
const { jwtSecret } = localSecrets(loadConfig());
console.log(await mintPlayerToken(jwtSecret, id.data, ttl ? Number(ttl) : undefined));
