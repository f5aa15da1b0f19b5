// The replica a backup pins is released when the client stops reading (BACKUP_STALL_TIMEOUT), so a dead
// client cannot hold it; while it is pinned writes go on, log compaction keeps every entry the pinned node
// still has to apply (it resumes from its position, it is not refilled), and afterwards it catches up and
// verify finds the nodes identical.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { seedRecord } from '../helpers/lifecycle.js';
import { fillThroughGateway } from '../helpers/backup.js';

const TOKEN = 'admin-token-for-backup-tests-0123';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('backup pin', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('is released when the client stops reading, and log compaction waits for the pinned replica', async () => {
    h = new Harness();
    const [primary, replica] = await h.chromaCluster(2);
    const gw = await h.gateway([primary!, replica!], {
      ...PATIENT_PROBES,
      ADMIN_TOKEN: TOKEN,
      BACKUP_STALL_TIMEOUT: '4',
      LOG_RETENTION_ENTRIES: '1',
      LOG_RETENTION_SECONDS: '0.001',
    });
    const base = gatewayUrl(gw);
    // More than socket and gzip buffers hold, so a client that reads nothing stalls the snapshot.
    const id = await fillThroughGateway(base, 'default_database', 'pinned', 8_000, 384);
    await waitStatusInSync(base, 60_000);
    const pinnedNode = gw.cluster.nodes[1]!;

    const stalled = new AbortController();
    const res = await fetch(`${base}/admin/backup`, { method: 'POST', headers: auth, signal: stalled.signal });
    expect(res.status).toBe(200);
    const position = Number(res.headers.get('x-chroma-ha-backup-position'));
    expect(pinnedNode.lifecycle).toBe('resync');
    expect(pinnedNode.lifecycleReason).toBe('pinned for a backup');
    // Another backup (or verify, repair) meanwhile is refused.
    expect((await http(base, 'POST', '/admin/backup', undefined, auth)).status).toBe(409);

    // Writes go on while it is pinned; the pinned node stays at its position and compaction keeps its entries.
    for (let n = 0; n < 12; n++) {
      const rec = seedRecord('after-pin', n, 384);
      expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [rec.id], embeddings: [rec.embedding] })).status).toBe(201);
    }
    expect(pinnedNode.appliedSeq).toBe(position);
    // The client reads nothing: after BACKUP_STALL_TIMEOUT the gateway gives up and releases the node.
    const released = Date.now();
    await waitFor('the stalled backup to release the replica', () => pinnedNode.lifecycle === 'member', 30_000);
    expect(Date.now() - released).toBeGreaterThan(1_000);
    expect((await http(base, 'GET', '/status')).json.log.truncatedThrough).toBeLessThanOrEqual(position);
    stalled.abort();

    // It resumes from its position (no refill), catches up, and is identical; then compaction moves on.
    await waitStatusInSync(base, 60_000);
    expect(pinnedNode.lifecycle).toBe('member');
    expect(pinnedNode.lifecycleReason).toBeNull();
    expect((await http(base, 'GET', '/admin/nodes', undefined, auth)).json.nodes[1].copy).toBeNull();
    const verify = await http(base, 'POST', '/admin/verify', undefined, auth);
    expect(verify.json.identical).toBe(true);
    await waitFor('compaction past the pinned position', async () => (await http(base, 'GET', '/status')).json.log.truncatedThrough > position, 30_000);
  }, 300_000);
});
