import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';

const HOST = '127.0.0.1';

/** Whether `err` says the port is taken (a Node listen error, or a server's own words in its output). */
function addressInUse(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return true;
  return err instanceof Error && /EADDRINUSE|address already in use/i.test(err.message);
}

/**
 * Listens on `port` of the loopback address and resolves with the port bound. Port 0 (the default)
 * lets the OS pick a free one while binding: the way every server of the tests gets its port.
 */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    server.once('error', fail);
    server.listen(port, HOST, () => {
      server.removeListener('error', fail);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * An HTTP server already listening on a port the OS picked, with no handler yet: for a server whose
 * address others must be told before it is built (a bridge's callback in a directory's redirect URIs).
 */
export async function listeningHttpServer(): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer();
  return { server, port: await listenOnLoopback(server) };
}

/**
 * Binds `port` again, for a server restarted on the port it had (its address is in URLs others hold:
 * an issuer, a redirect URI, a Redis URL), retrying for a while should another process hold it
 * meanwhile: the port cannot change, so waiting for it is all there is to do.
 */
export async function rebind<T>(bind: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await bind();
    } catch (err) {
      if (!addressInUse(err) || Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** `count` distinct loopback ports that were free a moment ago (the OS picks them); another process may take one before it is used. */
async function pickPorts(count: number): Promise<number[]> {
  const probes = Array.from({ length: count }, () => createServer());
  const ports: number[] = [];
  for (const probe of probes) ports.push(await listenOnLoopback(probe));
  await Promise.all(probes.map((probe) => new Promise<void>((resolve) => probe.close(() => resolve()))));
  return ports;
}

/**
 * A loopback port that was free a moment ago: racy (see onFreePort). The tests start servers through
 * listenOnLoopback or onFreePort instead; bench/ still calls this.
 */
export async function freePort(): Promise<number> {
  return (await pickPorts(1))[0]!;
}

/**
 * For servers that must be told their ports before they start (a redis-server's `--port`, Apache's
 * `Listen`, a child process's `PORT`): picks `count` free ports and starts on them, and when one was
 * taken meanwhile (EADDRINUSE) picks new ones and tries again. Servers of this process bind first
 * instead, on port 0 (listenOnLoopback), and have no such race.
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const ports = await pickPorts(count);
    try {
      return await start(ports);
    } catch (err) {
      if (!addressInUse(err) || attempt >= attempts) throw err;
    }
  }
}

/** onFreePorts for one port. */
export function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  return onFreePorts(1, ([port]) => start(port!), attempts);
}

/**
 * A loopback port where nothing listens, for "no server answers" cases: below the ephemeral range,
 * so no port-0 bind of any test hands it out, and unprivileged services do not take it (the
 * discard port, as the services' redirect URI 127.0.0.1:9 of the tests).
 */
export const NOTHING_LISTENS_PORT = 9;
