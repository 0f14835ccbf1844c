import type { BundledSimulator } from '../bundled-simulator.js';
import { createOpinsysSimulator } from './simulator.js';

const ORGANISATION = 'testikunta.opinsys.fi';

/** The bundled Opinsys test directory. */
export const OPINSYS_SIMULATOR: BundledSimulator = {
  id: 'test-opinsys',
  path: '/test-opinsys',
  settings: (baseUrl) => ({
    type: 'opinsys',
    displayName: { fi: 'Mansikkalan testikoulu (Opinsys)', sv: 'Mansikkala testskola (Opinsys)', en: 'Mansikkala test school (Opinsys)' },
    baseUrl,
    organisation: ORGANISATION,
  }),
  serve: ({ sharedSecret, users, config, secrets }) =>
    createOpinsysSimulator({
      users,
      sharedSecret,
      returnToHosts: [new URL(config.issuer).host],
      organisationDomain: ORGANISATION,
      cookieKeys: secrets.cookieKeys,
      secureCookies: config.issuer.startsWith('https://'),
    }).middleware,
};
