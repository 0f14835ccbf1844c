import { underIssuer } from '../../http/base-path.js';
import type { BundledSimulator } from '../bundled-simulator.js';
import { createWilmaSimulator } from './simulator.js';

/**
 * The bundled Wilma test directory. The simulator also answers what the legacy answer lacks, under
 * the names the mapping here reads, so its test users pass the validation table as they do at the
 * OIDC test directory.
 */
export const WILMA_SIMULATOR: BundledSimulator = {
  id: 'test-wilma',
  path: '/test-wilma',
  settings: (baseUrl) => ({
    type: 'wilma',
    displayName: { fi: 'Mansikkalan testikoulu (Wilma)', sv: 'Mansikkala testskola (Wilma)', en: 'Mansikkala test school (Wilma)' },
    baseUrl,
    userAttributes: {
      learner_id: 'learner_id',
      nickname: 'nickname',
      group_levels: 'roles[].class_level',
      learning_materials_charges: 'roles[].learning_materials_charge',
    },
  }),
  serve: ({ baseUrl, sharedSecret, users, config }) =>
    createWilmaSimulator({
      baseUrl,
      secret: sharedSecret,
      users,
      returnUrlPrefixes: [underIssuer(config.issuer, '/upstream/test-wilma/callback?')],
      secureCookies: config.issuer.startsWith('https://'),
    }).middleware,
};
