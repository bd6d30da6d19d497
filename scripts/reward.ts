/**
 * `npm run reward -- [--date YYYY-MM-DD]`: triggers the daily reward run of a date (today, UTC, by default) on the
 * running local stack through the operators' route, calling again while the run reports it must continue.
 */
import { isoDateSchema } from '../shared/http/schemas.js';
import { runningStack } from './localSecrets.js';

const args = process.argv.slice(2);
const i = args.indexOf('--date');
const date = isoDateSchema.safeParse(i >= 0 ? args[i + 1] : new Date().toISOString().slice(0, 10));
if (!date.success) {
  console.error('usage: npm run reward -- [--date YYYY-MM-DD]');
  process.exit(2);
}
const config = runningStack();
for (let call = 1; ; call++) {
  const res = await fetch(`http://127.0.0.1:${config.apiPort}/v1/admin/rewards/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: date.data }),
  });
  const body = (await res.json()) as { status?: string; sent?: number };
  console.log(`call ${call}: ${res.status} ${JSON.stringify(body)}`);
  if (res.status !== 200 && res.status !== 202) process.exit(1);
  if (body.status === 'done') break;
}
