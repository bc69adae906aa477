// Remote-write series -> MetricSample. Remote-write 1.0 carries no metric types, so the kind
// comes from the metadata Prometheus sends in separate requests when it has arrived (kept in a
// bounded cache), else from the name (docs/decisions/008-otlp-and-remote-write-decoding.md):
// names ending in _total, _count, _sum or _bucket are counters, everything else a gauge.
import type { Labels, MetricKind, MetricSample } from '../../pdata.js';
import { int64ToNumber } from '../otlp/convert.js';
import type { DecodedMetadata, DecodedSeries } from './decode.js';
import { MetricType } from './prompb-proto.js';

const COUNTER_SUFFIXES = ['_total', '_count', '_sum', '_bucket'];
const FAMILY_SUFFIXES = ['_total', '_bucket', '_count', '_sum', '_created', '_info', '_gcount', '_gsum'];

/** The kind by name alone (no metadata). */
export function kindByName(name: string): MetricKind {
  for (const s of COUNTER_SUFFIXES) if (name.endsWith(s)) return 'counter';
  return 'gauge';
}

interface Family {
  type: number;
  unit: string;
}

/** Metric family metadata by family name; least recently updated evicted beyond `max`. */
export class MetadataCache {
  private readonly families = new Map<string, Family>();
  constructor(private readonly max: number) {}

  get size(): number {
    return this.families.size;
  }

  update(entries: readonly DecodedMetadata[]): void {
    if (this.max === 0) return;
    for (const m of entries) {
      const name = typeof m.metricFamilyName === 'string' ? m.metricFamilyName : '';
      if (name === '' || name.length > 1024) continue;
      const f: Family = { type: typeof m.type === 'number' ? m.type : MetricType.UNKNOWN, unit: typeof m.unit === 'string' ? m.unit.slice(0, 64) : '' };
      this.families.delete(name);
      if (this.families.size >= this.max) {
        const oldest = this.families.keys().next();
        if (!oldest.done) this.families.delete(oldest.value);
      }
      this.families.set(name, f);
    }
  }

  /** The family of a sample name: the exact name (text format TYPE lines), else the name without its suffix. */
  private lookup(name: string): { family: Family; suffix: string } | undefined {
    const exact = this.families.get(name);
    if (exact) {
      for (const s of FAMILY_SUFFIXES) if (name.endsWith(s) && exact.type !== MetricType.COUNTER) return { family: exact, suffix: s };
      return { family: exact, suffix: '' };
    }
    for (const s of FAMILY_SUFFIXES) {
      if (name.endsWith(s)) {
        const f = this.families.get(name.slice(0, -s.length));
        if (f) return { family: f, suffix: s };
      }
    }
    return undefined;
  }

  /** Kind and unit of a sample name. */
  resolve(name: string): { kind: MetricKind; unit?: string } {
    const hit = this.families.size > 0 ? this.lookup(name) : undefined;
    if (hit === undefined) return { kind: kindByName(name) };
    const { family, suffix } = hit;
    let kind: MetricKind;
    switch (family.type) {
      case MetricType.COUNTER:
        kind = suffix === '_created' ? 'gauge' : 'counter';
        break;
      case MetricType.HISTOGRAM:
      case MetricType.SUMMARY:
        kind = suffix === '_bucket' || suffix === '_sum' || suffix === '_count' ? 'counter' : 'gauge';
        break;
      case MetricType.GAUGE:
      case MetricType.GAUGEHISTOGRAM:
      case MetricType.INFO:
      case MetricType.STATESET:
        kind = 'gauge';
        break;
      default:
        kind = kindByName(name);
    }
    return family.unit !== '' ? { kind, unit: family.unit } : { kind };
  }
}

export interface ConvertedWrite {
  samples: MetricSample[];
  /** Series refused after decoding (no __name__, duplicate label names), with their sample count. */
  invalid: { count: number; samples: number; message: string };
}

/** Turns decoded series into samples; labels are shared by the samples of one series. */
export function convertSeries(series: readonly DecodedSeries[], metadata: MetadataCache): ConvertedWrite {
  const samples: MetricSample[] = [];
  const invalid = { count: 0, samples: 0, message: '' };
  for (const ts of series) {
    let name: string | undefined;
    const labels: Labels = {};
    let problem: string | undefined;
    for (const l of ts.labels) {
      if (typeof l.name !== 'string' || l.name === '') {
        problem = 'empty label name';
      } else if (l.name === '__name__') {
        if (name !== undefined) problem = 'duplicate __name__ label';
        name = l.value;
      } else if (Object.prototype.hasOwnProperty.call(labels, l.name)) {
        problem = `duplicate label name ${JSON.stringify(l.name.slice(0, 64))}`;
      } else {
        labels[l.name] = l.value;
      }
    }
    if (problem === undefined && (name === undefined || name === '')) problem = 'series without a __name__ label';
    if (problem !== undefined || name === undefined) {
      invalid.count++;
      invalid.samples += ts.samples.length;
      if (invalid.message === '') invalid.message = problem ?? 'invalid series';
      continue;
    }
    const { kind, unit } = metadata.resolve(name);
    for (const s of ts.samples) {
      const ts_ = int64ToNumber(s.timestamp);
      const sample: MetricSample = { name, labels, ts: ts_, value: typeof s.value === 'number' ? s.value : NaN, kind };
      if (unit !== undefined) sample.unit = unit;
      samples.push(sample);
    }
  }
  return { samples, invalid };
}
