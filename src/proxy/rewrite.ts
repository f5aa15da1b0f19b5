// Rewrites collection objects in Chroma's answers from a node's own ids to the stable ids clients see.
import type { Catalog } from '../replication/catalog.js';

type CollectionJson = { id?: unknown; [k: string]: unknown };

/** Returns the collection with its stable id, or null when the node's id is unknown to the catalog. */
export function toStableCollection(c: CollectionJson, nodeId: string, catalog: Catalog): CollectionJson | null {
  if (typeof c.id !== 'string') return c;
  const stableId = catalog.stableId(nodeId, c.id);
  return stableId ? { ...c, id: stableId } : null;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
