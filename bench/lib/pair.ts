// A primary + replica behind an in-process gateway, beside a Chroma server used directly: the setting of
// the benchmark parts that look inside the gateway (the update guard's cost, refill by copy), which need its
// log positions and node states rather than only its HTTP answers. Started through the test harness, so
// harness.cleanup() stops it with everything else.
import { join } from 'node:path';
import type { Gateway } from '../../src/gateway/gateway.js';
import { COLLECTIONS, waitFor, type ChromaProcess, type Harness } from '../../tests/helpers/cluster.js';

export interface Pair {
  direct: ChromaProcess;
  primary: ChromaProcess;
  replica: ChromaProcess;
  /** Data directory of the replica, for wiping it. */
  replicaDir: string;
  gateway: Gateway;
  url: string;
}

export async function startPair(harness: Harness): Promise<Pair> {
  const [direct, primary, replica] = await Promise.all([
    harness.chroma({ name: 'pair-direct' }),
    harness.chroma({ name: 'pair-primary' }),
    harness.chroma({ name: 'pair-replica' }),
  ]);
  const gateway = await harness.gateway([primary, replica], { LOG_LEVEL: 'error' });
  await waitFor('both nodes members', () => gateway.cluster.nodes.every((n) => n.isMember), 60_000);
  return { direct, primary, replica, replicaDir: join(harness.dir, 'pair-replica'), gateway, url: `http://127.0.0.1:${gateway.port}` };
}

/** Every node up, a member, and holding every committed write. */
export function pairInSync(gw: Gateway): boolean {
  return gw.log.pendingCount === 0 && gw.cluster.nodes.every((n) => n.isUp && n.isMember && n.appliedSeq >= gw.log.committedHead);
}

/** Creates a collection and returns its id (as the given endpoint names it). */
export async function createCollection(base: string, name: string): Promise<string> {
  const r = await fetch(`${base}${COLLECTIONS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  if (r.status !== 200) throw new Error(`create ${name} on ${base}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

/** POSTs a prepared JSON body; throws on anything but 2xx. */
export async function post(base: string, path: string, body: Buffer): Promise<void> {
  const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.toString() });
  if (r.status < 200 || r.status >= 300) throw new Error(`POST ${base}${path}: ${r.status} ${(await r.text()).slice(0, 300)}`);
}
