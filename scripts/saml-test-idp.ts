/**
 * Runs SimpleSAMLphp as a SAML test identity provider next to a development bridge: the users of the
 * test catalogue, one service provider per directory id given (the bridge's SP keys read from its
 * secrets file). Prints each directory's definition to add with the CLI, then runs until Ctrl-C.
 *
 *   npm run saml-test-idp -- [--issuer http://localhost:3000] [directory id …]   (default: test-saml)
 *
 * A directory id ending in `-google` gets Google Workspace attribute names (`;`-separated values);
 * one ending in `-encrypted` gets encrypted assertions. Needs: apt-get install simplesamlphp apache2
 * libapache2-mod-php php-xml php-mbstring.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { resolveSecrets } from '../src/config/secrets.js';
import { loadTestUsers } from '../src/testdirectory/users.js';
import { spEntityIdOf } from '../src/directories/connectors/saml/sp-metadata.js';
import { startSimpleSamlPhp } from '../test/support/simplesamlphp.js';

const { values, positionals } = parseArgs({ options: { issuer: { type: 'string' } }, allowPositionals: true });
const config = loadConfig();
const issuer = (values.issuer ?? config.issuer).replace(/\/+$/, '');
const secrets = await resolveSecrets(config);
const ids = positionals.length ? positionals : ['test-saml'];
const idp = await startSimpleSamlPhp({
  users: loadTestUsers(resolve(config.testDirectory.usersFile)),
  serviceProviders: ids.map((id) => ({
    entityId: spEntityIdOf(issuer, id),
    acsUrl: `${issuer}/upstream/${id}/callback`,
    signingCert: secrets.saml.signing[0]!.cert,
    encryptionCert: secrets.saml.encryption[0]!.cert,
    googleStyle: id.endsWith('-google'),
    encryptAssertion: id.endsWith('-encrypted'),
  })),
});
console.log(`SimpleSAMLphp runs at ${idp.baseUrl} (metadata ${idp.metadataUrl}); users as in ${config.testDirectory.usersFile}`);
for (const id of ids) {
  const definition = {
    type: 'saml',
    id,
    displayName: { fi: `SAML-testikoulu (${id})`, sv: `SAML-testskola (${id})`, en: `SAML test school (${id})` },
    metadataUrl: idp.metadataUrl,
    uniqueIdAttribute: 'mpassUserIdentity',
    accounts: 'test',
  };
  console.log(`\n${id}:\n${JSON.stringify(definition, null, 2)}`);
}
console.log('\nAdd each with `npm run admin -- directory add --file <file>` and `directory start-testing <id>`, or put them into `upstreams`. Ctrl-C stops.');
const stop = (): void => {
  void idp.stop().finally(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
