// Public surface of the virtual agents (issue #4 item 6): N simulated hosts with M series each
// that speak the real edge agent's protocol to central over MQTT or gRPC.
export {
  agentIdOf,
  MAX_AGENTS,
  MAX_RATE_PER_AGENT,
  MAX_SERIES_PER_AGENT,
  OPTION_FLAGS,
  parseDurationMs,
  parseTarget,
  resolveVirtualAgentsOptions,
  virtualAgentsOptionsSchema,
  VirtualAgentsError,
} from './config.js';
export type { Protocol, TargetSpec, VirtualAgentsConfig, VirtualAgentsErrorCode, VirtualAgentsOptions } from './config.js';
export { checkCredentials, credentialsFromMap, loadCredentialsFile, resolveFleetCredentials } from './credentials.js';
export type { AgentCredentials, CredentialsSource } from './credentials.js';
export { runVirtualAgents } from './fleet.js';
export type { ErrorCounts, ProgressSnapshot, RunPhase, VirtualAgentsHooks, VirtualAgentsSummary } from './fleet.js';
export type { SecondSample } from './timeline.js';
export type { LatencySummary } from './latency.js';
export { mqttTopics } from './links.js';
export type { AgentLink, ConnectOutcome, LinkEvents, LinkFactory } from './links.js';
export { SERIES_FAMILIES, SeriesModel } from './series.js';
export type { SeriesFamily } from './series.js';
export { formatProgress, formatSummary, virtualAgentsCommand } from './cli.js';
export type { CommandIO } from './cli.js';
