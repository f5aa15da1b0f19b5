// Reads a Prometheus endpoint the way a scraper does, with a strict parser of the text exposition format
// (version 0.0.4) written from its specification: metric and label name syntax, label value escapes,
// float values as Go parses them (NaN, +Inf, -Inf in any case), optional timestamps, one TYPE and HELP per
// family before its samples, families not interleaved, and histograms whose buckets are cumulative with
// +Inf equal to _count. The npm parsers tried first mis-read prom-client's output: parse-prometheus-text-format
// collapses labelled histograms (its open issue #13), prom2javascript refuses the `Nan` prom-client writes.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: string | null = null;
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!METRIC.test(name!) || METRIC.exec(name!)![0] !== name) fail('bad metric name');
      const f = family(name!);
      if (f.samples.length > 0) fail(`${kind} after samples of ${name}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest.trim())) fail('unknown type');
        f.type = rest.trim() as Family['type'];
      } else f.help = rest.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      return;
    }
    if (line.startsWith('#')) return; // a comment
    const nameMatch = METRIC.exec(line) ?? fail('no metric name');
    const name = nameMatch[0];
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        while (line[pos] === ' ') pos++;
        if (line[pos] === '}') break;
        const label = LABEL.exec(line.slice(pos)) ?? fail('bad label name');
        pos += label[0].length;
        if (line[pos] !== '=' || line[pos + 1] !== '"') fail('expected ="');
        pos += 2;
        let value = '';
        while (line[pos] !== '"') {
          if (pos >= line.length) fail('unterminated label value');
          if (line[pos] === '\\') {
            const c = line[pos + 1];
            if (c !== '\\' && c !== '"' && c !== 'n') fail('bad escape in label value');
            value += c === 'n' ? '\n' : c;
            pos += 2;
          } else value += line[pos++];
        }
        pos++;
        if (label[0] in labels) fail('duplicate label');
        labels[label[0]] = value;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') fail('expected , or }');
      }
      pos++;
    }
    const rest = line.slice(pos);
    const m = /^ +(\S+)(?: +(-?\d+))? *$/.exec(rest) ?? fail('expected a value and an optional timestamp');
    const value = parseFloatLikeGo(m[1]!) ?? fail('bad value');
    const owner = familyOf(name, families);
    if (current !== owner) {
      if (closed.has(owner)) fail(`samples of ${owner} are not grouped together`);
      if (current) closed.add(current);
      current = owner;
    }
    family(owner).samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The family a sample belongs to: _bucket, _sum and _count samples belong to their histogram or summary. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    const t = name.endsWith(suffix) ? families.get(base)?.type : undefined;
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: boolean }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      entry.buckets.push([parseFloatLikeGo(le) ?? NaN, s.value]);
    } else if (s.name === `${f.name}_count`) entry.count = s.value;
    else if (s.name === `${f.name}_sum`) entry.sum = true;
    else throw new Error(`${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, e] of series) {
    const inf = e.buckets.find(([le]) => le === Infinity);
    if (!inf || e.count === undefined || !e.sum) throw new Error(`${f.name}${key}: histogram needs +Inf bucket, _sum and _count`);
    if (inf[1] !== e.count) throw new Error(`${f.name}${key}: +Inf bucket ${inf[1]} != _count ${e.count}`);
    const sorted = [...e.buckets].sort((a, b) => a[0] - b[0]);
    sorted.forEach(([, v], i) => {
      if (i > 0 && v < sorted[i - 1]![1]) throw new Error(`${f.name}${key}: buckets are not cumulative`);
    });
  }
}

/** Go's strconv.ParseFloat as Prometheus uses it: decimal floats, and NaN / Inf in any case. */
function parseFloatLikeGo(s: string): number | null {
  if (/^nan$/i.test(s)) return NaN;
  if (/^[+]?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : null;
}

export class Scrape {
  constructor(readonly families: Map<string, Family>) {}

  family(name: string): Family | undefined {
    return this.families.get(name);
  }

  /**
   * Sum over the samples named `sample` (a metric, or a histogram's `_count`) whose labels include `labels`;
   * undefined when none matches.
   */
  value(sample: string, labels: Record<string, string> = {}): number | undefined {
    const f = this.families.get(familyOf(sample, this.families));
    const matching = (f?.samples ?? []).filter((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`${url} answered content-type ${type}, not the text exposition format`);
  return new Scrape(parseExposition(await res.text()));
}
