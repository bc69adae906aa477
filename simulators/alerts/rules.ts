// Alert rule files in Prometheus' format, and the default rule set derived from a topology.
//
//   groups:
//     - name: services
//       interval: 30s              # optional: this group's evaluation interval
//       rules:
//         - alert: HighLatencyP95
//           expr: latency_p95{service=~"cart|checkout"} > 0.5
//           for: 2m
//           labels: { severity: critical }
//           annotations: { summary: "p95 of {{ $labels.service }} is {{ $value }}s" }
//
// Recording rules, `keep_firing_for` and `limit` are refused with a message rather than ignored.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { HIDDEN_FAULT_LABEL } from '../model/index.js';
import type { SimMetrics, TopologyDocument } from '../model/index.js';
import { AlertStormError } from './errors.js';
import { formatPromDuration, parseExpr, parsePromDuration } from './expr.js';
import type { ExprNode } from './expr.js';
import { compileTemplate } from './template.js';
import type { CompiledTemplate } from './template.js';

export const MAX_RULE_FILE_BYTES = 1024 * 1024;
export const MAX_RULES = 10_000;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

/** A rule file as written (the YAML shape). */
export interface AlertRuleFile {
  groups: Array<{
    name: string;
    interval?: string;
    rules: Array<{
      alert: string;
      expr: string;
      for?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }>;
  }>;
}

/** A loaded rule: expression parsed, templates compiled. */
export interface AlertRule {
  group: string;
  name: string;
  /** The expression text as written. */
  exprText: string;
  expr: ExprNode;
  forMs: number;
  /** This rule's group interval, or undefined for the global evaluation interval. */
  intervalMs: number | undefined;
  labels: Array<{ name: string; template: CompiledTemplate }>;
  annotations: Array<{ name: string; template: CompiledTemplate }>;
  /** `groups[i].rules[j]`, for messages. */
  path: string;
}

const durationText = z.union([z.string(), z.number()]).transform((v, ctx) => {
  // A bare number is seconds-free ambiguity in YAML ("for: 5"): refuse it like Prometheus.
  const ms = typeof v === 'string' ? parsePromDuration(v.trim()) : NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30s, 5m or 1h30m', input: v });
    return z.NEVER;
  }
  return ms;
});

const labelMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v))).optional();

const ruleSchema = z
  .object({
    alert: z.string().min(1).max(256),
    expr: z.union([z.string(), z.number()]).transform((v) => String(v)),
    for: durationText.optional(),
    labels: labelMap,
    annotations: labelMap,
  })
  .strict();

