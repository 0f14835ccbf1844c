import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { loadTestUsers } from '../../src/testdirectory/users.js';
import { createOpinsysSimulator, type OpinsysFault } from '../../src/testdirectory/opinsys/simulator.js';
import { listenOnLoopback, rebind } from './ports.js';

export interface OpinsysServerHandle {
  /** The simulator's address: the directory's baseUrl (its SSO is at `${baseUrl}/v3/sso`). */
  baseUrl: string;
  sharedSecret: string;
  organisation: string;
  /** How the next tokens are made wrong ('none': correct). */
  setFault(fault: OpinsysFault): void;
  stop(): Promise<void>;
  /** Serves again on the same port (after stop). */
  start(): Promise<void>;
}

export interface OpinsysServerOptions {
  /** Hosts (host:port) return_to may point at: the bridges' hosts. */
  returnToHosts: string[];
  sharedSecret?: string;
  extendedClaims?: boolean;
}

/** The Opinsys SSO simulator as a separate HTTP server on its own loopback port, with the catalogue of test users. */
export async function startOpinsysServer(options: OpinsysServerOptions): Promise<OpinsysServerHandle> {
  const sharedSecret = options.sharedSecret ?? 'opinsys-shared-secret-0123456789abcdef';
  const organisation = 'testikunta.opinsys.fi';
  let fault: OpinsysFault = 'none';
  const simulator = createOpinsysSimulator({
    users: loadTestUsers(resolve('config/test-users.json')),
    sharedSecret,
    returnToHosts: options.returnToHosts,
    organisationDomain: organisation,
    cookieKeys: ['opinsys-simulator-cookie-key-0123456789'],
    fault: () => fault,
    ...(options.extendedClaims !== undefined ? { extendedClaims: options.extendedClaims } : {}),
  });
  let server: Server | undefined = createServer(simulator.app.callback());
  const port = await listenOnLoopback(server);
  const start = async (): Promise<void> => {
    const next = createServer(simulator.app.callback());
    // Back on the port the directory's settings name, should another process have taken it meanwhile.
    await rebind(() => listenOnLoopback(next, port));
    server = next;
  };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    sharedSecret,
    organisation,
    setFault: (next) => {
      fault = next;
    },
    async stop() {
      const running = server;
      server = undefined;
      if (!running) return;
      running.closeAllConnections();
      await new Promise<void>((done) => running.close(() => done()));
    },
    start,
  };
}
