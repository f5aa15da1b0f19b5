// Upgrades, at open, a log written by an earlier chroma-ha. The layout's version is kept in cluster_state
// under 'schema_version':
//   1 (no row): an entry kept the HTTP request, `method` and `path` (stable collection ids in the path), and `body`.
//   2: an entry is an operation (store/types.ts Operation): the collection a delete_collection addresses by
//      name gets its own column, method and path are dropped, and `body` becomes `request_body`.
// Both stores run these statements in one transaction. Renaming the body column also fences gateways of
// version 1 still running on an upgraded log (a rolling deploy across the upgrade): their appends and log
// reads fail, so they answer writes 503 and apply nothing, rather than apply entries they cannot read.

export const SCHEMA_VERSION = 2;

export const READ_SCHEMA_VERSION = `SELECT value FROM cluster_state WHERE key = 'schema_version'`;
export const WRITE_SCHEMA_VERSION = `INSERT INTO cluster_state (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/** Version 1 -> 2, in order: add the name column, fill it (see collectionNameInPath), then drop the request. */
export const ADD_COLLECTION_NAME = 'ALTER TABLE log_entries ADD COLUMN collection_name TEXT';
export const DELETES_BY_NAME = `SELECT seq, path FROM log_entries WHERE op = 'delete_collection'`;
export const DROP_REQUEST = [
  'ALTER TABLE log_entries DROP COLUMN method',
  'ALTER TABLE log_entries DROP COLUMN path',
  'ALTER TABLE log_entries RENAME COLUMN body TO request_body',
];

/** Whether a log_entries table with these columns is still in the version 1 layout. */
export function isVersion1(columns: ReadonlySet<string>): boolean {
  return columns.has('path');
}

/** Refuses a log a newer chroma-ha has upgraded: this version would misread it. */
export function assertReadable(stored: unknown): void {
  const version = stored === undefined || stored === null ? 1 : Number(stored);
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `the replication log was written by a newer chroma-ha (schema version ${version}; this version reads up to ${SCHEMA_VERSION}): run the newer version`,
    );
  }
}

/**
 * The collection a version 1 delete_collection addressed: the last segment of its path
 * (DELETE /api/v2/tenants/{tenant}/databases/{database}/collections/{name}), decoded.
 */
export function collectionNameInPath(path: string): string | null {
  const segments = path.split('?')[0]!.split('/').filter((s) => s.length > 0);
  if (segments.length !== 8 || segments[6] !== 'collections') return null;
  try {
    return decodeURIComponent(segments[7]!);
  } catch {
    return segments[7]!;
  }
}
