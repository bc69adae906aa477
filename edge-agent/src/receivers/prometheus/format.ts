// Writer of the text exposition format 0.0.4: the inverse of parser.ts, used by its round-trip
// property test and by test targets. Escapes label values (\\ \" \n) and HELP (\\ \n) as the
// format requires; writes NaN, +Inf, -Inf and -0 so that they read back as the same number.
import type { MetricType } from './parser.js';

export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface ExpositionFamily {
  name: string;
  type?: MetricType;
  help?: string;
  samples: ExpositionSample[];
}

export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

export function formatSample(s: ExpositionSample): string {
  const ls = Object.entries(s.labels);
  const labels = ls.length === 0 ? '' : `{${ls.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
  return `${s.name}${labels} ${formatValue(s.value)}${s.timestampMs !== undefined ? ` ${s.timestampMs}` : ''}\n`;
}

export function formatExposition(families: ExpositionFamily[]): string {
  let out = '';
  for (const f of families) {
    if (f.help !== undefined) out += `# HELP ${f.name} ${escapeHelp(f.help)}\n`;
    if (f.type !== undefined) out += `# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) out += formatSample(s);
  }
  return out;
}
