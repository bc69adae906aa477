// Central's component model (CONVENTIONS 1-2), the same shape as the agent's: every receiver,
// processor and sink implements one lifecycle (start, shutdown) and gets everything it needs
// from a settings object (no globals). Data moves through small per-signal consumer interfaces;
// a component is handed its `next` and never imports what comes after it.
import type { Alert, FeatureRow, Labels } from '../../shared-schemas/src/index.js';
import type { Clock, ComponentMetrics, Logger } from '../../shared-schemas/src/runtime/index.js';

export { systemClock } from '../../shared-schemas/src/runtime/index.js';
export type { Clock } from '../../shared-schemas/src/runtime/index.js';

export interface Component {
  /** Opens listeners, connections, timers. Called downstream-first. */
  start(): Promise<void>;
  /** Stops, flushes, closes. Idempotent and safe without start(). Called upstream-first. */
  shutdown(): Promise<void>;
}

/** One feature frame from an agent, its series ids resolved to label sets by the ingest. */
export interface IngestedFrame {
  tenant: string;
  agentId: string;
  /** The agent's frame sequence: with agentId, the frame's identity (duplicates are dropped). */
  sequence: number;
  windowStartMs: number;
  windowEndMs: number;
  /** `evidence`: what a detection stage said about the row (the chain's scores), for the alert. */
  rows: Array<{ labels: Labels; row: Omit<FeatureRow, 'seriesId'>; evidence?: Readonly<Record<string, string>> }>;
}

export interface FrameConsumer {
  /** Resolves once the frame is durable downstream (the ingest acknowledges only then). */
  consumeFrame(frame: IngestedFrame): Promise<void>;
}

export interface AlertConsumer {
  /** Resolves once the alerts are durable downstream. */
  consumeAlerts(alerts: readonly Alert[]): Promise<void>;
}

/** Everything a component gets from its host. */
export interface CentralSettings {
  /** `type` or `type/name`, e.g. `mqtt` or `alerts/dynamic-xy`. */
  id: string;
  logger: Logger;
  metrics: ComponentMetrics;
  clock: Clock;
  /** Folder for durable state (databases), owner-only. */
  dataDir: string;
}
