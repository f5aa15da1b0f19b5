// Defence against Chroma 1.0.x's index bug (docs/chroma-notes.md, "An update of a missing id"): an
// `update` carrying an embedding for an id the collection does not hold is answered as a no-op, but it
// stays in the collection's own log, and a later backfill can re-apply it once an `add` has created the
// id, so the record silently takes the old update's embedding. Nodes given the same writes then differ,
// depending on when each was first read.
//
// The primary's applier, holding the write lane (so nothing else writes the collection meanwhile), asks the
// primary which of the update's ids exist and sends an update in which the missing ids' embeddings are
// null (Chroma accepts per-record nulls, in plain and base64 form). That body is what the log keeps, so
// replicas replay exactly what the primary applied and no node ever receives the poisonous update.
// Documents and metadata of missing ids are left as sent: Chroma ignores them and they are not affected.
// Requests Chroma rejects for their embeddings' dimension are sent unchanged, so the client still gets
// Chroma's own error (a rejected request leaves nothing behind).

type Body = Record<string, unknown>;

export type UpdatePlan =
  /** Send the body as it is. */
  | { kind: 'unchanged' }
  /** Send (and log) this body instead: embeddings of `missing` ids nulled. */
  | { kind: 'rewrite'; body: Buffer; missing: string[] };

/** The ids whose existence must be known before the body can be planned; null when no lookup is needed. */
export function idsToLookUp(raw: Buffer | null): string[] | null {
  const body = parseUpdate(raw);
  return body ? [...new Set(body.ids)] : null;
}

/**
 * Decides what to send, given which ids exist and the collection's dimension (null: never set).
 * Pure: unit-tested in tests/replication/update-guard.test.ts.
 */
export function planUpdate(raw: Buffer | null, existing: ReadonlySet<string>, dimension: number | null): UpdatePlan {
  const body = parseUpdate(raw);
  if (!body) return { kind: 'unchanged' };
  const embeddings = body.embeddings as unknown[];
  const missing = body.ids.filter((id, i) => !existing.has(id) && embeddings[i] !== null);
  if (missing.length === 0) return { kind: 'unchanged' };
  // Chroma checks every embedding of the request, the nulled ones included: keep its rejection.
  const dims = embeddings.filter((e) => e !== null).map(dimensionOf);
  if (dims.some((d) => d === null || d !== dims[0])) return { kind: 'unchanged' };
  if (dimension !== null && dims[0] !== dimension) return { kind: 'unchanged' };
  const nulled = new Set(missing);
  const rewritten = { ...body, embeddings: embeddings.map((e, i) => (nulled.has(body.ids[i]!) ? null : e)) };
  return { kind: 'rewrite', body: Buffer.from(JSON.stringify(rewritten)), missing: [...new Set(missing)] };
}

/** An update body worth guarding: ids and a same-length embeddings list; anything else Chroma judges itself. */
function parseUpdate(raw: Buffer | null): (Body & { ids: string[] }) | null {
  if (!raw || raw.length === 0) return null;
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const { ids, embeddings } = body as Body;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) return null;
  if (!Array.isArray(embeddings) || embeddings.length !== ids.length) return null;
  return body as Body & { ids: string[] };
}

/** Length of a plain vector, or of a base64 little-endian float32 vector; null when it is neither. */
function dimensionOf(e: unknown): number | null {
  if (Array.isArray(e)) return e.length;
  if (typeof e === 'string') {
    const bytes = Buffer.from(e, 'base64').length;
    return bytes % 4 === 0 ? bytes / 4 : null;
  }
  return null;
}
