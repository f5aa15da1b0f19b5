// Which nodes are members of the cluster: the ones PRIMARY_URL / REPLICA_URLS configure, changed by the
// nodes an operator added or removed at run time. Those changes are records in the store's cluster_state
// (`node:<id>` → added | removed), and a record wins over the environment, so a removed configured node stays
// out across restarts and every gateway on the same store computes the same list. Pure: no I/O here.
import { nodeConfig, type NodeConfig } from '../config/load.js';

export const MEMBER_KEY_PREFIX = 'node:';

export interface MemberRecord {
  /** The node's id: its URL without credentials or trailing slash. */
  id: string;
  state: 'added' | 'removed';
  /** The URL as the operator gave it (credentials included: the gateway needs them to reach the node). */
  url: string;
  name: string;
  /** When the operator made the change (ms): added nodes keep this order. */
  at: number;
}

/** A node's id (its URL without credentials or trailing slash), as the configuration computes it. */
export const nodeIdOf = (url: string): string => nodeConfig(url, 0, undefined).id;

export const memberKey = (id: string): string => MEMBER_KEY_PREFIX + id;

export function encodeMemberRecord(r: MemberRecord): string {
  return JSON.stringify({ state: r.state, url: r.url, name: r.name, at: r.at });
}

/** The membership records among the store's cluster values; malformed ones are ignored (never a crash at start-up). */
export function parseMemberRecords(values: ReadonlyMap<string, string>): MemberRecord[] {
  const out: MemberRecord[] = [];
  for (const [key, raw] of values) {
    if (!key.startsWith(MEMBER_KEY_PREFIX)) continue;
    try {
      const v = JSON.parse(raw) as Partial<MemberRecord>;
      if ((v.state !== 'added' && v.state !== 'removed') || typeof v.url !== 'string' || typeof v.name !== 'string') continue;
      out.push({ id: key.slice(MEMBER_KEY_PREFIX.length), state: v.state, url: v.url, name: v.name, at: typeof v.at === 'number' ? v.at : 0 });
    } catch {
      continue;
    }
  }
  return out;
}

/**
 * The member list: configured nodes not removed, in configuration order, then added nodes in the order they
 * were added. A record for a configured node that says `added` changes nothing (it is there already); the
 * configured node keeps its name and priority. Never empty.
 */
export function computeMembers(configured: readonly NodeConfig[], records: readonly MemberRecord[], nodeToken?: string): NodeConfig[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  const members = configured.filter((c) => byId.get(c.id)?.state !== 'removed');
  const configuredIds = new Set(configured.map((c) => c.id));
  // Every record of a node not configured keeps a slot (removed ones too), so a node's priority is the same
  // on every gateway and after any restart: below the configured nodes', in the order nodes were added.
  const unconfigured = records.filter((r) => !configuredIds.has(r.id)).sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  unconfigured.forEach((r, slot) => {
    if (r.state !== 'added') return;
    const config = nodeConfig(r.url, configured.length + slot, undefined, nodeToken);
    if (members.some((m) => m.id === config.id || m.name === r.name)) return;
    members.push({ ...config, name: r.name, configuredRole: 'replica' });
  });
  // Records that leave no node (every configured node removed, then the environment changed): the
  // environment is all there is to serve from; the operator can remove nodes again.
  return members.length > 0 ? members : [...configured];
}

/** The first free `replica-N` name, for a node added without one. */
export function nextReplicaName(taken: Iterable<string>): string {
  const names = new Set(taken);
  for (let i = 1; ; i++) if (!names.has(`replica-${i}`)) return `replica-${i}`;
}

/** Why a URL cannot name a node, or null when it can (http or https, a host, nothing after the path). */
export function invalidNodeUrl(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.trim() === '') return 'url is required: the base URL of the Chroma node, e.g. http://10.0.0.7:8000';
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return `url ${JSON.stringify(raw.slice(0, 200))} is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url must be http or https, not ${parsed.protocol.replace(/:$/, '')}`;
  if (!parsed.hostname) return 'url has no host';
  if (parsed.search || parsed.hash) return 'url must not have a query or fragment';
  return null;
}

export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
