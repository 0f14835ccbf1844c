import { resolve } from 'node:path';
import { loadTestUsers } from '../users.js';
import { startWilmaServer } from './server.js';

/**
 * Runs the Wilma simulator on its own, for trying a Wilma directory against a bridge by hand:
 *   WILMA_SECRET=… [WILMA_PORT=4100] [WILMA_USERS=config/test-users.json] node --import tsx src/testdirectory/wilma/main.ts
 * Give the bridge a directory { "type": "wilma", "baseUrl": "<printed URL>" } with the same secret.
 */
const secret = process.env.WILMA_SECRET;
if (!secret || secret.length < 16) {
  console.error('WILMA_SECRET: the shared secret (at least 16 characters) is required');
  process.exit(2);
}
const handle = await startWilmaServer({
  secret,
  users: loadTestUsers(resolve(process.env.WILMA_USERS ?? 'config/test-users.json')),
  port: Number(process.env.WILMA_PORT ?? 4100),
});
console.log(`Wilma simulator at ${handle.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void handle.stop().then(() => process.exit(0)));
