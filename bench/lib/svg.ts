// A hand-written SVG chart of latency percentiles: one panel per workload (uncapped, at c=8 or the nearest
// concurrency measured), one group of bars per system (p50, p95, p99), each panel on its own linear scale.
import { WORKLOAD_LABELS, type Row } from './matrix.js';

const PANEL = { w: 330, h: 230, top: 34, bottom: 40, left: 44, right: 12 };
const COLUMNS = 3;
const SHADES = ['#9ecae1', '#4292c6', '#08519c'];
const PERCENTILES = [
  ['p50', 'p50Ms'],
  ['p95', 'p95Ms'],
  ['p99', 'p99Ms'],
] as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function latencyChart(rows: Row[]): string {
  const uncapped = rows.filter((r) => r.part === 'uncapped');
  const workloads = [...new Set(uncapped.map((r) => r.workload))];
  const panels = workloads.map((w) => {
    const candidates = uncapped.filter((r) => r.workload === w);
    return candidates.find((r) => r.concurrency === 8) ?? candidates.reduce((a, b) => (Math.abs(b.concurrency - 8) < Math.abs(a.concurrency - 8) ? b : a));
  });
  const rowsOfPanels = Math.max(1, Math.ceil(panels.length / COLUMNS));
  const width = PANEL.w * COLUMNS;
  const height = PANEL.h * rowsOfPanels + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">Latency percentiles (ms), uncapped, one Chroma server behind each system</text>`,
    ...PERCENTILES.map(([name], i) => `<rect x="${width - 190 + i * 60}" y="8" width="12" height="12" fill="${SHADES[i]}"/><text x="${width - 174 + i * 60}" y="18">${name}</text>`),
  ];
  panels.forEach((row, index) => {
    const x0 = (index % COLUMNS) * PANEL.w;
    const y0 = 30 + Math.floor(index / COLUMNS) * PANEL.h;
    const systems = Object.entries(row.results);
    const max = Math.max(...systems.map(([, r]) => r.p99Ms), 0.001);
    const plotH = PANEL.h - PANEL.top - PANEL.bottom;
    const plotW = PANEL.w - PANEL.left - PANEL.right;
    const groupW = plotW / systems.length;
    const barW = (groupW - 10) / PERCENTILES.length;
    const baseY = y0 + PANEL.top + plotH;
    parts.push(`<text x="${x0 + PANEL.left}" y="${y0 + 20}" font-weight="bold">${esc(`${WORKLOAD_LABELS[row.workload]}, c=${row.concurrency}`)}</text>`);
    parts.push(`<line x1="${x0 + PANEL.left}" y1="${baseY}" x2="${x0 + PANEL.left + plotW}" y2="${baseY}" stroke="#444"/>`);
    parts.push(`<line x1="${x0 + PANEL.left}" y1="${baseY}" x2="${x0 + PANEL.left}" y2="${y0 + PANEL.top}" stroke="#444"/>`);
    parts.push(`<text x="${x0 + PANEL.left - 4}" y="${y0 + PANEL.top + 4}" text-anchor="end">${label(max)}</text>`);
    parts.push(`<text x="${x0 + PANEL.left - 4}" y="${baseY}" text-anchor="end">0</text>`);
    systems.forEach(([name, r], g) => {
      const gx = x0 + PANEL.left + g * groupW + 5;
      PERCENTILES.forEach(([pname, key], i) => {
        const v = r[key];
        const h = (v / max) * plotH;
        parts.push(`<rect x="${(gx + i * barW).toFixed(1)}" y="${(baseY - h).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${SHADES[i]}"><title>${esc(`${name} ${pname}: ${label(v)} ms`)}</title></rect>`);
      });
      parts.push(`<text x="${(gx + (groupW - 10) / 2).toFixed(1)}" y="${baseY + 14}" text-anchor="middle">${esc(name)}</text>`);
      parts.push(`<text x="${(gx + (groupW - 10) / 2).toFixed(1)}" y="${baseY + 27}" text-anchor="middle" fill="#555">${label(r.p50Ms)} ms</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
