// Acceptance 2: kill -9 of the primary while a client reads every 10 ms. The gateway retries reads that
// hit the dead node on the replica and promotes it; the only reads allowed to fail are those that were
// in flight at the moment of the kill (and since reads are retried on connection errors, none should).
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor, PATIENT_PROBES } from '../helpers/cluster.js';

interface Read {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  node: string | null;
  detail: string;
}

describe('kill -9 of the primary under read load', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('keeps serving reads from the replica and promotes it', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, PATIENT_PROBES);
    const base = gatewayUrl(gw);

    const created = await http(base, 'POST', COLLECTIONS, { name: 'under-load' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const added = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids, embeddings: ids.map((_, i) => [i, i + 1, i + 2]) });
    expect(added.status, added.text).toBe(201);
    await waitFor('the replica to hold every committed write', async () => {
      const s = (await http(base, 'GET', '/status')).json;
      return s.nodes[1].syncState === 'in-sync' && s.nodes[1].appliedPosition === s.log.committedHead;
    });

    // A read every 10 ms, alternating count and get, each checked for the right answer.
    const reads: Read[] = [];
    const pending = new Set<Promise<void>>();
    let n = 0;
    const readOnce = async () => {
      const startedAt = performance.now();
      const isCount = n++ % 2 === 0;
      let ok = false;
      let node: string | null = null;
      let detail = '';
      try {
        const r = isCount
          ? await http(base, 'GET', `${COLLECTIONS}/${id}/count`)
          : await http(base, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['r3', 'r17'], include: [] });
        node = r.headers.get('x-chroma-ha-node');
        ok = r.status === 200 && (isCount ? r.json === 20 : [...r.json.ids].sort().join() === 'r17,r3');
        detail = `${r.status} ${r.text.slice(0, 200)}`;
      } catch (err) {
        detail = (err as Error).message;
      }
      reads.push({ startedAt, endedAt: performance.now(), ok, node, detail });
    };
    const timer = setInterval(() => {
      const p = readOnce();
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }, 10);

    try {
      await waitFor('reads served by both nodes before the kill', () =>
        reads.filter((r) => r.ok && r.node === 'primary').length >= 5 && reads.filter((r) => r.ok && r.node === 'replica-1').length >= 5,
      );
      const killedAt = performance.now();
      await nodes[0]!.kill();

      await waitFor(
        'the replica to be promoted',
        async () => {
          const s = (await http(base, 'GET', '/status')).json;
          return s.primary === 'replica-1' && s.nodes[0].health === 'down';
        },
        30_000,
      );
      const promotedAt = performance.now();
      // Keep reading for a while on the new primary alone.
      await waitFor('100 reads after the promotion', () => reads.filter((r) => r.startedAt > promotedAt).length >= 100, 30_000);
      clearInterval(timer);
      await Promise.all([...pending]);

      const inFlightAtKill = reads.filter((r) => r.startedAt <= killedAt && r.endedAt > killedAt).length;
      const afterKill = reads.filter((r) => r.endedAt > killedAt);
      const failedAfterKill = afterKill.filter((r) => !r.ok);
      console.log(
        `kill -9 of the primary: ${failedAfterKill.length} failed read(s) of ${afterKill.length} after the kill ` +
          `(${inFlightAtKill} in flight at the kill); promoted after ${Math.round(promotedAt - killedAt)} ms`,
      );
      expect(failedAfterKill.length, failedAfterKill.map((r) => r.detail).join('\n')).toBeLessThanOrEqual(inFlightAtKill);
      expect(reads.filter((r) => r.startedAt > promotedAt).every((r) => r.ok && r.node === 'replica-1')).toBe(true);
    } finally {
      clearInterval(timer);
      await Promise.all([...pending]);
    }

    const health = await http(base, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'degraded', primary: 'replica-1' });
    const status = (await http(base, 'GET', '/status')).json;
    expect(status).toMatchObject({ status: 'degraded', primary: 'replica-1', failovers: { count: 1, last: { from: 'primary', to: 'replica-1', kind: 'failover' } } });
    expect(status.nodes.map((x: { name: string; role: string; health: string }) => [x.name, x.role, x.health])).toEqual([
      ['primary', 'replica', 'down'],
      ['replica-1', 'primary', 'up'],
    ]);

    // Writes go to the new primary.
    const more = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['after-failover'], embeddings: [[7, 7, 7]] });
    expect(more.status).toBe(201);
    expect(more.headers.get('x-chroma-ha-node')).toBe('replica-1');
    expect((await http(base, 'GET', `${COLLECTIONS}/${id}/count`)).json).toBe(21);
  });
});
