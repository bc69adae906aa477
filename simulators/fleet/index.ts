// Public surface of the live fleet: a scenario's simulated hosts run as real edge agents (one
// AgentService each, fed by the `simulator` receiver) sending feature frames to central in real
// time, with a backfill of history and the scenario's fault placed a few minutes after start.
export {
  DEFAULT_BACKFILL_MS,
  DEFAULT_DATA_DIR,
  DEFAULT_FAULT_AFTER_MS,
  DEFAULT_STATUS_INTERVAL_MS,
  FleetError,
  MAX_BACKFILL_MS,
  OPTION_FLAGS,
  parseMqttTarget,
  resolveFleetOptions,
} from './config.js';
export type { FleetErrorCode, LiveFleetOptions, ResolvedFleetOptions } from './config.js';
export { HOST_METRIC_NAMES, LiveFleet, SERVICE_METRIC_NAMES, detachedExporterFactory, fleetAgentConfig, planAgents, planTimeline, runLiveFleet } from './fleet.js';
export type { FleetAgentPlan, FleetAgentStatus, FleetCredentials, FleetEvent, FleetSeries, FleetStatus, FleetTimeline, LiveFleetHooks } from './fleet.js';
export { SimulatorFeed, SimulatorFeeds, SimulatorReceiver, simulatorReceiverConfigSchema, simulatorReceiverFactory } from './receiver.js';
export type { PushResult, SimulatorReceiverConfig } from './receiver.js';
export { fleetCommand, formatFleetStatus, readCredentialsFile } from './cli.js';
export type { FleetCommandIO } from './cli.js';
