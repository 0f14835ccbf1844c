import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { CLAIM } from '../../src/claims/claim-names.js';
import { deepLinkLogin, RP_CLIENT, startFederation, type Federation } from '../support/federation.js';
import { startOphServer, type OphServerHandle } from '../support/oph-server.js';
import { parseForm, UserAgent } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';

describe('a bridge reading the organisation service over HTTP', () => {
  let oph: OphServerHandle;
  let fed: Federation;
  beforeAll(async () => {
    oph = await startOphServer();
    fed = await startFederation({ config: { organisations: { source: 'http', baseUrl: oph.baseUrl, callerId: 'mpassid-bridge-test', timeoutMs: 1000 } } });
  });
  afterAll(async () => {
    await fed?.stop();
    await oph?.stop();
  });

  it('resolves the school and its provider through the service, naming itself', async () => {
    const { request, callback } = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
    const claims = (await fed.rp.redeem(callback, request)).claims()!;
    expect(claims[CLAIM.educationProviderInfo]).toEqual(['1.2.246.562.99.00000000001;Mansikkalan testi kunta']);
    expect(oph.requests).toEqual(expect.arrayContaining(['30076', '1.2.246.562.99.00000000001']));
    expect(new Set(oph.callerIds)).toEqual(new Set(['mpassid-bridge-test']));
  });

  it('keeps resolving a recently seen school while the service is down, and drops an unseen one', async () => {
    oph.setDown(true);
    try {
      const seen = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
      expect((await fed.rp.redeem(seen.callback, seen.request)).claims()![CLAIM.schoolCode]).toEqual(['30076']);
      // principal-swedish-school's school 30081 was never looked up: unresolved during the outage, the login goes on.
      const unseen = await deepLinkLogin(fed, new UserAgent(), 'principal-swedish-school');
      const claims = (await fed.rp.redeem(unseen.callback, unseen.request)).claims()!;
      expect(claims[CLAIM.schoolCode]).toBeUndefined();
      expect(claims[CLAIM.learnerId]).toBe('1.2.246.562.24.10000000023');
    } finally {
      oph.setDown(false);
    }
  });
});

describe('back-channel logout', () => {
  let fed: Federation;
  let receiver: Server;
  const received: string[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    const backchannel = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`;
    fed = await startFederation({
      config: { clients: [{ ...RP_CLIENT, post_logout_redirect_uris: ['http://127.0.0.1:9/signed-out'], backchannel_logout_uri: backchannel }] },
    });
  });
  afterAll(async () => {
    await fed?.stop();
    receiver.closeAllConnections();
    await new Promise<void>((done) => receiver.close(() => done()));
  });

  it('tells the service with a signed logout token when the user signs out', async () => {
    const agent = new UserAgent('en');
    const { request, callback } = await deepLinkLogin(fed, agent, 'pupil-complete');
    const tokens = await fed.rp.redeem(callback, request);
    const logoutUrl = client.buildEndSessionUrl(fed.rp.configuration, { id_token_hint: tokens.id_token! });
    const confirm = await agent.navigate(logoutUrl.href, { stopAt: 'http://127.0.0.1:9/' });
    const form = parseForm(confirm);
    await agent.navigate(form.action, { form: { ...form.fields, logout: 'yes' }, stopAt: 'http://127.0.0.1:9/' });
    await eventually(() => received.length > 0, { what: 'the logout token reaching the service' });
    expect(received).toHaveLength(1);
    const logoutToken = decodeJwt(received[0]!);
    expect(logoutToken).toMatchObject({ iss: fed.bridge.issuer, aud: RP_CLIENT.client_id, sub: tokens.claims()!.sub });
    expect(logoutToken.events).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout']);
  });
});
