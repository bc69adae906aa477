// The component model (CONVENTIONS 1-2): every receiver, processor and exporter implements one
// lifecycle (start, shutdown) and is made by a factory from a validated config. Data moves
// through small per-signal consumer interfaces; a component is handed its `next` and never
// imports what comes after it.

import type { z } from 'zod';
import type { Clock, ComponentMetrics, Logger } from '../../shared-schemas/src/runtime/index.js';
import type { FeatureWindow, MetricBatch } from './pdata.js';

export { systemClock } from '../../shared-schemas/src/runtime/index.js';
export type { Clock } from '../../shared-schemas/src/runtime/index.js';

export interface Component {
  /** Starts timers, listeners, connections. Called downstream-first by the service. */
  start(): Promise<void>;
  /** Stops timers, flushes, closes. Idempotent, and safe without start(). Upstream-first. */
  shutdown(): Promise<void>;
}

export interface MetricsConsumer {
  consumeMetrics(batch: MetricBatch): Promise<void>;
}

export interface WindowConsumer {
  consumeWindow(window: FeatureWindow): Promise<void>;
}

/** Who this agent is; set once from config and host facts. */
export interface AgentIdentity {
  agentId: string;
  tenant: string;
  /** Folder for durable state (buffer, checkpoints, detector snapshots), owner-only. */
  dataDir: string;
  /**
   * The credential central issued to this agent at enrollment (never logged). Exporters
   * authenticate with agentId + secret when their config names no other credential:
   * MQTT username/password, gRPC metadata `x-aiops-agent-id` + `authorization: Bearer <secret>`.
   */
  secret?: string;
}

/** Everything a component gets from its host (no globals). */
export interface ComponentSettings {
  /** `type` or `type/name`, e.g. `prometheus/node`. */
  id: string;
  logger: Logger;
  metrics: ComponentMetrics;
  clock: Clock;
  agent: AgentIdentity;
}

export interface Receiver extends Component {}
export interface Processor extends Component, MetricsConsumer {}
export interface Exporter extends Component, WindowConsumer {}

interface FactoryBase<S extends z.ZodType> {
  /** The config key before any `/name`, e.g. `prometheus`. */
  readonly type: string;
  /** One line for --help and docs. */
  readonly description: string;
  /** Validates and defaults this component's config block. */
  readonly configSchema: S;
}

export interface ReceiverFactory<S extends z.ZodType = z.ZodType> extends FactoryBase<S> {
  readonly kind: 'receiver';
  create(settings: ComponentSettings, config: z.output<S>, next: MetricsConsumer): Receiver;
}

export interface ProcessorFactory<S extends z.ZodType = z.ZodType> extends FactoryBase<S> {
  readonly kind: 'processor';
  create(settings: ComponentSettings, config: z.output<S>, next: MetricsConsumer): Processor;
}

export interface ExporterFactory<S extends z.ZodType = z.ZodType> extends FactoryBase<S> {
  readonly kind: 'exporter';
  create(settings: ComponentSettings, config: z.output<S>): Exporter;
}

export type AnyFactory = ReceiverFactory | ProcessorFactory | ExporterFactory;
