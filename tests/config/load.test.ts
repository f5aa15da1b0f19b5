// Configuration loading: defaults, node list and credentials, and a ConfigError naming the variable for
// every bad value (acceptance 5). Secrets in bad values never appear in the message.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig, type Env } from '../../src/config/load.js';

function configError(env: Env): ConfigError {
  try {
    loadGatewayConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

const PRIMARY = 'http://127.0.0.1:8001';

describe('loadGatewayConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadGatewayConfig({ PRIMARY_URL: PRIMARY });
    expect(c).toMatchObject({
      port: 8000,
      host: '0.0.0.0',
      checkIntervalMs: 1_000,
      fastCheckIntervalMs: 100,
      failureThreshold: 3,
      recoveryThreshold: 2,
      healthCheckTimeoutMs: 1_000,
      requestTimeoutMs: 30_000,
      writeTimeoutMs: 20_000,
      maxBodyBytes: 32 * 1024 * 1024,
      dataDir: './data',
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      leasePeriodMs: 5_000,
      leaseRenewMs: 1_000,
    });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.nodes).toHaveLength(1);
  });

  it('combines REPLICA_URL and REPLICA_URLS in order, with priorities and credentials kept out of the URL', () => {
    const c = loadGatewayConfig({
      PRIMARY_URL: 'http://admin:s3cret@127.0.0.1:8001/',
      REPLICA_URL: 'http://127.0.0.1:8002',
      REPLICA_URLS: 'http://127.0.0.1:8003, http://127.0.0.1:8004',
      NODE_PRIORITIES: '10,20,30,40',
      CHECK_INTERVAL: '0.5',
      FAILURE_THRESHOLD: '4',
    });
    expect(c.nodes.map((n) => [n.name, n.url, n.priority, n.configuredRole])).toEqual([
      ['primary', 'http://127.0.0.1:8001', 10, 'primary'],
      ['replica-1', 'http://127.0.0.1:8002', 20, 'replica'],
      ['replica-2', 'http://127.0.0.1:8003', 30, 'replica'],
      ['replica-3', 'http://127.0.0.1:8004', 40, 'replica'],
    ]);
    expect(c.nodes[0]!.authHeaders).toEqual({ authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` });
    expect(c.nodes[1]!.authHeaders).toEqual({});
    expect(JSON.stringify(c.nodes.map((n) => [n.id, n.url, n.name]))).not.toContain('s3cret');
    expect(c.checkIntervalMs).toBe(500);
    expect(c.failureThreshold).toBe(4);
  });

  it.each<[string, Env, RegExp]>([
    ['a PRIMARY_URL with an unsupported scheme', { PRIMARY_URL: 'ftp://127.0.0.1:8001' }, /^PRIMARY_URL=.*invalid.*http/],
    ['a PRIMARY_URL that is not a URL', { PRIMARY_URL: 'http://chroma host:8000' }, /^PRIMARY_URL=.*invalid/],
    ['a missing PRIMARY_URL', {}, /^PRIMARY_URL is required/],
    ['an empty PRIMARY_URL', { PRIMARY_URL: '  ' }, /^PRIMARY_URL is required/],
    ['a bad replica in REPLICA_URLS', { PRIMARY_URL: PRIMARY, REPLICA_URLS: 'http://127.0.0.1:8002,mailto:x' }, /^REPLICA_URLS=.*invalid/],
    ['a non-numeric CHECK_INTERVAL', { PRIMARY_URL: PRIMARY, CHECK_INTERVAL: 'fast' }, /^CHECK_INTERVAL="fast" is invalid/],
    ['a negative REQUEST_TIMEOUT', { PRIMARY_URL: PRIMARY, REQUEST_TIMEOUT: '-1' }, /^REQUEST_TIMEOUT="-1" is invalid: must be a positive number of seconds/],
    ['FAILURE_THRESHOLD=0', { PRIMARY_URL: PRIMARY, FAILURE_THRESHOLD: '0' }, /^FAILURE_THRESHOLD="0" is invalid: must be at least 1/],
    ['a fractional RECOVERY_THRESHOLD', { PRIMARY_URL: PRIMARY, RECOVERY_THRESHOLD: '1.5' }, /^RECOVERY_THRESHOLD="1.5" is invalid: must be a whole number/],
    ['NODE_PRIORITIES with too few values', { PRIMARY_URL: PRIMARY, REPLICA_URL: 'http://127.0.0.1:8002', NODE_PRIORITIES: '100' }, /^NODE_PRIORITIES has 1 values but there are 2 distinct nodes/],
    ['NODE_PRIORITIES that are not numbers', { PRIMARY_URL: PRIMARY, NODE_PRIORITIES: 'high' }, /^NODE_PRIORITIES=.*whole numbers/],
    ['a PORT out of range', { PRIMARY_URL: PRIMARY, PORT: '70000' }, /^PORT="70000" is invalid/],
    ['an unknown LOG_LEVEL', { PRIMARY_URL: PRIMARY, LOG_LEVEL: 'loud' }, /^LOG_LEVEL="loud" is invalid/],
    ['a DATABASE_URL that is not PostgreSQL', { PRIMARY_URL: PRIMARY, DATABASE_URL: 'mysql://root:dbpass@127.0.0.1/log' }, /^DATABASE_URL=\(hidden\) is invalid: must be a postgres/],
    ['the primary as a replica', { PRIMARY_URL: PRIMARY, REPLICA_URLS: `${PRIMARY}/` }, /^REPLICA_URL\/REPLICA_URLS name http:\/\/127.0.0.1:8001, which is PRIMARY_URL/],
    ['a short NODE_TOKEN', { PRIMARY_URL: PRIMARY, NODE_TOKEN: 'short' }, /^NODE_TOKEN=\(hidden\) is invalid: must be at least 16/],
    ['a short client token', { PRIMARY_URL: PRIMARY, CLIENT_AUTH_CREDENTIALS: 'x'.repeat(20) + ',short' }, /^CLIENT_AUTH_CREDENTIALS=\(hidden\) is invalid: each token/],
    ['ALLOW_UNKNOWN_WRITES=yes', { PRIMARY_URL: PRIMARY, ALLOW_UNKNOWN_WRITES: 'yes' }, /^ALLOW_UNKNOWN_WRITES="yes" is invalid: must be true or false/],
    ['BODY_TIMEOUT=0', { PRIMARY_URL: PRIMARY, BODY_TIMEOUT: '0' }, /^BODY_TIMEOUT="0" is invalid/],
  ])('rejects %s with a ConfigError naming the variable', (_what, env, message) => {
    expect(configError(env).message).toMatch(message);
  });

  it('takes a node named in both REPLICA_URL and REPLICA_URLS (as the guide and our docs write it) as one node', () => {
    const c = loadGatewayConfig({
      PRIMARY_URL: PRIMARY,
      REPLICA_URL: 'http://127.0.0.1:8002',
      REPLICA_URLS: 'http://127.0.0.1:8002/, http://127.0.0.1:8003, http://127.0.0.1:8003',
      NODE_PRIORITIES: '100,90,80',
    });
    expect(c.nodes.map((n) => [n.name, n.url, n.priority])).toEqual([
      ['primary', PRIMARY, 100],
      ['replica-1', 'http://127.0.0.1:8002', 90],
      ['replica-2', 'http://127.0.0.1:8003', 80],
    ]);
  });

  it('gives every node NODE_TOKEN as a bearer token unless its URL has credentials, and consumes client credentials then', () => {
    const token = 'n'.repeat(32);
    const c = loadGatewayConfig({ PRIMARY_URL: 'http://u:p@127.0.0.1:8001', REPLICA_URL: 'http://127.0.0.1:8002', NODE_TOKEN: token });
    expect(c.nodes[0]!.authHeaders).toEqual({ authorization: `Basic ${Buffer.from('u:p').toString('base64')}` });
    expect(c.nodes[1]!.authHeaders).toEqual({ authorization: `Bearer ${token}` });
    expect(c.ownNodeCredentials).toBe(true);
    expect(c.clientTokens).toBeUndefined();
    const plain = loadGatewayConfig({ PRIMARY_URL: PRIMARY });
    expect([plain.ownNodeCredentials, plain.allowUnknownWrites, plain.bodyTimeoutMs]).toEqual([false, false, 30_000]);
    const withClients = loadGatewayConfig({ PRIMARY_URL: PRIMARY, CLIENT_AUTH_CREDENTIALS: `${'a'.repeat(16)}, ${'b'.repeat(16)}` });
    expect(withClients.clientTokens).toEqual(['a'.repeat(16), 'b'.repeat(16)]);
    expect(withClients.ownNodeCredentials).toBe(true);
  });

  it('never repeats a password or token from a bad value', () => {
    const cases: Env[] = [
      { PRIMARY_URL: 'http://admin:hunter2@chroma:port-x' },
      { PRIMARY_URL: PRIMARY, REPLICA_URL: 'ftp://admin:hunter2@127.0.0.1:8002' },
      { PRIMARY_URL: PRIMARY, DATABASE_URL: 'mysql://admin:hunter2@127.0.0.1/log' },
      { PRIMARY_URL: PRIMARY, ADMIN_TOKEN: 'hunter2' },
    ];
    for (const env of cases) {
      const err = configError(env);
      expect(err.message).toMatch(/^(PRIMARY_URL|REPLICA_URL|DATABASE_URL|ADMIN_TOKEN)/);
      expect(err.message).not.toContain('hunter2');
    }
  });

  it('refuses a lease renewed less than three times per period, naming both variables', () => {
    expect(configError({ PRIMARY_URL: PRIMARY, LEASE_PERIOD: '3', LEASE_RENEW_INTERVAL: '1.5' }).message).toBe(
      'LEASE_RENEW_INTERVAL=1.5 is more than a third of LEASE_PERIOD=3: renew at least three times per period',
    );
    expect(configError({ PRIMARY_URL: PRIMARY, LEASE_PERIOD: '0' }).message).toBe('LEASE_PERIOD="0" is invalid: must be a positive number of seconds');
    expect(loadGatewayConfig({ PRIMARY_URL: PRIMARY, LEASE_PERIOD: '3', LEASE_RENEW_INTERVAL: '1' })).toMatchObject({ leasePeriodMs: 3_000, leaseRenewMs: 1_000 });
  });
});
