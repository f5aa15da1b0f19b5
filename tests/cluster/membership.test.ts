// The member list from the environment and the store's runtime records (cluster/membership.ts): records win
// over the environment, a removed configured node stays out, added nodes keep their order, bad records are ignored.
import { describe, expect, it } from 'vitest';
import { nodeConfig } from '../../src/config/load.js';
import {
  computeMembers,
  encodeMemberRecord,
  invalidNodeUrl,
  memberKey,
  nextReplicaName,
  parseMemberRecords,
  type MemberRecord,
} from '../../src/cluster/membership.js';

const configured = [nodeConfig('http://a:8000', 0, undefined), nodeConfig('http://b:8000', 1, undefined)];
const record = (url: string, state: MemberRecord['state'], name: string, at: number): MemberRecord => ({ id: url.replace(/^http:\/\/[^@]*@/, 'http://'), state, url, name, at });

describe('computeMembers', () => {
  it('is the configured nodes when the store has no records', () => {
    expect(computeMembers(configured, []).map((m) => [m.name, m.id, m.configuredRole])).toEqual([
      ['primary', 'http://a:8000', 'primary'],
      ['replica-1', 'http://b:8000', 'replica'],
    ]);
  });

  it('appends added nodes in the order they were added, as replicas with a lower priority', () => {
    const members = computeMembers(configured, [record('http://d:8000', 'added', 'late', 20), record('http://c:8000', 'added', 'early', 10)]);
    expect(members.map((m) => m.name)).toEqual(['primary', 'replica-1', 'early', 'late']);
    expect(members[2]).toMatchObject({ id: 'http://c:8000', url: 'http://c:8000', configuredRole: 'replica' });
    expect(members[2]!.priority).toBeLessThan(configured[1]!.priority);
  });

  it('gives an added node the same priority whatever happened to nodes added before it (every gateway, every restart)', () => {
    const early = record('http://c:8000', 'added', 'early', 10);
    const late = record('http://d:8000', 'added', 'late', 20);
    const before = computeMembers(configured, [early, late]).find((m) => m.name === 'late')!.priority;
    const afterRemoval = computeMembers(configured, [{ ...early, state: 'removed' }, late]).find((m) => m.name === 'late')!.priority;
    expect(afterRemoval).toBe(before);
  });

  it('keeps a removed configured node out (the record wins over the environment)', () => {
    const members = computeMembers(configured, [record('http://b:8000', 'removed', 'replica-1', 5)]);
    expect(members.map((m) => m.id)).toEqual(['http://a:8000']);
  });

  it('falls back to the configured nodes when the records would leave none', () => {
    const gone = configured.map((c) => record(c.url, 'removed', c.name, 1));
    expect(computeMembers(configured, gone)).toEqual(configured);
  });

  it('an added node removed later is out; added again, it is back', () => {
    expect(computeMembers(configured, [record('http://c:8000', 'removed', 'c', 30)]).map((m) => m.name)).toEqual(['primary', 'replica-1']);
    expect(computeMembers(configured, [record('http://c:8000', 'added', 'c', 40)]).map((m) => m.name)).toEqual(['primary', 'replica-1', 'c']);
  });

  it('an added record for a configured node changes nothing: it keeps its configured name and priority', () => {
    const members = computeMembers(configured, [record('http://b:8000', 'added', 'other', 1)]);
    expect(members).toEqual(configured);
  });

  it('takes credentials from an added URL into headers, never into the id, and gives NODE_TOKEN to nodes without them', () => {
    const [withCreds] = computeMembers([], [record('http://u:p@c:8000', 'added', 'c', 1)]);
    expect(withCreds).toMatchObject({ id: 'http://c:8000', url: 'http://c:8000', authHeaders: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
    const [withToken] = computeMembers([], [record('http://c:8000', 'added', 'c', 1)], 'tok');
    expect(withToken!.authHeaders).toEqual({ authorization: 'Bearer tok' });
  });

  it('skips an added node whose name a member already has', () => {
    expect(computeMembers(configured, [record('http://c:8000', 'added', 'replica-1', 1)]).map((m) => m.id)).toEqual(['http://a:8000', 'http://b:8000']);
  });
});

describe('records in the store', () => {
  it('round-trip through cluster values and ignore malformed or unrelated ones', () => {
    const r = record('http://c:8000', 'added', 'c', 7);
    const values = new Map([
      [memberKey(r.id), encodeMemberRecord(r)],
      ['node:http://x:1', 'not json'],
      ['node:http://y:1', JSON.stringify({ state: 'maybe', url: 'http://y:1', name: 'y' })],
      ['drained:http://c:8000', '1'],
    ]);
    expect(parseMemberRecords(values)).toEqual([r]);
  });
});

describe('input checks', () => {
  it('names what is wrong with a node URL, and accepts http and https', () => {
    expect(invalidNodeUrl(undefined)).toMatch(/url is required/);
    expect(invalidNodeUrl('not a url')).toMatch(/is not a URL/);
    expect(invalidNodeUrl('ftp://c:8000')).toMatch(/http or https, not ftp/);
    expect(invalidNodeUrl('http://c:8000/?x=1')).toMatch(/query/);
    expect(invalidNodeUrl('http://c:8000')).toBeNull();
    expect(invalidNodeUrl('https://c.example')).toBeNull();
  });

  it('picks the first free replica-N name', () => {
    expect(nextReplicaName(['primary', 'replica-1', 'replica-3'])).toBe('replica-2');
  });
});