const ruleFileSchema = z
  .object({
    groups: z
      .array(
        z
          .object({
            name: z.string().min(1).max(256),
            interval: durationText.optional(),
            rules: z.array(z.unknown()).default([]),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function zodFail(error: z.ZodError, prefix: string): never {
  const first = error.issues[0] as z.core.$ZodIssue;
  const path = [prefix, ...first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/^\./, '');
  let message = first.message;
  if (first.code === 'unrecognized_keys') message = `has unknown key(s) ${first.keys.map((k) => `"${k}"`).join(', ')}`;
  const got = 'input' in first && first.code !== 'unrecognized_keys' && first.input !== undefined ? ` (got ${show(first.input)})` : '';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  throw new AlertStormError('BAD_RULES', `${path || prefix || '(rules)'} ${message}${got}${more}`, { path: path || prefix });
}

function parseYaml(text: string, source: string): unknown {
  if (Buffer.byteLength(text, 'utf8') > MAX_RULE_FILE_BYTES) {
    throw new AlertStormError('TOO_LARGE', `${source}: rule file larger than ${MAX_RULE_FILE_BYTES} bytes`, { path: source });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as (typeof doc.errors)[number];
    const pos = e.linePos?.[0];
    throw new AlertStormError('BAD_RULES', `${source}: invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`, {
      path: source,
      ...(pos ? { position: { offset: e.pos[0], line: pos.line, column: pos.col } } : {}),
    });
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw new AlertStormError('BAD_RULES', `${source}: ${(cause as Error).message}`, { path: source, cause });
  }
}

/**
 * Loads a rule file: YAML text, or the same structure already parsed (e.g. the `rules:` of a
 * scenario's `alerts:` options). Validates everything before returning; errors are
 * AlertStormError naming the path (`alerts.rules.groups[0].rules[2].expr`) and, for
 * expressions and templates, the column.
 */
export function parseAlertRules(input: string | unknown, source = 'rules'): AlertRule[] {
  const raw = typeof input === 'string' ? parseYaml(input, source) : input;
  const parsed = ruleFileSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) zodFail(parsed.error, source);
  const out: AlertRule[] = [];
  const groupNames = new Set<string>();
  parsed.data.groups.forEach((g, gi) => {
    const gpath = `${source}.groups[${gi}]`;
    if (groupNames.has(g.name)) throw new AlertStormError('BAD_RULES', `${gpath}.name: duplicate group name ${show(g.name)}`, { path: `${gpath}.name` });
    groupNames.add(g.name);
    if (g.interval !== undefined && g.interval < 1000) {
      throw new AlertStormError('BAD_RULES', `${gpath}.interval must be at least 1s (got ${formatPromDuration(g.interval)})`, { path: `${gpath}.interval` });
    }
    g.rules.forEach((r, ri) => {
      const rpath = `${gpath}.rules[${ri}]`;
      if (out.length >= MAX_RULES) throw new AlertStormError('TOO_LARGE', `${rpath}: more than ${MAX_RULES} rules`, { path: rpath });
      if (r !== null && typeof r === 'object' && Object.hasOwn(r, 'record')) {
        throw new AlertStormError('BAD_RULES', `${rpath}: recording rules ("record:") are not supported: the simulator evaluates alerting rules only`, { path: rpath });
      }
      // Checked before the schema, which silently drops a "__proto__" key.
      for (const field of ['labels', 'annotations'] as const) {
        const m = r !== null && typeof r === 'object' ? (r as Record<string, unknown>)[field] : undefined;
        if (m === null || typeof m !== 'object') continue;
        const reserved = Object.keys(m).find((k) => k.startsWith('__'));
        if (reserved !== undefined) {
          throw new AlertStormError('BAD_RULES', `${rpath}.${field}.${reserved}: names starting with "__" are reserved`, { path: `${rpath}.${field}.${reserved}` });
        }
      }
      const pr = ruleSchema.safeParse(r, { reportInput: true });
      if (!pr.success) zodFail(pr.error, rpath);
      const rule = pr.data;
      if (!METRIC_NAME.test(rule.alert)) {
        throw new AlertStormError('BAD_RULES', `${rpath}.alert must be a valid metric name [A-Za-z_:][A-Za-z0-9_:]* (got ${show(rule.alert)})`, { path: `${rpath}.alert` });
      }
      const expr = parseExpr(rule.expr, `${rpath}.expr`);
      const labels: AlertRule['labels'] = [];
      for (const [name, text] of Object.entries(rule.labels ?? {})) {
        const lp = `${rpath}.labels.${name}`;
        if (!LABEL_NAME.test(name) || name.startsWith('__')) {
          throw new AlertStormError('BAD_RULES', `${lp}: label names must match [A-Za-z_][A-Za-z0-9_]* and not start with "__" (reserved)`, { path: lp });
        }
        if (name === HIDDEN_FAULT_LABEL) throw new AlertStormError('BAD_RULES', `${lp}: "${HIDDEN_FAULT_LABEL}" is set by the simulator from the ground truth`, { path: lp });
        if (name === 'alertname') throw new AlertStormError('BAD_RULES', `${lp}: "${name}" comes from the rule's "alert"`, { path: lp });
        const template = compileTemplate(text, lp);
        if (template.usesValue) {
          throw new AlertStormError('BAD_TEMPLATE', `${lp}: label templates may not use $value (the alert would change identity at every evaluation)`, { path: lp });
        }
        labels.push({ name, template });
      }
      const annotations: AlertRule['annotations'] = [];
      for (const [name, text] of Object.entries(rule.annotations ?? {})) {
        const ap = `${rpath}.annotations.${name}`;
        if (!LABEL_NAME.test(name) || name.startsWith('__')) {
          throw new AlertStormError('BAD_RULES', `${ap}: annotation names must match [A-Za-z_][A-Za-z0-9_]* and not start with "__" (reserved)`, { path: ap });
        }
        annotations.push({ name, template: compileTemplate(text, ap) });
      }
      out.push({ group: g.name, name: rule.alert, exprText: rule.expr, expr, forMs: rule.for ?? 0, intervalMs: g.interval, labels, annotations, path: rpath });
    });
  });
  return out;
}

// --- the default rule set -------------------------------------------------------------------

export interface DefaultRuleOptions {
  /** Robust standard deviations above the median for baseline-derived thresholds. */
  sigmas: number;
  /** Overrides every default rule's `for`; undefined keeps each rule's own. */
  forMs: number | undefined;
}

export const DEFAULT_RULE_OPTIONS: DefaultRuleOptions = Object.freeze({ sigmas: 6, forMs: undefined });

/** Median and robust sigma (1.4826 x MAD) of the samples (NaN skipped). */
export function robustBaseline(values: Float64Array): { median: number; sigma: number; count: number } {
  const xs: number[] = [];
  for (const v of values) if (!Number.isNaN(v)) xs.push(v);
  if (xs.length === 0) return { median: NaN, sigma: NaN, count: 0 };
  const med = medianOf(xs);
  const dev = xs.map((x) => Math.abs(x - med));
  return { median: med, sigma: 1.4826 * medianOf(dev), count: xs.length };
}

function medianOf(xs: number[]): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

/** Rounds up to 3 significant digits so thresholds read well and never fall below the input. */
export function roundUp3(x: number): number {
  if (x <= 0 || !Number.isFinite(x)) return x;
  const e = Math.floor(Math.log10(x)) - 2;
  const f = 10 ** e;
  const r = Math.ceil(x / f - 1e-9) * f;
  return Number(r.toPrecision(3));
}

interface RuleSpec {
  alert: string;
  metric: string;
  forMs: number;
  severity: 'critical' | 'warning';
  /** Threshold from the baseline, or undefined to skip (baseline too close to the cap). */
  threshold: (b: { median: number; sigma: number }, k: number) => number | undefined;
  summary: string;
  description: (threshold: number) => string;
}

function ratio(floor: number, cap: number) {
  return (b: { median: number; sigma: number }, k: number): number | undefined => {
    const t = Math.max(floor, b.median + k * b.sigma);
    return t >= cap ? undefined : t;
  };
}

function relative(factor: number, minimum: number) {
  return (b: { median: number; sigma: number }, k: number): number | undefined => Math.max(b.median * factor, b.median + k * b.sigma, minimum);
}

const SERVICE_RULES: RuleSpec[] = [
  {
    alert: 'HighLatencyP95',
    metric: 'latency_p95',
    forMs: 120_000,
    severity: 'critical',
    threshold: relative(2, 0.001),
    summary: 'High p95 latency on {{ $labels.service }}',
    description: (t) => `p95 latency of {{ $labels.service }} is {{ $value | humanize }}s (threshold ${t}s)`,
  },
  {
    alert: 'HighErrorRate',
    metric: 'error_rate',
    forMs: 120_000,
    severity: 'critical',
    threshold: ratio(0.05, 1),
    summary: 'High error rate on {{ $labels.service }}',
    description: (t) => `{{ $value | humanizePercentage }} of requests to {{ $labels.service }} fail (threshold ${t})`,
  },
  {
    alert: 'HighCpuUsage',
    metric: 'cpu',
    forMs: 300_000,
    severity: 'warning',
    threshold: relative(2, 0.01),
    summary: 'CPU usage of {{ $labels.service }} is high',
    description: (t) => `{{ $labels.service }} uses {{ $value | printf "%.2f" }} cores (threshold ${t})`,
  },
  {
    alert: 'ResourceSaturated',
    metric: 'saturation',
    forMs: 120_000,
    severity: 'warning',
    threshold: ratio(0.9, 0.995),
    summary: '{{ $labels.service }} is saturated',
    description: (t) => `the busiest resource of {{ $labels.service }} is {{ $value | humanizePercentage }} used (threshold ${t})`,
  },
  {
    alert: 'HighMemoryUsage',
    metric: 'memory',
    forMs: 300_000,
    severity: 'warning',
    threshold: relative(1.5, 1),
    summary: 'Memory of {{ $labels.service }} is high',
    description: (t) => `{{ $labels.service }} holds {{ $value | humanize }}B resident (threshold ${t})`,
  },
];

const HOST_RULES: RuleSpec[] = [
  {
    alert: 'HostHighCpu',
    metric: 'cpu',
    forMs: 300_000,
    severity: 'warning',
    threshold: ratio(0.9, 0.995),
    summary: 'Host {{ $labels.host }} CPU is busy',
    description: (t) => `{{ $value | humanizePercentage }} of the cores of {{ $labels.host }} are busy (threshold ${t})`,
  },
  {
    alert: 'HostDiskFilling',
    metric: 'disk',
    forMs: 300_000,
    severity: 'critical',
    threshold: ratio(0.9, 0.995),
    summary: 'Disk of {{ $labels.host }} is filling up',
    description: (t) => `the root filesystem of {{ $labels.host }} is {{ $value | humanizePercentage }} full (threshold ${t})`,
  },
];

function quote(s: string): string {
  return JSON.stringify(s);
}

/**
 * The default rules for a topology: per service-like node (Service, Database, Cache, Queue,
 * LoadBalancer) high p95 latency, error rate, CPU, saturation and memory, and absence of
 * request_rate; per Host CPU and disk. Thresholds derive from each series' own baseline
 * (median + `sigmas` x 1.4826 x MAD over the whole series, with floors and relative factors per
 * metric, rounded up to 3 significant digits) - the levels an operator who knows the system
 * would write. A rule is made only for series present in `metrics`; a ratio rule whose
 * baseline already sits at the cap is skipped (it would fire all the time).
 */
export function defaultAlertRules(topology: TopologyDocument, metrics: SimMetrics, options: Partial<DefaultRuleOptions> = {}): AlertRuleFile {
  const k = options.sigmas ?? DEFAULT_RULE_OPTIONS.sigmas;
  const forOverride = options.forMs ?? DEFAULT_RULE_OPTIONS.forMs;
  const byNode = new Map<string, Map<string, Float64Array>>();
  for (const s of metrics.series) {
    let m = byNode.get(s.nodeId);
    if (!m) byNode.set(s.nodeId, (m = new Map()));
    m.set(s.metric, s.values);
  }
  const services: AlertRuleFile['groups'][number]['rules'] = [];
  const hosts: AlertRuleFile['groups'][number]['rules'] = [];
  const absence: AlertRuleFile['groups'][number]['rules'] = [];
  const nodes = [...topology.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const node of nodes) {
    const series = byNode.get(node.id);
    if (!series || node.kind === 'Instance') continue;
    const isHost = node.kind === 'Host';
    const label = isHost ? 'host' : 'service';
    const specs = isHost ? HOST_RULES : SERVICE_RULES;
    for (const spec of specs) {
      const values = series.get(spec.metric);
      if (!values) continue;
      const b = robustBaseline(values);
      if (b.count === 0) continue;
      const raw = spec.threshold(b, k);
      if (raw === undefined || !Number.isFinite(raw)) continue;
      const t = roundUp3(raw);
      (isHost ? hosts : services).push({
        alert: spec.alert,
        expr: `${spec.metric}{${label}=${quote(node.name)}} > ${t}`,
        for: formatPromDuration(forOverride ?? spec.forMs),
        labels: { severity: spec.severity },
        annotations: { summary: spec.summary, description: spec.description(t) },
      });
    }
    if (!isHost && series.has('request_rate')) {
      absence.push({
        alert: 'RequestsAbsent',
        expr: `absent(request_rate{${label}=${quote(node.name)}})`,
        for: formatPromDuration(forOverride ?? 60_000),
        labels: { severity: 'critical' },
        annotations: { summary: '{{ $labels.service }} reports no requests', description: `no request_rate samples from ${node.name}` },
      });
    }
  }
  const groups: AlertRuleFile['groups'] = [];
  if (services.length > 0) groups.push({ name: 'services', rules: services });
  if (hosts.length > 0) groups.push({ name: 'hosts', rules: hosts });
  if (absence.length > 0) groups.push({ name: 'absence', rules: absence });
  return { groups };
}
