// Cumulative per-file counts and the series they become. The number of template series
// (file x template x level) is bounded: beyond `maxSeries`, lines count into
// `template_id="other"` of their file and level. Label objects are made once per series and
// shared by every emitted sample of it.

import type { Labels, MetricSample } from '../../pdata.js';
import type { FileCountsEntry } from './checkpoint.js';
import type { Level } from './level.js';

export const OTHER_TEMPLATE = 'other';

interface Series {
  value: number;
  labels: Labels;
}

interface FileCounts {
  label: string;
  bytes: number;
  bytesLabels: Labels;
  lines: Map<Level, Series>;
  /** key: `${templateId}\u0000${level}` */
  templates: Map<string, Series & { templateId: string; level: Level }>;
  /** Distinct real template ids of this file (value: number of levels it has). */
  distinct: Map<string, number>;
  /** Set at the emission that found no tracked file using this label; removed at the next. */
  orphaned: boolean;
}

export class LogCounts {
  private readonly files = new Map<string, FileCounts>();
  private templateSeries = 0;

  constructor(private readonly maxSeries: number) {}

  get seriesCount(): number {
    return this.templateSeries;
  }

  has(label: string): boolean {
    return this.files.has(label);
  }

  labels(): IterableIterator<string> {
    return this.files.keys();
  }

  ensure(label: string): FileCounts {
    let f = this.files.get(label);
    if (!f) {
      f = { label, bytes: 0, bytesLabels: { file: label }, lines: new Map(), templates: new Map(), distinct: new Map(), orphaned: false };
      this.files.set(label, f);
    }
    f.orphaned = false;
    return f;
  }

  addBytes(label: string, n: number): void {
    if (n > 0) this.ensure(label).bytes += n;
  }

  /** Counts one line; returns false when the series limit folded it into `other`. */
  addLine(label: string, level: Level, templateId: string): boolean {
    const f = this.ensure(label);
    let l = f.lines.get(level);
    if (!l) {
      l = { value: 0, labels: { file: label, level } };
      f.lines.set(level, l);
    }
    l.value++;
    let key = `${templateId}\u0000${level}`;
    let t = f.templates.get(key);
    let withinLimit = true;
    if (!t) {
      if (templateId !== OTHER_TEMPLATE && this.templateSeries >= this.maxSeries) {
        withinLimit = false;
        templateId = OTHER_TEMPLATE;
        key = `${templateId}\u0000${level}`;
        t = f.templates.get(key);
      }
      if (!t) t = this.newTemplateSeries(f, templateId, level, key, 0);
    }
    t.value++;
    return withinLimit;
  }

  private newTemplateSeries(f: FileCounts, templateId: string, level: Level, key: string, value: number) {
    const t = { value, labels: { file: f.label, template_id: templateId, level }, templateId, level };
    f.templates.set(key, t);
    if (templateId !== OTHER_TEMPLATE) {
      this.templateSeries++;
      f.distinct.set(templateId, (f.distinct.get(templateId) ?? 0) + 1);
    }
    return t;
  }

  /**
   * Labels no tracked file uses any more are emitted once more (their final values) and then
   * forgotten, so date-named or deleted files do not pile up series forever.
   */
  expire(inUse: ReadonlySet<string>): string[] {
    const removed: string[] = [];
    for (const [label, f] of this.files) {
      if (inUse.has(label)) {
        f.orphaned = false;
      } else if (f.orphaned) {
        for (const t of f.templates.values()) if (t.templateId !== OTHER_TEMPLATE) this.templateSeries--;
        this.files.delete(label);
        removed.push(label);
      } else {
        f.orphaned = true;
      }
    }
    return removed;
  }

  toSamples(ts: number): MetricSample[] {
    const out: MetricSample[] = [];
    for (const f of this.files.values()) {
      out.push({ name: 'log_bytes_total', labels: f.bytesLabels, ts, value: f.bytes, kind: 'counter', unit: 'By' });
      out.push({ name: 'log_templates', labels: f.bytesLabels, ts, value: f.distinct.size, kind: 'gauge' });
      for (const l of f.lines.values()) out.push({ name: 'log_lines_total', labels: l.labels, ts, value: l.value, kind: 'counter' });
      for (const t of f.templates.values()) out.push({ name: 'log_template_lines_total', labels: t.labels, ts, value: t.value, kind: 'counter' });
    }
    return out;
  }

  /** Current value of one series (tests, status). */
  value(label: string, what: { level?: Level; templateId?: string } = {}): number {
    const f = this.files.get(label);
    if (!f) return 0;
    if (what.templateId !== undefined) {
      let sum = 0;
      for (const t of f.templates.values()) if (t.templateId === what.templateId && (what.level === undefined || t.level === what.level)) sum += t.value;
      return sum;
    }
    if (what.level !== undefined) return f.lines.get(what.level)?.value ?? 0;
    let sum = 0;
    for (const l of f.lines.values()) sum += l.value;
    return sum;
  }

  snapshot(): FileCountsEntry[] {
    return [...this.files.values()].map((f) => ({
      label: f.label,
      bytes: f.bytes,
      lines: [...f.lines].map(([level, s]) => [level, s.value] as [Level, number]),
      templates: [...f.templates.values()].map((t) => [t.templateId, t.level, t.value] as [string, Level, number]),
    }));
  }

  restore(entries: readonly FileCountsEntry[]): void {
    for (const e of entries) {
      const f = this.ensure(e.label);
      f.bytes = e.bytes;
      for (const [level, v] of e.lines) f.lines.set(level, { value: v, labels: { file: e.label, level } });
      for (const [templateId, level, v] of e.templates) {
        const key = `${templateId}\u0000${level}`;
        if (f.templates.has(key)) continue;
        // Series beyond the (possibly lowered) limit fold into `other`.
        const id = templateId !== OTHER_TEMPLATE && this.templateSeries >= this.maxSeries ? OTHER_TEMPLATE : templateId;
        const k = `${id}\u0000${level}`;
        const existing = f.templates.get(k);
        if (existing) existing.value += v;
        else this.newTemplateSeries(f, id, level, k, v);
      }
    }
  }
}
