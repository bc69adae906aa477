// Topology discovery from OTLP traces (issue #8, Deliver 4): a span whose parent span belongs
// to another service is a call from the parent's service to the span's service. Each such
// pair becomes a CALLS edge, observed in the topology store with its call rate (calls per
// second over the flush interval) and protocol "otlp". Parents often arrive after their
// children (a parent span ends last), so children wait for their parent id in a bounded map;
// span ids are remembered in a bounded map too (oldest forgotten first, counted).
// The edges are written every `flushIntervalMs` in the background; a store failure is counted
// and logged at most once a minute, and those calls are counted again in the next interval.
import type { TopologyNode } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, Clock, ComponentMetrics, Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { Component } from '../component.js';
import { DISCOVERED_NAME_RE, knownNodesByName } from './discovery.js';
import type { TopologyStore } from './types.js';


export interface TraceSpan {
  service: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
}

export interface TraceDiscoveryOptions {
  store: TopologyStore;
  logger: Logger;
  metrics: ComponentMetrics;
  clock: Clock;
  /** How often observed calls are written (default 30 s). */
  flushIntervalMs?: number;
  /** Span ids and waiting children remembered at most, per tenant (default 200,000). */
  maxSpans?: number;
}

interface TenantSpans {
  service: Map<string, string>;
  waiting: Map<string, string[]>;
  calls: Map<string, number>;
}

export class TraceDiscovery implements Component {
  private readonly tenants = new Map<string, TenantSpans>();
  private windowStartMs: number;
  private timer: unknown;
  private writing: Promise<void> | undefined;
  private lastErrorLog = 0;
  private readonly m: { spans: BoundCounter; calls: BoundCounter; skipped: BoundCounter; forgotten: BoundCounter; failed: BoundCounter };

  constructor(private readonly o: TraceDiscoveryOptions) {
    this.windowStartMs = o.clock.now();
    const mm = o.metrics;
    this.m = {
      spans: mm.counter('aiops_central_trace_spans_total', 'Spans read for topology discovery.'),
      calls: mm.counter('aiops_central_topology_trace_calls_total', 'Cross-service calls (a span whose parent is in another service) seen in traces.'),
      skipped: mm.counter('aiops_central_trace_spans_skipped_total', 'Spans without a usable service.name (skipped).'),
      forgotten: mm.counter('aiops_central_trace_spans_forgotten_total', 'Span ids or waiting children forgotten because the limit was reached.'),
      failed: mm.counter('aiops_central_topology_trace_failures_total', 'Trace-discovered edges the topology store refused or failed to take.'),
    };
  }

  async start(): Promise<void> {
    const t = this.o.clock.setInterval(() => void this.flush(), this.o.flushIntervalMs ?? 30_000);
    t.unref?.();
    this.timer = t;
  }

  async shutdown(): Promise<void> {
    if (this.timer !== undefined) this.o.clock.clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Reads spans (synchronous, bounded); the calls they show are written at the next flush. */
  consumeSpans(tenant: string, spans: readonly TraceSpan[]): void {
    let st = this.tenants.get(tenant);
    if (!st) {
      st = { service: new Map(), waiting: new Map(), calls: new Map() };
      this.tenants.set(tenant, st);
    }
    const max = this.o.maxSpans ?? 200_000;
    for (const s of spans) {
      this.m.spans.inc();
      if (!DISCOVERED_NAME_RE.test(s.service)) {
        this.m.skipped.inc();
        continue;
      }
      st.service.set(s.spanId, s.service);
      if (st.service.size > max) {
        st.service.delete(st.service.keys().next().value!);
        this.m.forgotten.inc();
      }
      if (s.parentSpanId !== '') {
        const parent = st.service.get(s.parentSpanId);
        if (parent !== undefined) this.call(st, parent, s.service);
        else {
          const list = st.waiting.get(s.parentSpanId);
          if (list) list.push(s.service);
          else st.waiting.set(s.parentSpanId, [s.service]);
          if (st.waiting.size > max) {
            st.waiting.delete(st.waiting.keys().next().value!);
            this.m.forgotten.inc();
          }
        }
      }
      const children = st.waiting.get(s.spanId);
      if (children) {
        st.waiting.delete(s.spanId);
        for (const c of children) this.call(st, s.service, c);
      }
    }
  }

  private call(st: TenantSpans, caller: string, callee: string): void {
    if (caller === callee) return;
    const k = `${caller}\u0000${callee}`;
    st.calls.set(k, (st.calls.get(k) ?? 0) + 1);
    this.m.calls.inc();
  }

  /** Writes the calls seen since the last flush (at most one write runs at a time). */
  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    const now = this.o.clock.now();
    const seconds = Math.max(1, (now - this.windowStartMs) / 1000);
    this.windowStartMs = now;
    for (const [tenant, st] of this.tenants) {
      if (st.calls.size === 0) continue;
      const calls = st.calls;
      st.calls = new Map();
      try {
        const { workloads: byName } = knownNodesByName((await this.o.store.snapshot(tenant)).nodes);
        const nodes = new Map<string, TopologyNode>();
        const node = (name: string): TopologyNode => {
          const n = byName.get(name) ?? { id: `service:${name}`, kind: 'Service' as const, name };
          nodes.set(n.id, { id: n.id, kind: n.kind, name: n.name });
          return n;
        };
        const edges = [...calls].map(([k, n]) => {
          const [caller, callee] = k.split('\u0000') as [string, string];
          return { kind: 'CALLS' as const, from: node(caller).id, to: node(callee).id, properties: { protocol: 'otlp', call_rate: Math.round((n / seconds) * 1000) / 1000 } };
        });
        await this.o.store.observe(tenant, { nodes: [...nodes.values()], edges }, now);
      } catch (err) {
        this.m.failed.inc(calls.size);
        for (const [k, n] of calls) st.calls.set(k, (st.calls.get(k) ?? 0) + n);
        if (Date.now() - this.lastErrorLog > 60_000) {
          this.lastErrorLog = Date.now();
          this.o.logger.warn({ tenant, err: (err as Error).message }, 'trace-discovered calls not stored (kept for the next interval)');
        }
      }
    }
  }
}
