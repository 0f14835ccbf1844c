import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DIRECTORY_ACTIONS } from '../directories/lifecycle.js';
import { LIFECYCLE_ACTIONS } from '../services/registry.js';
import { describeInit, initDeployment } from './init.js';
import { hashPassword } from './passwords.js';
import { addKey, promoteKey, readJwks, retireKey, summarize, type KeySummary } from './signing-keys.js';
import { printable, scrub } from './terminal-text.js';

/**
 * Operators' command line over the admin API (`npm run admin -- <command>`). Reads ADMIN_URL (the
 * bridge's issuer URL), ADMIN_USER and ADMIN_PASSWORD from the environment. Exits non-zero with a
 * message on stderr when anything fails.
 */

const USAGE = `usage: npm run admin -- <command> [options]

  init [--dir secrets] [--operator NAME]
                                     write the secrets of a new deployment (signing keys, cookie keys,
                                     subject salt, directory keys, a first operator) to a new folder
  keys list|add|promote|retire [--file secrets/jwks.json] [--alg RS256|ES256] [--kid KID]
                                     rotate the signing keys without downtime (see README)
  hash-password                      read a password on stdin, print its hash for admin.operators
  issue-token [--expires SECONDS] [--uses N] [--note TEXT]
                                     issue an initial access token for a service provider
  list [--state pending|approved|rejected|suspended]
                                     list registered services (pending first)
  show <client_id>                   metadata, operator settings and history of a service
  approve <client_id> [--reason TEXT]
  reject <client_id> [--reason TEXT]
  suspend <client_id> [--reason TEXT]
  reinstate <client_id> [--reason TEXT]
  publish-to-demo <client_id> [--reason TEXT]
  unpublish-from-demo <client_id> [--reason TEXT]
  approve-change <client_id> [--reason TEXT]
  reject-change <client_id> [--reason TEXT]
                                     decide a change of reviewed metadata (names, URIs, keys)
                                     an approved service asked for (see show: pendingChange)
  settings <client_id> [--allow-test-learner-ids true|false] [--released-claims all|claim,claim]
                       [--refresh-tokens true|false] [--public-subject true|false] [--reason TEXT]
  audit [--client CLIENT_ID] [--directory DIRECTORY_ID] [--limit N] [--offset N]
                                     the newest entries (100 unless --limit), --offset N pages back
  audit verify                       check the audit log's hash chain from its first entry

  directory list [--status draft|testing|approved|suspended]
  directory show <id>                metadata, self-audit, checks, health and history (never the secret)
  directory add --file FILE [--client-secret-stdin]
                                     add a directory (JSON definition, see README); it starts as a draft
  directory update <id> --file FILE [--client-secret-stdin] [--reason TEXT]
                                     change fields of a directory (JSON with the fields to change)
  directory remove <id> [--reason TEXT]
  directory self-audit <id> --file FILE
                                     record the education provider's self-audit (JSON)
  directory start-testing|approve|suspend|reinstate|return-to-testing <id> [--reason TEXT]
                                     [--without-evidence]  (approve without a successful check; needs --reason)
  directory check-link <id> [--expires SECONDS] [--note TEXT]
                                     issue an attribute check link for the directory's administrator
  directory check-links <id>         the directory's check links that still work
  directory revoke-check-link <id> <link id> [--reason TEXT]
                                     end a check link before it expires
  directory health                   check every directory now and show the result

environment: ADMIN_URL (e.g. https://mpassid.example.fi), ADMIN_USER, ADMIN_PASSWORD`;

