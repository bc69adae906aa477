// The agent service: builds the pipeline from a validated config as one checked graph
// (CONVENTIONS 4), starts it downstream first, shuts it down upstream first so data drains.
//
//   receivers --> processors (in the listed order) --> window aggregator --> exporters (fan-out)

import { mkdirSync } from 'node:fs';
import type { Clock, Component, ComponentSettings, MetricsConsumer, ReceiverFactory, ProcessorFactory, ExporterFactory, WindowConsumer } from '../component.js';
import type { AgentConfig } from '../config/config.js';
import { AgentError } from '../errors.js';
import { WindowAggregator } from '../processors/features/index.js';
import type { Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { SelfMetrics } from '../../../shared-schemas/src/runtime/index.js';
import { fanoutMetrics, fanoutWindows } from './fanout.js';

export interface ServiceOptions {
  logger: Logger;
  metrics: SelfMetrics;
  clock: Clock;
  /**
   * The credential central issued at enrollment (main.ts, enrollment/): handed to every
   * component as settings.agent.secret. Kept out of AgentConfig so that no printing or
   * describing of the config can show it.
   */
  agentSecret?: string;
}

interface Node {
  id: string;
  kind: 'receiver' | 'processor' | 'aggregator' | 'exporter';
  component: Component;
  state: 'built' | 'starting' | 'running' | 'failed' | 'stopped';
}

export class AgentService {
  /** In start order: exporters, aggregator, processors (last first), receivers. */
  private readonly nodes: Node[] = [];
  private started = false;
  private stopped = false;
  private readonly up;

  constructor(
    readonly config: AgentConfig,
    private readonly opts: ServiceOptions,
  ) {
    this.up = opts.metrics.forComponent('service').gauge('aiops_agent_component_up', 'Whether a component is running (1) or not (0).', ['id', 'kind']);
    this.build();
  }

  private settingsFor(id: string): ComponentSettings {
    return {
      id,
      logger: this.opts.logger.child({ component: id }),
      metrics: this.opts.metrics.forComponent(id),
      clock: this.opts.clock,
      agent: {
        agentId: this.config.agent.id,
        tenant: this.config.agent.tenant,
        dataDir: this.config.agent.dataDir,
        ...(this.opts.agentSecret !== undefined ? { secret: this.opts.agentSecret } : {}),
      },
    };
  }

  private resolved(id: string) {
    const c = this.config.components.get(id);
    if (!c) throw new AgentError('BAD_GRAPH', `pipeline refers to "${id}", which is not configured`);
    return c;
  }

  private build(): void {
    const p = this.config.pipeline;
    const exporters: WindowConsumer[] = [];
    for (const id of p.exporters) {
      const c = this.resolved(id);
      if (c.kind !== 'exporter') throw new AgentError('BAD_GRAPH', `"${id}" is a ${c.kind}, listed as an exporter`);
      const e = (c.factory as ExporterFactory).create(this.settingsFor(id), c.config);
      this.nodes.push({ id, kind: 'exporter', component: e, state: 'built' });
      exporters.push(e);
    }
    const aggregator = new WindowAggregator(this.settingsFor('features'), this.config.features, fanoutWindows(exporters));
    this.nodes.push({ id: 'features', kind: 'aggregator', component: aggregator, state: 'built' });
    let next: MetricsConsumer = aggregator;
    for (const id of [...p.processors].reverse()) {
      const c = this.resolved(id);
      if (c.kind !== 'processor') throw new AgentError('BAD_GRAPH', `"${id}" is a ${c.kind}, listed as a processor`);
      const proc = (c.factory as ProcessorFactory).create(this.settingsFor(id), c.config, next);
      this.nodes.push({ id, kind: 'processor', component: proc, state: 'built' });
      next = proc;
    }
    const head = fanoutMetrics([next]);
    for (const id of p.receivers) {
      const c = this.resolved(id);
      if (c.kind !== 'receiver') throw new AgentError('BAD_GRAPH', `"${id}" is a ${c.kind}, listed as a receiver`);
      const r = (c.factory as ReceiverFactory).create(this.settingsFor(id), c.config, head);
      this.nodes.push({ id, kind: 'receiver', component: r, state: 'built' });
    }
  }

  /** The graph in start order, for --print-config and tests. */
  describe(): Array<{ id: string; kind: string; state: string }> {
    return this.nodes.map((n) => ({ id: n.id, kind: n.kind, state: n.state }));
  }

  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new AgentError('STOPPED', 'the service was shut down and cannot start again');
    this.started = true;
    mkdirSync(this.config.agent.dataDir, { recursive: true, mode: 0o700 });
    for (const n of this.nodes) {
      n.state = 'starting';
      try {
        await n.component.start();
        n.state = 'running';
        this.up.set(1, { id: n.id, kind: n.kind });
      } catch (err) {
        n.state = 'failed';
        this.opts.logger.error({ component: n.id, err: (err as Error).message }, 'component failed to start; shutting down');
        await this.shutdown();
        throw new AgentError('START_FAILED', `${n.kind} "${n.id}" failed to start: ${(err as Error).message}`, false, { cause: err });
      }
    }
    this.opts.logger.info({ components: this.nodes.length, agentId: this.config.agent.id, tenant: this.config.agent.tenant }, 'agent started');
  }

  /** Upstream first (receivers, processors, aggregator, exporters): what is in flight drains. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const n of [...this.nodes].reverse()) {
      try {
        await n.component.shutdown();
      } catch (err) {
        this.opts.logger.warn({ component: n.id, err: (err as Error).message }, 'component shutdown failed');
      }
      if (n.state !== 'failed') n.state = 'stopped';
      this.up.set(0, { id: n.id, kind: n.kind });
    }
    this.opts.logger.info('agent stopped');
  }

  health(): { ok: boolean; details: Record<string, unknown> } {
    const components = Object.fromEntries(this.nodes.map((n) => [n.id, n.state]));
    const ok = this.started && !this.stopped && this.nodes.every((n) => n.state === 'running');
    return { ok, details: { agentId: this.config.agent.id, components } };
  }
}
