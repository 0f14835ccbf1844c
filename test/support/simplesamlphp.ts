import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestUser } from '../../src/testdirectory/users.js';
import { certificateBody, generateSamlKeyPair } from '../../src/config/saml-keys.js';
import { onFreePort } from './ports.js';

/**
 * A real SAML identity provider for tests: SimpleSAMLphp 1.19 (Debian package `simplesamlphp`, with
 * `apache2`, `libapache2-mod-php`, `php-xml`, `php-mbstring`; `.ci/run` installs them) under a
 * private Apache on a free loopback port, with its own ServerRoot and configuration in a temporary
 * directory. The users are the catalogue of the bundled OIDC test directory, with the attribute
 * names AD FS uses as MPASSid configures it; a service provider may ask for Google Workspace's names
 * instead, with multi-valued attributes as one `;`-separated value.
 */

interface SamlTestSp {
  entityId: string;
  acsUrl: string;
  /** PEM certificates of the SP (its AuthnRequests are checked against the signing one). */
  signingCert: string;
  encryptionCert: string;
  /** Encrypt the assertion to the SP's encryption certificate (AES-128-CBC, RSA-OAEP). */
  encryptAssertion?: boolean;
  /** Google Workspace attribute names, multi-values `;`-separated (else AD FS names, several values). */
  googleStyle?: boolean;
  /** Sign the Response around the assertion too (SimpleSAMLphp's default); false: only the assertion. */
  signResponse?: boolean;
}

export interface SimpleSamlPhpHandle {
  baseUrl: string;
  /** The IdP's metadata URL (SimpleSAMLphp generates a new signing key for each start of this helper). */
  metadataUrl: string;
  entityId: string;
  /** SimpleSAMLphp's log and Apache's error log (for a failing test's message). */
  logs(): string;
  stop(): Promise<void>;
}

const APACHE_MODULES = '/usr/lib/apache2/modules';
const SSP_WWW = '/usr/share/simplesamlphp/www';
const READY_TIMEOUT_MS = 20_000;

/** Whether this machine has what the helper needs (so a test can say precisely what is missing). */
function simpleSamlPhpMissing(): string | undefined {
  const apache = ['/usr/sbin/apache2', '/usr/bin/apache2'].find((p) => existsSync(p));
  if (!apache) return 'apache2 is not installed';
  if (!existsSync(SSP_WWW)) return 'simplesamlphp is not installed';
  if (!existsSync(`${APACHE_MODULES}/mod_mpm_prefork.so`)) return 'the prefork MPM of apache2 is missing';
  if (!findPhpModule()) return 'libapache2-mod-php is not installed';
  return undefined;
}

function findPhpModule(): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `ls ${APACHE_MODULES} | grep -E '^libphp[0-9.]*\\.so$' | head -1`])
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** The AD FS attribute name of each claim of the test catalogue. */
const ADFS_NAMES: Record<string, string> = {
  given_name: 'mpassGivenName',
  family_name: 'mpassSurname',
  nickname: 'mpassNickName',
  learner_id: 'mpassLearnerId',
  school_codes: 'mpassSchoolCode',
  groups: 'mpassClassCode',
  group_levels: 'mpassClassLevel',
  roles: 'mpassUserRole',
  learning_materials_charges: 'mpassLearningMaterialsCharge',
};

/** Google Workspace's names for the same attributes. */
const GOOGLE_NAMES: Record<string, string> = {
  mpassGivenName: 'firstName',
  mpassSurname: 'surname',
  mpassNickName: 'nickName',
  mpassLearnerId: 'learnerId',
  mpassSchoolCode: 'schoolCode',
  mpassClassCode: 'class',
  mpassClassLevel: 'classLevel',
  mpassUserRole: 'userRole',
  mpassLearningMaterialsCharge: 'learningMaterialsCharge',
};

/** The users as SimpleSAMLphp's exampleauth:UserPass wants them: `user:password` → attributes (lists). */
function userPassSource(users: TestUser[]): Record<string, unknown> {
  const source: Record<string, unknown> = { 0: 'exampleauth:UserPass' };
  for (const user of users) {
    const attributes: Record<string, string[]> = { mpassUserIdentity: [user.username] };
    for (const [claim, value] of Object.entries(user.claims)) {
      attributes[ADFS_NAMES[claim]!] = Array.isArray(value) ? value : [value];
    }
    source[`${user.username}:${user.password}`] = attributes;
  }
  return source;
}

