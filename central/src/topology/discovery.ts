// Topology discovery from the agents (issue #8, Deliver 4): the agents' enrichment labels every
// series of a workload with its `service` and the `host` it runs on, so each ingested frame
// tells which services run on which hosts. This stage sits in the ingest path in front of the
// feature sink: for each (tenant, service, host) it has not reported within `refreshMs` it
// observes the workload RUNS_ON the host in the topology store - the stored node of that name
// when there is one (a declared `cache:redis`), else Service `service:<name>` and Host
// `host:<name>` - then hands the frame on unchanged.
//
// Discovery never holds up ingestion: the observation is written in the background (one at a
// time, the newest pairs waiting in a bounded set), a failure is counted and logged once a
// minute, and the frame's acknowledgement depends only on the sink behind. Label values that
// cannot be node ids are skipped and counted.
import type { Labels, TopologyNode } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, Clock, ComponentMetrics, Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { FrameConsumer, IngestedFrame } from '../component.js';
import type { TopologyStore } from './types.js';

/** What a discovered name must look like to be part of a node id. */
export const DISCOVERED_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:\/-]{0,200}$/;
const NAME_RE = DISCOVERED_NAME_RE;
/** Which node a `service` label means when several kinds share the name. */
const WORKLOAD_PREFERENCE: readonly TopologyNode['kind'][] = ['Service', 'Database', 'Cache', 'Queue', 'LoadBalancer', 'Instance'];

/**
 * Stored nodes by name, for discovery to reuse: workloads (a name shared by several kinds means
 * the most service-like) and hosts apart.
 */
export function knownNodesByName(nodes: readonly TopologyNode[]): { workloads: Map<string, TopologyNode>; hosts: Map<string, TopologyNode> } {
  const workloads = new Map<string, TopologyNode>();
  const hosts = new Map<string, TopologyNode>();
  for (const n of nodes) {
    if (n.kind === 'Host') {
      if (!hosts.has(n.name)) hosts.set(n.name, n);
    } else {
      const cur = workloads.get(n.name);
      if (cur === undefined || WORKLOAD_PREFERENCE.indexOf(n.kind) < WORKLOAD_PREFERENCE.indexOf(cur.kind)) workloads.set(n.name, n);
    }
  }
  return { workloads, hosts };
}

export interface TopologyDiscoveryOptions {
  store: TopologyStore;
  next: FrameConsumer;
  logger: Logger;
  metrics: ComponentMetrics;
  clock: Clock;
  /** A pair already reported is reported again after this long (its last sighting moves). Default 60 s. */
  refreshMs?: number;
  /** Pairs remembered at most (beyond, the oldest are forgotten and may be reported again). Default 100,000. */
  maxPairs?: number;
}

export class TopologyDiscovery implements FrameConsumer {
  private readonly reported = new Map<string, number>();
  private readonly pending = new Map<string, { tenant: string; service: string; host: string }>();
  private writing: Promise<void> | undefined;
  private lastErrorLog = 0;
  private readonly observed: BoundCounter;
  private readonly skipped: BoundCounter;
  private readonly failed: BoundCounter;

  constructor(private readonly o: TopologyDiscoveryOptions) {
    const m = o.metrics;
    this.observed = m.counter('aiops_central_topology_discovered_total', 'Service-runs-on-host pairs reported to the topology store from ingested frames.');
    this.skipped = m.counter('aiops_central_topology_discovery_skipped_total', 'Series whose service or host label cannot be a topology node id (skipped).');
    this.failed = m.counter('aiops_central_topology_discovery_failures_total', 'Discovery writes the topology store refused or failed (retried at the next sighting).');
  }

  async consumeFrame(frame: IngestedFrame): Promise<void> {
    const now = this.o.clock.now();
    const refresh = this.o.refreshMs ?? 60_000;
    for (const r of frame.rows) this.see(frame.tenant, r.labels, now, refresh);
    if (this.pending.size > 0 && this.writing === undefined) this.writing = this.flush();
    await this.o.next.consumeFrame(frame);
  }

  private see(tenant: string, labels: Labels, now: number, refresh: number): void {
    const service = labels['service'];
    const host = labels['host'];
    if (service === undefined || host === undefined) return;
    const key = `${tenant}\u0000${service}\u0000${host}`;
    const at = this.reported.get(key);
    if (at !== undefined && now - at < refresh) return;
    if (!NAME_RE.test(service) || !NAME_RE.test(host)) {
      this.skipped.inc();
      this.reported.set(key, now);
      return;
    }
    this.reported.delete(key);
    this.reported.set(key, now);
    const max = this.o.maxPairs ?? 100_000;
    while (this.reported.size > max) this.reported.delete(this.reported.keys().next().value!);
    if (this.pending.size < max) this.pending.set(key, { tenant, service, host });
  }

  /** Writes what is pending, one tenant's batch at a time, until nothing is. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const tenant = this.pending.values().next().value!.tenant;
        const batch = [...this.pending.entries()].filter(([, p]) => p.tenant === tenant);
        for (const [k] of batch) this.pending.delete(k);
        try {
          // A label names a workload that may already be declared under its own kind (a
          // `cache:redis` Cache, a `db:orders` Database): reuse that node rather than adding a
          // Service of the same name.
          const { workloads: byName, hosts } = knownNodesByName((await this.o.store.snapshot(tenant)).nodes);
          const nodes = new Map<string, TopologyNode>();
          const edges = batch.map(([, p]) => {
            const w = byName.get(p.service) ?? { id: `service:${p.service}`, kind: 'Service' as const, name: p.service };
            const h = hosts.get(p.host) ?? { id: `host:${p.host}`, kind: 'Host' as const, name: p.host };
            nodes.set(w.id, { id: w.id, kind: w.kind, name: w.name });
            nodes.set(h.id, { id: h.id, kind: h.kind, name: h.name });
            return { from: w.id, to: h.id, kind: 'RUNS_ON' as const };
          });
          await this.o.store.observe(tenant, { nodes: [...nodes.values()], edges }, this.o.clock.now());
          this.observed.inc(edges.length);
        } catch (err) {
          this.failed.inc();
          // Reported again at its next sighting.
          for (const [k] of batch) this.reported.delete(k);
          const now = Date.now();
          if (now - this.lastErrorLog > 60_000) {
            this.lastErrorLog = now;
            this.o.logger.warn({ err: (err as Error).message, tenant }, 'topology discovery not stored (ingestion goes on; retried at the next sighting)');
          }
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Resolves when the pending observations are written (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }
}
