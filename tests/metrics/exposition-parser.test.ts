// The test parser of the Prometheus text format must be able to fail: it accepts what prom-client writes
// (labelled histograms, escaped label values, NaN) and rejects what the format forbids.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, Scrape } from '../helpers/prometheus.js';

describe('Prometheus text-format parser used by the metrics tests', () => {
  it('reads prom-client output: labelled histograms, escapes, NaN', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'h_seconds', help: 'a "histogram"\\', labelNames: ['a'], buckets: [1, 2], registers: [registry] });
    h.observe({ a: 'b' }, 0.5);
    h.observe({ a: 'c' }, 1.5);
    h.observe({ a: 'c' }, 9);
    new Counter({ name: 'c_total', help: 'c', labelNames: ['p'], registers: [registry] }).inc({ p: 'x"y\\z\nw' }, 2);
    new Gauge({ name: 'g', help: 'g', registers: [registry] }).set(NaN);
    const s = new Scrape(parseExposition(await registry.metrics()));
    expect(s.value('h_seconds_count', { a: 'c' })).toBe(2);
    expect(s.value('h_seconds_count')).toBe(3);
    expect(s.value('h_seconds_bucket', { a: 'c', le: '1' })).toBe(0);
    expect(s.value('h_seconds_sum', { a: 'c' })).toBe(10.5);
    expect(s.value('c_total', { p: 'x"y\\z\nw' })).toBe(2);
    expect(s.value('g')).toBeNaN();
    expect(s.family('h_seconds')!.help).toBe('a "histogram"\\');
  });

  it('rejects what the format forbids', () => {
    const bad = [
      'foo{a="b" 1',
      'foo bar',
      'foo{a=b} 1',
      'foo 1 2 3',
      '1foo 3',
      'foo{a="\\x"} 1',
      '# TYPE foo countr\nfoo 1',
      'foo 1\n# TYPE foo counter',
      'a 1\nb 1\na 2',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1',
    ];
    for (const text of bad) expect(() => parseExposition(text), text).toThrow();
  });
});
