// Public surface of alert correlation (issue #8, Deliver 5-8): the time-topology engine, the
// stage that runs it in central's alert chain and writes incidents, the entity graph it reads
// the topology through, and the offline replay behind `npm run correlate`.
import type { CentralSettings } from '../component.js';
import { correlationConfigSchema } from './config.js';
import type { CorrelationConfig } from './config.js';
import { CorrelationStage } from './stage.js';
import type { CorrelationStageDeps } from './stage.js';

export { correlationConfig, correlationConfigSchema, DEFAULT_ENTITY_LABELS, SEVERITY_ORDER, severityRank } from './config.js';
export type { CorrelationConfig, CorrelationConfigInput, SeverityLevel } from './config.js';
export { alertTokens, CorrelationEngine, describe } from './engine.js';
export type { Assignment, EngineAlert, EngineCounters, IncidentEvent, IncidentEventType, IncidentState, Member } from './engine.js';
export { EntityGraph, EntityGraphError } from './entities.js';
export { AlertLineError, eventOrder, MAX_LINE_BYTES, parseAlertLine, replayAlerts } from './replay.js';
export type { ReplayAlert, ReplayEvent, ReplayIncident, ReplayResult } from './replay.js';
export { CORRELATION_ACTOR, CorrelationStage } from './stage.js';
export type { CorrelationStageDeps, IncidentChange, IncidentConsumer } from './stage.js';
export { correlateCli } from './cli.js';

export const correlationFactory = {
  type: 'correlation',
  description: 'stored alerts -> incidents by time and topology (merged, represented, resolved), with their timeline',
  configSchema: correlationConfigSchema,
  create: (settings: CentralSettings, config: CorrelationConfig, deps: CorrelationStageDeps, tenants: readonly string[] = []): CorrelationStage => new CorrelationStage(settings, config, deps, tenants),
} as const;
