// The "restore from the replication log" procedure of docs/operations.md, done as written: stop the gateway,
// give every node an empty data directory, forget the nodes' positions and collection mappings in the log
// store (the two DELETE statements of the runbook), start the gateway again. Every node is rebuilt from the
// log, and clients keep their collection ids.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { read } from './files.js';

describe('runbook: restore every node from the replication log', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('rebuilds empty nodes from the log with the same stable ids and records', async () => {
    h = new Harness();
    const [primary, replica] = await Promise.all([h.chroma({ name: 'primary' }), h.chroma({ name: 'replica' })]);
    let gw = await h.gateway([primary, replica]);
    let base = gatewayUrl(gw);
    const kept = await http(base, 'POST', COLLECTIONS, { name: 'kept' });
    const gone = await http(base, 'POST', COLLECTIONS, { name: 'gone' });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await http(base, 'POST', `${COLLECTIONS}/${kept.json.id}/add`, { ids, embeddings: ids.map((_, i) => [i, 1, 0]) });
    await http(base, 'POST', `${COLLECTIONS}/${kept.json.id}/delete`, { ids: ['r0', 'r1'] });
    await http(base, 'POST', `${COLLECTIONS}/${kept.json.id}/upsert`, { ids: ['r2'], embeddings: [[9, 9, 9]] });
    expect((await http(base, 'DELETE', `${COLLECTIONS}/gone`)).status).toBe(200);
    await waitFor('the replica to catch up', () => gw.cluster.nodes.every((n) => n.appliedSeq === gw.log.committedHead));

    // The runbook, step by step.
    await h.stopGateway(gw);
    for (const node of [primary, replica]) {
      await node.stop();
      rmSync(join(h.dir, node === primary ? 'primary' : 'replica'), { recursive: true, force: true });
      await node.spawn();
    }
    const statements = /```sql\n([\s\S]*?)```/.exec(read('docs/operations.md').slice(read('docs/operations.md').indexOf('## Restore')))![1]!;
    const db = new Database(join(h.dir, 'gateway-store', 'replication-log.sqlite'));
    db.exec(statements);
    db.close();
    gw = await h.gateway([primary, replica]);
    base = gatewayUrl(gw);

    await waitFor('both nodes to replay the log', () => gw.cluster.nodes.every((n) => n.syncState === 'in-sync' && n.appliedSeq === gw.log.committedHead));
    expect((await http(base, 'GET', `${COLLECTIONS}/kept`)).json.id).toBe(kept.json.id);
    expect((await http(base, 'GET', `${COLLECTIONS}/gone`)).status).toBe(404);
    for (const node of [primary, replica]) {
      const local = await http(node.url, 'GET', `${COLLECTIONS}/kept`);
      const got = await http(node.url, 'POST', `${COLLECTIONS}/${local.json.id}/get`, { include: ['embeddings'] });
      expect([...got.json.ids].sort()).toEqual(ids.slice(2).sort());
      expect(got.json.embeddings[got.json.ids.indexOf('r2')]).toEqual([9, 9, 9]);
      expect((await http(node.url, 'GET', `${COLLECTIONS}/gone`)).status).toBe(404);
    }
    expect(gone.json.id).not.toBe(kept.json.id);
  });
});