function spMetadata(sp: SamlTestSp): Record<string, unknown> {
  const authproc: Record<string, unknown> = {};
  if (sp.googleStyle) {
    authproc[10] = { class: 'core:AttributeMap', ...GOOGLE_NAMES };
    // Google Workspace sends a multi-valued attribute as one value, its parts `;`-separated.
    authproc[20] = {
      class: 'core:PHP',
      code: "foreach ($attributes as $name => $values) { if (count($values) > 1) { $attributes[$name] = [implode(';', $values)]; } }",
    };
  }
  return {
    AssertionConsumerService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: sp.acsUrl }],
    // AD FS as MPASSid configures it requires signed requests: so does this IdP.
    'validate.authnrequest': true,
    keys: [
      { signing: true, encryption: false, type: 'X509Certificate', X509Certificate: certificateBody(sp.signingCert) },
      { signing: false, encryption: true, type: 'X509Certificate', X509Certificate: certificateBody(sp.encryptionCert) },
    ],
    'assertion.encryption': sp.encryptAssertion ?? false,
    'saml20.sign.response': sp.signResponse ?? true,
    'saml20.sign.assertion': true,
    NameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    'simplesaml.nameidattribute': 'mpassUserIdentity',
    'attributes.NameFormat': 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
    'signature.algorithm': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    authproc,
  };
}

/** Owner of what SimpleSAMLphp writes: Apache's children run as www-data when started as root. */
function wwwData(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'www-data']).toString()), gid: Number(execFileSync('id', ['-g', 'www-data']).toString()) };
  } catch {
    return undefined;
  }
}

/** A PHP expression for this JSON value (a single-quoted literal: PHP expands `$` in double quotes). */
const php = (json: unknown): string => `json_decode('${JSON.stringify(json).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}', true)`;

type SimpleSamlPhpOptions = { users: TestUser[]; serviceProviders: SamlTestSp[] };

/** Starts SimpleSAMLphp as the IdP of these service providers, with these users. */
export async function startSimpleSamlPhp(options: SimpleSamlPhpOptions): Promise<SimpleSamlPhpHandle> {
  const missing = simpleSamlPhpMissing();
  if (missing) throw new Error(`SimpleSAMLphp cannot be started: ${missing} (apt-get install simplesamlphp apache2 libapache2-mod-php php-xml php-mbstring)`);
  // Apache is told its port (Listen) and so is SimpleSAMLphp (baseurlpath): picked first, and a
  // new one (with a new configuration) when Apache exits because it was taken meanwhile.
  return onFreePort((port) => startOn(port, options));
}

