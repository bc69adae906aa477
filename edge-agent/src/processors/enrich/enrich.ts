// The enricher: host facts, Kubernetes identity, static tags and the service mapping, added as
// labels. Label sets are cached per input label object (receivers share them per series), so
// enrichment costs a lookup per sample, not a copy.
import type { ComponentSettings, MetricsConsumer, Processor } from '../../component.js';
import type { Labels, MetricBatch, MetricSample } from '../../pdata.js';
import { seriesKey } from '../features/index.js';
import type { EnrichConfig } from './config.js';
import type { HostFacts } from './host-facts.js';

interface ServiceRule {
  service: string;
  metric?: RegExp;
  labels: Array<[string, RegExp]>;
}

export class Enricher implements Processor {
  private readonly extra: Labels;
  private readonly rules: ServiceRule[];
  private readonly cache = new WeakMap<Labels, Map<string, { labels: Labels; key: string }>>();

  constructor(
    private readonly settings: ComponentSettings,
    private readonly cfg: EnrichConfig,
    facts: HostFacts,
    private readonly next: MetricsConsumer,
  ) {
    const extra: Labels = {};
    for (const f of cfg.host_labels) if (facts[f]) extra[f] = facts[f];
    if (cfg.kubernetes) {
      if (facts.k8s.namespace) extra.k8s_namespace = facts.k8s.namespace;
      if (facts.k8s.pod) extra.k8s_pod = facts.k8s.pod;
      if (facts.k8s.node) extra.k8s_node = facts.k8s.node;
    }
    Object.assign(extra, cfg.tags);
    this.extra = extra;
    this.rules = cfg.services.map((r) => ({
      service: r.service,
      ...(r.metric !== undefined ? { metric: new RegExp(r.metric) } : {}),
      labels: Object.entries(r.labels).map(([k, v]) => [k, new RegExp(v)] as [string, RegExp]),
    }));
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}

  private serviceFor(name: string, labels: Labels): string | undefined {
    for (const r of this.rules) {
      if (r.metric && !r.metric.test(name)) continue;
      if (r.labels.every(([k, re]) => labels[k] !== undefined && re.test(labels[k]!))) return r.service;
    }
    return undefined;
  }

  /** The enriched label set of a series and its key (cached per input label object and name). */
  enrich(name: string, labels: Labels): { labels: Labels; key: string } {
    let byName = this.cache.get(labels);
    if (!byName) {
      byName = new Map();
      this.cache.set(labels, byName);
    }
    const hit = byName.get(name);
    if (hit) return hit;
    const out: Labels = this.cfg.override ? { ...labels, ...this.extra } : { ...this.extra, ...labels };
    if (out.service === undefined) {
      const svc = this.serviceFor(name, labels);
      if (svc !== undefined) out.service = svc;
    }
    const entry = { labels: out, key: seriesKey(name, out) };
    byName.set(name, entry);
    return entry;
  }

  async consumeMetrics(batch: MetricBatch): Promise<void> {
    const samples: MetricSample[] = batch.samples.map((s) => {
      const e = this.enrich(s.name, s.labels);
      return { ...s, labels: e.labels, key: e.key };
    });
    await this.next.consumeMetrics({ source: batch.source, samples });
  }
}
