import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { directoryPatchSchema } from '../../src/directories/records.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import { directoryDefinitionSchema } from '../../src/directories/definition.js';
import { selectPath, WilmaConnector } from '../../src/directories/connectors/wilma/connector.js';

const LEGACY_USER = {
  first_name: 'Aino',
  last_name: 'Mansikka',
  cryptid: 'abc123',
  roles: [
    { school: '30076', group: '9F', role: 'student' },
    { school: '30078', group: '', role: 'student' },
  ],
};

const options = () => ({
  timeoutMs: 1000,
  clockToleranceSeconds: 5,
  allowHttp: false,
  replay: createMemoryStorage('t:').state('replay'),
  issuer: 'https://bridge.example',
});
const settings = { id: 'w', baseUrl: 'https://wilma.example/', uniqueIdAttribute: 'cryptid' };

describe('Wilma JSON paths', () => {
  it('selects values, every element of a list with [], nothing for a missing property', () => {
    expect(selectPath(LEGACY_USER, 'first_name')).toEqual(['Aino']);
    expect(selectPath(LEGACY_USER, 'roles[].school')).toEqual(['30076', '30078']);
    expect(selectPath(LEGACY_USER, 'roles[].group')).toEqual(['9F', '']);
    expect(selectPath(LEGACY_USER, 'learner_id')).toEqual([]);
    expect(selectPath(LEGACY_USER, 'first_name.x')).toEqual([]);
    // An object where a value is expected is handed on as is (the claims step calls it malformed).
    expect(selectPath(LEGACY_USER, 'roles')).toEqual([LEGACY_USER.roles]);
  });
});

describe('Wilma settings', () => {
  it('accepts a Wilma definition and refuses bad paths and addresses with a query', () => {
    const base = { type: 'wilma', id: 'w', displayName: { fi: 'W' }, baseUrl: 'https://wilma.example' };
    expect(directoryDefinitionSchema.parse(base)).toMatchObject({ type: 'wilma', uniqueIdAttribute: 'cryptid' });
    expect(directoryDefinitionSchema.safeParse({ ...base, userAttributes: { x: 'roles[0].school' } }).success).toBe(false);
    expect(directoryDefinitionSchema.safeParse({ ...base, userDataUrl: 'https://wilma.example/x?a=1' }).success).toBe(false);
    expect(directoryDefinitionSchema.safeParse({ ...base, issuer: 'https://x.example' }).success).toBe(false);
  });

  it('patches carry no defaults: what a patch leaves out keeps its value', () => {
    expect(directoryPatchSchema.parse({ displayName: { fi: 'x' } })).toEqual({ displayName: { fi: 'x' } });
  });
});

describe('WilmaConnector.begin', () => {
  it('redirects to <base>/mpass with the return URL and its nonce, signed over the URL up to &h=', async () => {
    const connector = new WilmaConnector(settings, 'secret-0123456789', options());
    const { redirect, state } = await connector.begin({ callbackUrl: 'https://bridge.example/upstream/w/callback', forceLogin: true });
    const href = redirect.href;
    const at = href.lastIndexOf('&h=');
    expect(href.slice(0, at)).toBe(
      `https://wilma.example/mpass?redirectto=${encodeURIComponent(`https://bridge.example/upstream/w/callback?nonce=${String(state.nonce)}`)}&forceauth=true`,
    );
    expect(href.slice(at + 3)).toBe(createHmac('sha256', 'secret-0123456789').update(href.slice(0, at)).digest('hex'));
    expect(state.nonce).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it('refuses plain http outside development, and a unique id that is not one of its attributes', () => {
    expect(() => new WilmaConnector({ ...settings, baseUrl: 'http://wilma.example' }, 's', options())).toThrow(/not https/);
    expect(() => new WilmaConnector({ ...settings, uniqueIdAttribute: 'nope' }, 's', options())).toThrow(/uniqueIdAttribute/);
  });
});

describe('Wilma settings: the unique id', () => {
  it('must be one of the attributes read', () => {
    const base = { type: 'wilma', id: 'w', displayName: { fi: 'W' }, baseUrl: 'https://wilma.example' };
    const refused = directoryDefinitionSchema.safeParse({ ...base, uniqueIdAttribute: 'employee_id' });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['uniqueIdAttribute']);
    expect(directoryDefinitionSchema.safeParse({ ...base, uniqueIdAttribute: 'employee_id', userAttributes: { employee_id: 'id' } }).success).toBe(true);
  });
});
