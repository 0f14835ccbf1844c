import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createWilmaSimulator, type WilmaSimulator, type WilmaSimulatorOptions } from './simulator.js';

export interface WilmaServerHandle {
  /** The simulator's base URL (what a Wilma directory's baseUrl names). */
  url: string;
  port: number;
  simulator: WilmaSimulator;
  stop(): Promise<void>;
}

/**
 * The Wilma simulator as an HTTP server of its own, as a real Wilma is: on `host`:`port` (a free
 * port by default), reached at `http://<publicHost>:<port>`.
 */
export async function startWilmaServer(
  options: Omit<WilmaSimulatorOptions, 'baseUrl'> & { host?: string; port?: number; publicHost?: string },
): Promise<WilmaServerHandle> {
  const server: Server = createServer();
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => done());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.publicHost ?? host}:${port}`;
  // The MACs are over its public URL, known only once it listens.
  const simulator = createWilmaSimulator({ ...options, baseUrl: url });
  const app = new Koa();
  app.silent = true;
  app.use(simulator.middleware);
  server.on('request', app.callback());
  return {
    url,
    port,
    simulator,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