class CliError extends Error {}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new CliError(`${name} is not set`);
  return value;
}

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const base = requireEnv('ADMIN_URL').replace(/\/+$/, '');
  const auth = Buffer.from(`${requireEnv('ADMIN_USER')}:${requireEnv('ADMIN_PASSWORD')}`).toString('base64');
  let response: Response;
  try {
    response = await fetch(`${base}/admin/api${path}`, {
      method,
      headers: { authorization: `Basic ${auth}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${base}: ${(err as Error).message}`);
  }
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    // Everything printed from here on came from the bridge (and, through it, from service providers).
    json = text ? (scrub(JSON.parse(text)) as Record<string, unknown>) : {};
  } catch {
    throw new CliError(`unexpected answer from ${base} (HTTP ${response.status}): not JSON`);
  }
  if (!response.ok) {
    const retry = response.headers.get('retry-after');
    const wait = response.status === 429 && retry ? ` (retry after ${printable(retry)} s)` : '';
    throw new CliError(`HTTP ${response.status} ${String(json.error ?? '')}: ${String(json.error_description ?? printable(text))}${wait}`);
  }
  return json;
}

function bool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new CliError(`--${name} must be true or false`);
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliError(`--${name} must be a whole number`);
  return Number(value);
}

const describeView = (v: Record<string, unknown> | undefined): string => {
  if (!v) return '-';
  if (!('settings' in v)) return `${String(v.status)}${v.suspendedFrom ? ` (from ${String(v.suspendedFrom)})` : ''}`;
  const settings = v.settings as Record<string, unknown> | undefined;
  const claims = settings?.releasedClaims === null ? 'all' : (settings?.releasedClaims as string[] | undefined)?.join(',');
  return `${String(v.status)}${v.suspended ? ' (suspended)' : ''}${v.publishedToDemo ? ' demo' : ''} testIds=${String(settings?.allowTestLearnerIds)} refresh=${String(settings?.refreshTokens)} claims=${claims}`;
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function readJsonFile(path: string | undefined, what: string): Record<string, unknown> {
  if (!path) throw new CliError(`${what} needs --file FILE`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    return json as Record<string, unknown>;
  } catch {
    throw new CliError(`${path} is not a JSON object`);
  }
}

interface DirectoryOptions {
  status?: string | undefined;
  file?: string | undefined;
  reason?: string | undefined;
  expires?: string | undefined;
  note?: string | undefined;
  'client-secret-stdin'?: boolean | undefined;
  'without-evidence'?: boolean | undefined;
}

async function withSecretFromStdin(body: Record<string, unknown>, options: DirectoryOptions): Promise<Record<string, unknown>> {
  if (!options['client-secret-stdin']) return body;
  const secret = await readStdin();
  if (!secret) throw new CliError('no client secret on stdin');
  return { ...body, clientSecret: secret };
}

/** Signing-key rotation on the JWKS file (local: no admin API involved). */
async function keysCommand(step: string | undefined, options: { file: string; alg: string | undefined; kid: string | undefined }): Promise<void> {
  const show = (keys: KeySummary[]) => {
    for (const k of keys) console.log(`  ${k.kid}  ${k.alg}  ${k.role}`);
  };
  try {
    switch (step) {
      case 'list':
        show(summarize(readJwks(options.file)));
        return;
      case 'add': {
        const alg = options.alg ?? 'RS256';
        if (alg !== 'RS256' && alg !== 'ES256') throw new CliError('--alg must be RS256 or ES256');
        const added = await addKey(options.file, alg);
        console.log(`added ${added.kid} (${added.alg}), published but not signing yet.`);
        console.log('Restart the instances one by one; once services have fetched the new JWKS (a day), promote it.');
        return;
      }
      case 'promote':
        if (!options.kid) throw new CliError('keys promote needs --kid');
        show(promoteKey(options.file, options.kid));
        console.log('Restart the instances one by one. Retire the old key once every token it signed has expired.');
        return;
      case 'retire':
        if (!options.kid) throw new CliError('keys retire needs --kid');
        show(retireKey(options.file, options.kid));
        return;
      default:
        throw new CliError('keys: list, add, promote or retire');
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message);
  }
}

/** What the education provider configures at their directory (the bridge's addresses for this type). */
function printSetup(detail: Record<string, unknown>): void {
  const setup = (detail.setup as Record<string, unknown> | undefined) ?? { redirectUri: detail.callbackUrl };
  console.log('  the education provider configures at their directory:');
  for (const [name, value] of Object.entries(setup)) console.log(`    ${name}: ${String(value)}`);
}

async function directoryCommand([sub, id, linkId]: string[], options: DirectoryOptions): Promise<void> {
  const needId = (): string => {
    if (!id) throw new CliError(`directory ${sub ?? ''} needs a directory id`);
    return encodeURIComponent(id);
  };
  switch (sub) {
    case 'list': {
      const out = await api('GET', `/directories${options.status ? `?status=${encodeURIComponent(options.status)}` : ''}`);
      const list = out.directories as Array<Record<string, unknown>>;
      if (list.length === 0) console.log('no directories');
      for (const d of list) {
        const name = (d.displayName as Record<string, string> | undefined)?.fi ?? '';
        const health = (d.health as Record<string, unknown> | undefined)?.status ?? 'unknown';
        const check = d.latestCheck ? `check ${String((d.latestCheck as Record<string, unknown>).outcome)}` : 'no check';
        const audit = d.selfAuditComplete === undefined ? '' : d.selfAuditComplete ? 'self-audit complete' : 'self-audit incomplete';
        console.log(
          `${String(d.status).padEnd(10)} ${String(d.id)}  ${name}  [${String(d.source)}] health=${String(health)} ${d.source === 'registry' ? `${audit}, ${check}` : ''}`.trimEnd(),
        );
      }
      return;
    }
    case 'show': {
      const out = await api('GET', `/directories/${needId()}`);
      console.log(JSON.stringify(out, null, 2));
      printSetup(out);
      return;
    }
    case 'add': {
      const body = await withSecretFromStdin(readJsonFile(options.file, 'directory add'), options);
      const out = await api('POST', '/directories', body);
      console.log(`${String(out.id)}: added as ${String(out.status)}`);
      printSetup(out);
      return;
    }
    case 'update': {
      const target = needId();
      const body = await withSecretFromStdin(readJsonFile(options.file, 'directory update'), options);
      const out = await api('PATCH', `/directories/${target}`, options.reason ? { ...body, reason: options.reason } : body);
      const changed = ((out.detail as Record<string, unknown> | undefined)?.changed as string[] | undefined) ?? [];
      console.log(`${id}: updated (${changed.length ? changed.join(', ') : 'nothing changed'})`);
      return;
    }
    case 'remove': {
      await api('DELETE', `/directories/${needId()}`, options.reason ? { reason: options.reason } : {});
      console.log(`${id}: removed`);
      return;
    }
    case 'self-audit': {
      const target = needId();
      const out = await api('PUT', `/directories/${target}/self-audit`, readJsonFile(options.file, 'directory self-audit'));
      const gaps = out.gaps as string[];
      console.log(gaps.length ? `${id}: self-audit recorded, incomplete:\n${gaps.map((g) => `  - ${g}`).join('\n')}` : `${id}: self-audit recorded, complete`);
      return;
    }
    case 'check-link': {
      const target = needId();
      const body = { expiresInSeconds: int(options.expires, 'expires'), note: options.note };
      const out = await api('POST', `/directories/${target}/check-links`, JSON.parse(JSON.stringify(body)));
      console.log(`attribute check link ${String(out.id)} for ${id} (expires ${String(out.expiresAt)}):`);
      console.log(String(out.url));
      return;
    }
    case 'check-links': {
      const out = await api('GET', `/directories/${needId()}/check-links`);
      const links = out.links as Array<Record<string, unknown>>;
      if (links.length === 0) console.log('no working check links');
      for (const l of links)
        console.log(
          `${String(l.id)}  issued by ${String(l.issuedBy)} ${String(l.issuedAt)}, expires ${String(l.expiresAt)}${l.note ? `  (${String(l.note)})` : ''}`,
        );
      return;
    }
    case 'revoke-check-link': {
      const target = needId();
      if (!linkId) throw new CliError('directory revoke-check-link needs a link id (see directory check-links)');
      await api('DELETE', `/directories/${target}/check-links/${encodeURIComponent(linkId)}`, options.reason ? { reason: options.reason } : {});
      console.log(`${id}: check link ${linkId} revoked`);
      return;
    }
    case 'health': {
      const out = await api('POST', '/directories/health-check', {});
      for (const h of out.health as Array<Record<string, unknown>>) {
        console.log(
          `${String(h.status).padEnd(8)} ${String(h.id)}  checked ${String(h.checkedAt ?? '-')}${h.lastError ? `  last error: ${String(h.lastError)}` : ''}`,
        );
      }
      return;
    }
    default: {
      if (!sub || !(DIRECTORY_ACTIONS as readonly string[]).includes(sub)) throw new CliError(`unknown directory command "${sub ?? ''}"\n\n${USAGE}`);
      const target = needId();
      const body = { ...(options.reason ? { reason: options.reason } : {}), ...(options['without-evidence'] ? { withoutEvidence: true } : {}) };
      const out = await api('POST', `/directories/${target}/${sub}`, body);
      console.log(`${id}: ${sub} done (${describeView(out.before as Record<string, unknown>)} -> ${describeView(out.after as Record<string, unknown>)})`);
    }
  }
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      expires: { type: 'string' },
      uses: { type: 'string' },
      note: { type: 'string' },
      state: { type: 'string' },
      reason: { type: 'string' },
      'allow-test-learner-ids': { type: 'string' },
      'released-claims': { type: 'string' },
      'refresh-tokens': { type: 'string' },
      'public-subject': { type: 'string' },
      client: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      directory: { type: 'string' },
      file: { type: 'string' },
      'client-secret-stdin': { type: 'boolean' },
      'without-evidence': { type: 'boolean' },
      dir: { type: 'string' },
      operator: { type: 'string' },
      alg: { type: 'string' },
      kid: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, clientId] = positionals;
  if (!command || values.help) {
    console.log(USAGE);
    if (!command && !values.help) process.exitCode = 2;
    return;
  }
  const needClient = (): string => {
    if (!clientId) throw new CliError(`${command} needs a client_id`);
    return encodeURIComponent(clientId);
  };

  switch (command) {
    case 'init': {
      const result = await initDeployment({ dir: values.dir ?? 'secrets', operator: values.operator ?? 'operator' }).catch((err: Error) => {
        throw new CliError(err.message);
      });
      console.log(describeInit(result));
      return;
    }
    case 'keys': {
      await keysCommand(clientId, { file: values.file ?? 'secrets/jwks.json', alg: values.alg, kid: values.kid });
      return;
    }
    case 'hash-password': {
      const password = await readStdin();
      if (password.length < 12) throw new CliError('the password must be at least 12 characters');
      console.log(await hashPassword(password));
      return;
    }
    case 'issue-token': {
      const body = { expiresInSeconds: int(values.expires, 'expires'), uses: int(values.uses, 'uses'), note: values.note };
      const out = await api('POST', '/initial-access-tokens', JSON.parse(JSON.stringify(body)));
      console.log(`initial access token: ${String(out.initialAccessToken)}`);
      console.log(`uses: ${String(out.uses)}, expires: ${String(out.expiresAt)}`);
      console.log(`registration endpoint: ${String(out.registrationEndpoint)}`);
      return;
    }
    case 'list': {
      const out = await api('GET', `/clients${values.state ? `?state=${encodeURIComponent(values.state)}` : ''}`);
      const clients = out.clients as Array<Record<string, unknown>>;
      if (clients.length === 0) console.log('no services');
      for (const c of clients) {
        console.log(
          `${String(c.state).padEnd(10)} ${String(c.clientId)}  ${String(c.clientName ?? '')}${c.publishedToDemo ? '  [demo]' : ''}${c.changePending ? '  [change pending]' : ''}  registered ${String(c.registeredAt ?? '-')}`,
        );
      }
      return;
    }
    case 'show': {
      const out = await api('GET', `/clients/${needClient()}`);
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    case 'settings': {
      const claims = values['released-claims'];
      const body = {
        allowTestLearnerIds: bool(values['allow-test-learner-ids'], 'allow-test-learner-ids'),
        refreshTokens: bool(values['refresh-tokens'], 'refresh-tokens'),
        publicSubject: bool(values['public-subject'], 'public-subject'),
        releasedClaims:
          claims === undefined
            ? undefined
            : claims === 'all'
              ? null
              : claims
                  .split(',')
                  .map((c) => c.trim())
                  .filter(Boolean),
        reason: values.reason,
      };
      const out = await api('PATCH', `/clients/${needClient()}/settings`, JSON.parse(JSON.stringify(body)));
      console.log(`${clientId}: settings updated`);
      console.log(`  before: ${describeView(out.before as Record<string, unknown>)}`);
      console.log(`  after:  ${describeView(out.after as Record<string, unknown>)}`);
      return;
    }
    case 'audit': {
      if (clientId === 'verify') {
        const result = await api('GET', '/audit/verify');
        if (result.ok === true) {
          console.log(`audit log intact: ${String(result.entries)} entries, every hash and link holds`);
        } else {
          throw new CliError(`audit log broken at entry ${String(result.brokenAt)}: ${String(result.reason)} (of ${String(result.entries)} entries)`);
        }
        return;
      }
      const query = new URLSearchParams();
      if (values.client) query.set('clientId', values.client);
      if (values.directory) query.set('directoryId', values.directory);
      if (values.limit) query.set('limit', String(int(values.limit, 'limit')));
      if (values.offset) query.set('offset', String(int(values.offset, 'offset')));
      const out = await api('GET', `/audit${query.size ? `?${query}` : ''}`);
      for (const e of out.entries as Array<Record<string, unknown>>) {
        const change = e.before ? `  ${describeView(e.before as Record<string, unknown>)} -> ${describeView(e.after as Record<string, unknown>)}` : '';
        const subject = e.clientId ?? (e.directoryId ? `directory:${String(e.directoryId)}` : '');
        console.log(`${String(e.at)}  ${String(e.operator)}  ${String(e.action)}  ${String(subject)}${change}${e.reason ? `  (${String(e.reason)})` : ''}`);
      }
      return;
    }
    case 'approve-change':
    case 'reject-change': {
      const decision = command === 'approve-change' ? 'approve' : 'reject';
      const out = await api('POST', `/clients/${needClient()}/change/${decision}`, values.reason ? { reason: values.reason } : {});
      console.log(`${clientId}: ${command} done`);
      const changes = (out.detail as { changes?: Record<string, unknown>; proposed?: Record<string, unknown> } | undefined) ?? {};
      for (const [field, value] of Object.entries(changes.changes ?? changes.proposed ?? {})) console.log(`  ${field}: ${JSON.stringify(value)}`);
      return;
    }
    case 'directory':
      await directoryCommand(positionals.slice(1), values);
      return;
    default: {
      if (!(LIFECYCLE_ACTIONS as readonly string[]).includes(command)) throw new CliError(`unknown command "${command}"\n\n${USAGE}`);
      const out = await api('POST', `/clients/${needClient()}/${command}`, values.reason ? { reason: values.reason } : {});
      console.log(`${clientId}: ${command} done`);
      console.log(`  before: ${describeView(out.before as Record<string, unknown>)}`);
      console.log(`  after:  ${describeView(out.after as Record<string, unknown>)}`);
    }
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  const message =
    err instanceof CliError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (err as Error).message : `unexpected error: ${String(err)}`;
  console.error(`admin: ${message}`);
  process.exitCode = 1;
});
