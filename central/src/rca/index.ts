// Public surface of root-cause analysis (issue #9): the engine (robust deviation, explaining
// away along the topology by onset order, Granger tests, a posterior with topology and change
// priors, rules for known failure modes), the published baselines (BARO, NSigma), the readers
// of the public benchmark layouts, the stage that analyses incidents in central, and the
// offline CLI behind `npm run rca`.
import type { CentralSettings } from '../component.js';
import { rcaConfigSchema } from './config.js';
import type { RcaConfig } from './config.js';
import { RcaStage } from './stage.js';
import type { RcaStageDeps } from './stage.js';

export { rcaConfig, rcaConfigSchema } from './config.js';
export type { RcaConfig, RcaConfigInput } from './config.js';
export { analyze, profileSeries } from './engine.js';
export type { SeriesProfile } from './engine.js';
export { runBaseline } from './baselines.js';
export type { BaselineMethod } from './baselines.js';
export { rankCauses, RCA_METHODS } from './methods.js';
export type { RcaMethod } from './methods.js';
export { badDirection, metricClass, neighbourhood, RcaError, splitColumn } from './frame.js';
export type { MetricClass, RankedCause, RankedMetric, RcaCase, RcaChange, RcaErrorCode, RcaFrame, RcaResult, RcaSeries, RcaTopology } from './frame.js';
export { dependencyClosure, fromEntityGraph, parseChanges, parseRcaevalCsv, petshopCase, readPetshopScenario, readRcaevalCsv, topologyFromJson } from './datasets.js';
export type { PetshopIssue, PetshopScenario } from './datasets.js';
export { matchRules } from './rules.js';
export type { RuleMatch } from './rules.js';
export { frameFromSeries, RCA_ACTOR, RcaStage, toRootCauses } from './stage.js';
export type { RcaRun, RcaStageDeps, RootCauseSink } from './stage.js';
export { rcaCli } from './cli.js';

export const rcaFactory = {
  type: 'rca',
  description: 'new and grown incidents -> ranked root causes with evidence, stored on the incident',
  configSchema: rcaConfigSchema,
  create: (settings: CentralSettings, config: RcaConfig, deps: RcaStageDeps): RcaStage => new RcaStage(settings, config, deps),
} as const;