async function startOn(port: number, options: SimpleSamlPhpOptions): Promise<SimpleSamlPhpHandle> {
  const baseUrl = `http://127.0.0.1:${port}/simplesaml`;
  const root = mkdtempSync(join(tmpdir(), 'mpassid-simplesamlphp-'));
  chmodSync(root, 0o755);
  const dirs = ['config', 'metadata', 'cert', 'log', 'tmp', 'data', 'sessions', 'htdocs'].map((d) => join(root, d));
  for (const dir of dirs) mkdirSync(dir, { recursive: true, mode: 0o755 });
  const owner = wwwData();
  for (const writable of ['log', 'tmp', 'data', 'sessions']) {
    const dir = join(root, writable);
    if (owner) chownSync(dir, owner.uid, owner.gid);
    else chmodSync(dir, 0o777);
  }

  // A new IdP key for every start, as a fresh SimpleSAMLphp configuration would have.
  const idpKey = await generateSamlKeyPair('SimpleSAMLphp test IdP', 365);
  writeFileSync(join(root, 'cert', 'idp.key'), idpKey.key, { mode: 0o644 });
  writeFileSync(join(root, 'cert', 'idp.crt'), idpKey.cert, { mode: 0o644 });

  const config = {
    baseurlpath: `${baseUrl}/`,
    certdir: `${join(root, 'cert')}/`,
    loggingdir: `${join(root, 'log')}/`,
    datadir: `${join(root, 'data')}/`,
    tempdir: join(root, 'tmp'),
    technicalcontact_name: 'MPASSid Bridge tests',
    technicalcontact_email: 'tests@example.invalid',
    timezone: 'UTC',
    secretsalt: randomBytes(24).toString('hex'),
    'auth.adminpassword': randomBytes(24).toString('hex'),
    'admin.protectindexpage': true,
    'admin.protectmetadata': false,
    'enable.saml20-idp': true,
    'enable.shib13-idp': false,
    'logging.handler': 'file',
    'logging.logfile': 'simplesamlphp.log',
    showerrors: true,
    errorreporting: false,
    'session.cookie.secure': false,
    'session.phpsession.cookiename': 'SimpleSAMLphpSession',
    'session.phpsession.savepath': join(root, 'sessions'),
    'store.type': 'phpsession',
    'language.default': 'en',
    'module.enable': { exampleauth: true, core: true, saml: true, admin: true },
    'metadata.sources': [{ type: 'flatfile', directory: join(root, 'metadata') }],
  };
  writeFileSync(join(root, 'config', 'config.php'), `<?php\n$config = ${php(config)};\n$config['logging.level'] = SimpleSAML\\Logger::NOTICE;\n`);
  writeFileSync(
    join(root, 'config', 'authsources.php'),
    `<?php\n$config = ${php({ admin: ['core:AdminPassword'], 'test-users': userPassSource(options.users) })};\n`,
  );
  writeFileSync(
    join(root, 'metadata', 'saml20-idp-hosted.php'),
    `<?php\n$metadata['__DYNAMIC:1__'] = ${php({
      host: '__DEFAULT__',
      privatekey: 'idp.key',
      certificate: 'idp.crt',
      auth: 'test-users',
      'signature.algorithm': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      'attributes.NameFormat': 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
    })};\n`,
  );
  writeFileSync(
    join(root, 'metadata', 'saml20-sp-remote.php'),
    `<?php\n$metadata = ${php(Object.fromEntries(options.serviceProviders.map((sp) => [sp.entityId, spMetadata(sp)])))};\n`,
  );

  const phpModule = findPhpModule()!;
  const apacheConf = join(root, 'httpd.conf');
  writeFileSync(
    apacheConf,
    [
      `ServerRoot "${root}"`,
      `Listen 127.0.0.1:${port}`,
      'ServerName 127.0.0.1',
      `PidFile "${join(root, 'httpd.pid')}"`,
      `LoadModule mpm_prefork_module ${APACHE_MODULES}/mod_mpm_prefork.so`,
      ...['authz_core', 'mime', 'alias', 'env', 'dir'].map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`),
      `LoadModule php_module ${APACHE_MODULES}/${phpModule}`,
      ...(owner ? ['User www-data', 'Group www-data'] : []),
      'StartServers 1',
      'MinSpareServers 1',
      'MaxSpareServers 3',
      'MaxRequestWorkers 10',
      'TypesConfig /etc/mime.types',
      `ErrorLog "${join(root, 'log', 'error.log')}"`,
      'LogLevel warn',
      `DocumentRoot "${join(root, 'htdocs')}"`,
      `Alias /simplesaml ${SSP_WWW}`,
      `<Directory ${SSP_WWW}>`,
      '  Require all granted',
      '  DirectoryIndex index.php',
      '  AcceptPathInfo On',
      '</Directory>',
      '<FilesMatch "\\.php$">',
      '  SetHandler application/x-httpd-php',
      '</FilesMatch>',
      `SetEnv SIMPLESAMLPHP_CONFIG_DIR ${join(root, 'config')}`,
      '',
    ].join('\n'),
  );

  const apache = ['/usr/sbin/apache2', '/usr/bin/apache2'].find((p) => existsSync(p))!;
  // Its own session (setsid): prefork Apache signals its whole process group when it stops, which
  // would otherwise be the test runner's.
  const child: ChildProcess = spawn(apache, ['-f', apacheConf, '-DFOREGROUND'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close': exited, and all it wrote to stderr has been read (its reason, e.g. the port being taken).
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.unref();
  // Detached, it would outlive a runner that dies without calling stop().
  const reap = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', reap);

  const logs = (): string =>
    ['log/simplesamlphp.log', 'log/error.log']
      .map((f) => join(root, f))
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n') + stderr;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.ref();
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    process.removeListener('exit', reap);
    rmSync(root, { recursive: true, force: true });
  };

  const metadataUrl = `${baseUrl}/saml2/idp/metadata.php`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await closed;
      const why = logs();
      await stop();
      throw new Error(`Apache with SimpleSAMLphp exited with ${child.exitCode}: ${why.slice(-1500)}`);
    }
    try {
      const response = await fetch(metadataUrl, { signal: AbortSignal.timeout(2000) });
      const body = await response.text();
      // Its error pages answer 200 too: ready means the metadata itself.
      if (response.ok && body.includes('IDPSSODescriptor')) break;
      if (response.ok && Date.now() > deadline) throw new Error(`not metadata: ${body.slice(0, 500)}`);
    } catch (err) {
      if (Date.now() > deadline) {
        const why = logs();
        await stop();
        throw new Error(`SimpleSAMLphp did not become ready on port ${port}: ${(err as Error).message}\n${why.slice(-1500)}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { baseUrl, metadataUrl, entityId: metadataUrl, logs, stop };
}
