/** `npm run openapi`: regenerates docs/openapi.json from the route schemas (a test fails when it is stale). */
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../shared/http/openapi.js';

writeFileSync('docs/openapi.json', `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log('wrote docs/openapi.json');
