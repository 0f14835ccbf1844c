import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

interface ApiOrganisation {
  oid: string;
  oppilaitosKoodi?: string;
  toimipistekoodi?: string;
  [field: string]: unknown;
}

export interface OphServerHandle {
  baseUrl: string;
  /** Requested ids, in order. */
  requests: string[];
  callerIds: string[];
  setDown(down: boolean): void;
  /** Takes requests and never answers them (a registry that hangs). */
  setHanging(hanging: boolean): void;
  stop(): Promise<void>;
}

/**
 * A local stand-in for the Opetushallitus organisation service, answering in the real API's shape from
 * the bundled snapshot (which uses the API's own field names).
 */
export async function startOphServer(snapshotFile = 'config/organisations.json'): Promise<OphServerHandle> {
  const { organisations } = JSON.parse(readFileSync(resolve(snapshotFile), 'utf8')) as { organisations: ApiOrganisation[] };
  const requests: string[] = [];
  const callerIds: string[] = [];
  let down = false;
  let hanging = false;
  const server: Server = createServer((req, res) => {
    if (hanging) return;
    const match = /^\/organisaatio-service\/api\/([^/?]+)$/.exec(req.url ?? '');
    callerIds.push(String(req.headers['caller-id'] ?? ''));
    if (down) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
      return;
    }
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const id = decodeURIComponent(match[1]!);
    requests.push(id);
    const found = organisations.find((o) => o.oid === id || o.oppilaitosKoodi === id || o.toimipistekoodi === id);
    if (!found) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...found, version: 3, kieletUris: ['oppilaitoksenopetuskieli_1#1'] }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    callerIds,
    setDown: (value) => {
      down = value;
    },
    setHanging: (value) => {
      hanging = value;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
