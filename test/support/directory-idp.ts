import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import { resolve } from 'node:path';
import Koa from 'koa';
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import { mountAt } from '../../src/http/mount.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import { createTestDirectory } from '../../src/testdirectory/index.js';
import { loadTestUsers, type TestUser } from '../../src/testdirectory/users.js';
import { directoryIdpKey, foreignRsaKey } from './keys.js';
import { listenOnLoopback, rebind } from './ports.js';

/** Ways a school directory can misbehave; each one is the real IdP's answer, altered. */
export type Fault =
  | 'none'
  | 'authorization-error'
  | 'token-500'
  | 'slow-token'
  | 'unsigned-id-token'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'wrong-nonce'
  | 'expired-id-token'
  | 'foreign-key'
  | 'no-id-token'
  | 'discovery-500';

export interface DirectoryIdpHandle {
  issuer: string;
  port: number;
  clientId: string;
  clientSecret: string;
  users: TestUser[];
  setFault(fault: Fault, options?: { slowMs?: number }): void;
  /** Token requests 'slow-token' is holding right now (received, not yet answered). */
  heldTokenRequests(): number;
  /** Closes the server and every open connection: the directory is down. */
  stop(): Promise<void>;
  /** Serves again on the same port (its issuer names it). */
  start(): Promise<void>;
}

const MOUNT = '/test-directory';

/** Resolves true after `ms`, or false as soon as `signal` aborts (the timer is cleared either way). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((done) => {
    const onAbort = () => {
      clearTimeout(timer);
      done(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      done(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A pre-generated RSA key (test/support/keys.ts) under the directory's kid. */
const rsaJwk = (key: JWK, kid: string): JWK => ({ ...key, kid, alg: 'RS256', use: 'sig' });

export interface DirectoryIdpOptions {
  /** Redirect URIs of the one registered client (the bridge's callback); a dummy one by default. */
  redirectUris?: string[];
  /** The catalogue; config/test-users.json by default. */
  users?: TestUser[];
  clientId?: string;
  clientSecret?: string;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** false: the users' claims only at userinfo. */
  claimsInIdToken?: boolean;
  /** Serve over https with this key and certificate (PEM), as production requires of directories. */
  tls?: { key: string; cert: string };
}

/**
 * A standalone copy of the bundled test directory on its own loopback port: a real OpenID Provider,
 * with a switch in front that alters its answers to play a misbehaving directory.
 */
export async function startDirectoryIdp(options: DirectoryIdpOptions = {}): Promise<DirectoryIdpHandle> {
  // The issuer names the port: the first server listens (on a port the OS picks) before the IdP is built.
  let app: Koa | undefined;
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => app!.callback()(req, res);
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const newServer = (): Server => {
    const s = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    s.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return s;
  };
  const first = newServer();
  const port = await listenOnLoopback(first as NetServer);
  const issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${MOUNT}`;
  const clientId = options.clientId ?? 'mpassid-bridge';
  const clientSecret = options.clientSecret ?? 'directory-client-secret-0123456789abcdef';
  const users = options.users ?? loadTestUsers(resolve('config/test-users.json'));
  const signingKey = rsaJwk(directoryIdpKey(), 'directory-key');
  // Another key under the same kid ('foreign-key').
  const foreignKey = rsaJwk(foreignRsaKey(), 'directory-key');
  const cookieKeys = ['directory-cookie-key-0123456789abcdef012'];
  const directory = createTestDirectory({
    issuer,
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris ?? ['http://127.0.0.1:9/callback'],
        ...(options.tokenEndpointAuthMethod ? { token_endpoint_auth_method: options.tokenEndpointAuthMethod } : {}),
      },
    ],
    ...(options.claimsInIdToken === false ? { claimsInIdToken: false } : {}),
    users,
    jwks: { keys: [signingKey] },
    cookieKeys,
    adapter: createMemoryStorage().adapterFactory('upstream'),
  });

  let fault: Fault = 'none';
  let slowMs = 8000;
  let held = 0;
  // Aborted by stop(): a token request held by 'slow-token' must not keep a timer (or the test) alive.
  let serving = new AbortController();

  const resign = async (token: string, change: (claims: Record<string, unknown>) => void, key: JWK = signingKey): Promise<string> => {
    const claims = { ...decodeJwt(token) } as Record<string, unknown>;
    change(claims);
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'directory-key' }).sign(await importJWK(key, 'RS256'));
  };

  // No app.keys: the directory signs its cookies with its own keys wherever it is mounted.
  app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    const path = ctx.path;
    if (fault === 'discovery-500' && path.endsWith('/.well-known/openid-configuration')) {
      ctx.status = 500;
      ctx.body = 'unavailable';
      return;
    }
    if (fault === 'authorization-error' && path === `${MOUNT}/auth`) {
      const redirectUri = ctx.query.redirect_uri;
      if (typeof redirectUri !== 'string' || !URL.canParse(redirectUri)) {
        ctx.status = 400;
        ctx.body = 'redirect_uri missing';
        return;
      }
      const target = new URL(redirectUri);
      target.search = new URLSearchParams({
        error: 'access_denied',
        error_description: 'not allowed',
        state: String(ctx.query.state ?? ''),
        iss: issuer,
      }).toString();
      ctx.redirect(target.href);
      return;
    }
    if (path !== `${MOUNT}/token`) return next();
    if (fault === 'token-500') {
      ctx.status = 500;
      ctx.body = { error: 'server_error' };
      return;
    }
    if (fault === 'slow-token') {
      held += 1;
      const finished = await sleep(slowMs, serving.signal).finally(() => (held -= 1));
      if (!finished) return; // the server stopped meanwhile; its sockets are gone
    }
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!body || typeof body.id_token !== 'string') return;
    const idToken = body.id_token;
    switch (fault) {
      case 'unsigned-id-token': {
        const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        body.id_token = `${encode({ alg: 'none' })}.${encode(decodeJwt(idToken))}.`;
        break;
      }
      case 'wrong-issuer':
        body.id_token = await resign(idToken, (c) => (c.iss = 'https://attacker.example'));
        break;
      case 'wrong-audience':
        body.id_token = await resign(idToken, (c) => (c.aud = 'someone-else'));
        break;
      case 'wrong-nonce':
        body.id_token = await resign(idToken, (c) => (c.nonce = 'not-the-nonce'));
        break;
      case 'expired-id-token':
        body.id_token = await resign(idToken, (c) => {
          c.iat = Math.floor(Date.now() / 1000) - 7200;
          c.exp = Math.floor(Date.now() / 1000) - 3600;
        });
        break;
      case 'foreign-key':
        body.id_token = await resign(idToken, () => {}, foreignKey);
        break;
      case 'no-id-token':
        delete body.id_token;
        break;
      default:
        break;
    }
  });
  app.use(mountAt(MOUNT, directory.middleware));

  server = first;
  const start = async (): Promise<void> => {
    if (server) return;
    serving = new AbortController();
    const s = newServer();
    // Back on the port the issuer names, should another process have taken it meanwhile.
    await rebind(() => listenOnLoopback(s as NetServer, port));
    server = s;
  };

  return {
    issuer,
    port,
    clientId,
    clientSecret,
    users,
    setFault(next, opts) {
      fault = next;
      slowMs = opts?.slowMs ?? 8000;
    },
    heldTokenRequests: () => held,
    async stop() {
      serving.abort();
      const s = server;
      server = undefined;
      if (!s) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => s.close(() => done()));
    },
    start,
  };
}
