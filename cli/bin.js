#!/usr/bin/env node
// The `gamekeep` bin (package.json): runs the TypeScript CLI through tsx, resolved from the project, from any
// directory. `npx gamekeep …` in the project runs it on the project's Node 22 (node_modules/.bin comes first).
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./gamekeep.ts');
await run();
