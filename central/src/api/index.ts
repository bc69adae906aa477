// Public surface of central's REST routes (ARCHITECTURE section 7). Each module registers its
// routes on the gateway with the stores and pipeline heads it needs (no globals).
export { registerAlertRoutes } from './alerts.js';
export type { AlertRoutesDeps } from './alerts.js';
export { MAX_CHANGE_CLOCK_SKEW_MS, registerChangeRoutes } from './changes.js';
export type { ChangeRoutesDeps } from './changes.js';
export { registerIncidentRoutes } from './incidents.js';
export type { IncidentRoutesDeps } from './incidents.js';
export { registerMetricRoutes } from './metrics.js';
export type { MetricRoutesDeps } from './metrics.js';
export { registerLogRoutes } from './logs.js';
export type { LogRoutesDeps } from './logs.js';
export { registerConfigRoutes, topologySpec } from './config.js';
export type { ConfigDocumentSpec, ConfigRoutesDeps } from './config.js';
export { parseSelector, SelectorSyntaxError } from './selector.js';
export { agentConfigName, registerAgentConfigRoutes, republishAgentConfigs } from './agent-config.js';
export type { AgentConfigDeps } from './agent-config.js';
