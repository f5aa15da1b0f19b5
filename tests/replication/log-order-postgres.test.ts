// PostgreSQL hands out a log entry's seq when the row is inserted, but the row becomes visible only at
// commit. Appliers read the log in seq order, so an append that commits after a later one (a lock wait, a
// stalled disk) must not be overtaken, or the primary's applier passes it by and its client, who was
// waiting for it, is failed. Here one append is made slow for real, by a trigger in the store's schema.
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { idsOnNode } from '../helpers/replication.js';

const SLOW_MARKER = 'slow-to-commit';

describe('PostgreSQL log order', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('applies a write whose append commits late, after a later write was appended', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const databaseUrl = await h.pgDatabaseUrl();
    // A short WRITE_TIMEOUT keeps the failure fast if the slow write is passed by.
    const gw = await h.gateway(nodes, { ...PATIENT_PROBES, DATABASE_URL: databaseUrl, WRITE_TIMEOUT: '5' });
    const base = gatewayUrl(gw);
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'ordered' })).json.id as string;
    await waitStatusInSync(base);

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await db.query(`CREATE FUNCTION slow_marked_append() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF position(convert_to('${SLOW_MARKER}', 'UTF8') IN NEW.request_body) > 0 THEN PERFORM pg_sleep(1.5); END IF;
          RETURN NEW;
        END $$`);
      await db.query('CREATE TRIGGER slow_marked_append BEFORE INSERT ON log_entries FOR EACH ROW EXECUTE FUNCTION slow_marked_append()');

      const slow = http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [SLOW_MARKER], embeddings: [[1, 1, 1]] });
      await waitFor('the slow append to hold its row', async () => {
        const r = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE 'INSERT INTO log_entries%'`);
        return r.rows[0].n > 0;
      });
      const later = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['later'], embeddings: [[2, 2, 2]] });
      expect(later.status).toBe(201);
      const slowAnswer = await slow;
      expect(slowAnswer.status, slowAnswer.text).toBe(201);
    } finally {
      await db.end();
    }

    await waitStatusInSync(base);
    for (const node of nodes) expect([...(await idsOnNode(node.url, 'ordered'))].sort(), node.url).toEqual(['later', SLOW_MARKER]);
  });
});
