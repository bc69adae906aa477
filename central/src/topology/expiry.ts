// Ages out what discovery stopped seeing (issue #8, Deliver 4: "stale edges aged out"): every
// `intervalMs`, discovered edges and then edge-less discovered nodes of the tenant not seen for
// `ttlMs` are removed from the topology store; declared ones stay. Counted in
// aiops_central_topology_expired_total{what}; a failing pass is logged and retried next time.
import type { BoundCounter } from '../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings, Component } from '../component.js';
import type { TopologyStore } from './types.js';

export interface TopologyExpiryOptions {
  store: TopologyStore;
  tenant: string;
  ttlMs: number;
  intervalMs: number;
}

export class TopologyExpiry implements Component {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly expired: BoundCounter;

  constructor(
    private readonly settings: CentralSettings,
    private readonly o: TopologyExpiryOptions,
  ) {
    this.expired = settings.metrics.counter('aiops_central_topology_expired_total', 'Discovered topology nodes and edges removed after not being seen for topology.discovered_ttl.', ['what']);
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.o.intervalMs);
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass (also what the timer runs). */
  async runOnce(): Promise<{ nodes: number; edges: number } | undefined> {
    if (this.running) return undefined;
    const pass = this.o.store
      .expire(this.o.tenant, this.settings.clock.now() - this.o.ttlMs)
      .then((r) => {
        if (r.edges > 0) this.expired.inc(r.edges, { what: 'edge' });
        if (r.nodes > 0) this.expired.inc(r.nodes, { what: 'node' });
        if (r.edges + r.nodes > 0) this.settings.logger.info(r, 'stale discovered topology removed');
        return r;
      })
      .catch((err: unknown) => {
        this.settings.logger.warn({ err: (err as Error).message }, 'topology expiry failed; retried at the next interval');
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = pass;
    return pass;
  }
}
