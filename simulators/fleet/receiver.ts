// The `simulator` receiver: an edge-agent receiver (ReceiverFactory shape) that reads samples a
// driver in the same process pushes, instead of scraping or listening. The live fleet gives
// every simulated host a real AgentService whose pipeline starts with one of these; the fleet
// driver pushes that host's simulated samples into it, and from there on everything is the
// agent's own code (normalize -> tier1 -> features -> exporter).
//
// Wiring without globals: the registry's factory is built over a SimulatorFeeds object; the
// driver opens a feed per agent (by name) before the agent is built, the receiver created for
// `receivers.simulator.feed: <name>` attaches to it on start() and detaches on shutdown().
// A push while no receiver runs is refused with a result, never thrown (CONVENTIONS 8).
import { z } from 'zod';
import type { ComponentSettings, MetricsConsumer, Receiver, ReceiverFactory } from '../../edge-agent/src/component.js';
import type { MetricSample } from '../../edge-agent/src/pdata.js';
import { FleetError } from './config.js';

export const simulatorReceiverConfigSchema = z
  .object({
    /** Name of the feed this receiver reads (the fleet uses the agent id). The feed must be open before the agent is built. */
    feed: z.string().min(1).max(256),
  })
  .strict();

export type SimulatorReceiverConfig = z.output<typeof simulatorReceiverConfigSchema>;

/** Outcome of one push: the transport-style result of CONVENTIONS 8. */
export type PushResult =
  | { kind: 'accepted'; samples: number }
  /** No receiver is running on this feed (not started yet, or shut down): nothing was consumed. */
  | { kind: 'dropped'; samples: number; reason: 'not_running' }
  /** The pipeline after the receiver refused the batch. */
  | { kind: 'failed'; samples: number; error: Error };

/** One feed: where a driver pushes the samples of one agent. */
export class SimulatorFeed {
  private receiver: SimulatorReceiver | undefined;
  /** Samples pushed while no receiver ran. */
  dropped = 0;

  constructor(readonly name: string) {}

  get attached(): boolean {
    return this.receiver !== undefined;
  }

  /**
   * Hands `samples` to the running receiver. The pipeline's synchronous part (normalize, tier1,
   * the window aggregator) has run when this returns; the promise settles when it is done.
   */
  push(samples: MetricSample[]): Promise<PushResult> {
    const r = this.receiver;
    if (r === undefined) {
      this.dropped += samples.length;
      return Promise.resolve({ kind: 'dropped', samples: samples.length, reason: 'not_running' });
    }
    return r.deliver(samples);
  }

  /** @internal */
  attach(r: SimulatorReceiver): void {
    if (this.receiver !== undefined && this.receiver !== r) {
      throw new FleetError('START_FAILED', `simulator feed "${this.name}" is already read by receiver "${this.receiver.id}"`);
    }
    this.receiver = r;
  }

  /** @internal */
  detach(r: SimulatorReceiver): void {
    if (this.receiver === r) this.receiver = undefined;
  }
}

/** The feeds of one process (one fleet); the registry's simulator factory is built over it. */
export class SimulatorFeeds {
  private readonly feeds = new Map<string, SimulatorFeed>();

  /** Opens a new feed; a name can be opened once. */
  open(name: string): SimulatorFeed {
    if (this.feeds.has(name)) throw new FleetError('START_FAILED', `simulator feed "${name}" is already open`);
    const f = new SimulatorFeed(name);
    this.feeds.set(name, f);
    return f;
  }

  get(name: string): SimulatorFeed | undefined {
    return this.feeds.get(name);
  }

  close(name: string): void {
    this.feeds.delete(name);
  }

  get names(): string[] {
    return [...this.feeds.keys()];
  }
}

export class SimulatorReceiver implements Receiver {
  private running = false;
  private stopped = false;
  private readonly cSamples;
  private readonly cErrors;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly feed: SimulatorFeed,
    private readonly next: MetricsConsumer,
  ) {
    const m = settings.metrics;
    this.cSamples = m.counter('aiops_agent_simulator_samples_total', 'Simulated samples handed to the pipeline.');
    this.cErrors = m.counter('aiops_agent_simulator_push_errors_total', 'Pushes the pipeline refused.');
  }

  get id(): string {
    return this.settings.id;
  }

  async start(): Promise<void> {
    if (this.running || this.stopped) return;
    this.feed.attach(this);
    this.running = true;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (!this.running) return;
    this.running = false;
    this.feed.detach(this);
  }

  /** @internal Called by the feed; the pipeline runs synchronously up to its first real await. */
  async deliver(samples: MetricSample[]): Promise<PushResult> {
    if (!this.running) return { kind: 'dropped', samples: samples.length, reason: 'not_running' };
    if (samples.length === 0) return { kind: 'accepted', samples: 0 };
    try {
      await this.next.consumeMetrics({ source: this.settings.id, samples });
    } catch (err) {
      this.cErrors.inc();
      const error = err instanceof Error ? err : new Error(String(err));
      this.settings.logger.warn({ err: error.message, samples: samples.length }, 'simulator: the pipeline refused a batch');
      return { kind: 'failed', samples: samples.length, error };
    }
    this.cSamples.inc(samples.length);
    return { kind: 'accepted', samples: samples.length };
  }
}

/**
 * The `simulator` receiver factory over `feeds`. Add it to a FactoryRegistry next to
 * buildRegistry()'s receivers; create() fails when the configured feed is not open.
 */
export function simulatorReceiverFactory(feeds: SimulatorFeeds): ReceiverFactory<typeof simulatorReceiverConfigSchema> {
  return {
    kind: 'receiver',
    type: 'simulator',
    description: 'Simulated samples pushed in-process by the live fleet driver (simulators/fleet)',
    configSchema: simulatorReceiverConfigSchema,
    create: (settings: ComponentSettings, config: SimulatorReceiverConfig, next: MetricsConsumer) => {
      const feed = feeds.get(config.feed);
      if (feed === undefined) {
        throw new FleetError('START_FAILED', `receivers.${settings.id}.feed refers to simulator feed "${config.feed}", which is not open (open: ${feeds.names.join(', ') || 'none'})`);
      }
      return new SimulatorReceiver(settings, feed, next);
    },
  };
}
