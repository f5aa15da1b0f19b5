// Issues 3 and 8, acceptance: a seeded random operation sequence through the gateway compared answer by
// answer with a reference Chroma (tests/helpers/random-sequence.ts says what it does and checks). Three
// seeds on the SQLite store here, two on PostgreSQL in random-sequence-postgres.test.ts: five in all, in two
// files so the test runner can run them side by side.
import { randomSequenceSuite } from '../helpers/random-sequence.js';

randomSequenceSuite([
  ['SQLite', 1_000, async () => ({})],
  ['SQLite', 2_000, async () => ({})],
  ['SQLite', 3_000, async () => ({})],
]);
