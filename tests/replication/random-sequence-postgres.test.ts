// Issues 3 and 8, acceptance: the random operation sequence (tests/helpers/random-sequence.ts) on the
// PostgreSQL store, two seeds; three more run on SQLite in random-sequence-sqlite.test.ts.
import { randomSequenceSuite } from '../helpers/random-sequence.js';

randomSequenceSuite([
  ['PostgreSQL', 4_000, async (h) => ({ DATABASE_URL: await h.pgDatabaseUrl() })],
  ['PostgreSQL', 5_000, async (h) => ({ DATABASE_URL: await h.pgDatabaseUrl() })],
]);
