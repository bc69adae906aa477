// Public surface of the metric generator: a seeded model of a topology (demand, node
// parameters, benign events), the noise-free core run with effects applied, and rendering to
// SimMetrics with measurement noise. See docs/decisions/013-simulator-model.md.
export { MAX_NODE_STEPS, benignOptionsSchema, metricsOptionsSchema, validateMetricsOptions } from './config.js';
export type { MetricsOptions, MetricsOptionsInput } from './config.js';
export { MetricsError } from './errors.js';
export type { MetricsErrorCode } from './errors.js';
export { HOST_CHANNELS, WORKLOAD_CHANNELS, compileEffects } from './effects.js';
export type { ChannelArrays, CompiledEffects, Effect, HostChannel, HostEffect, WorkloadChannel, WorkloadEffect } from './effects.js';
export { FAST_FAIL_SECONDS, OOM_RESTART_SECONDS, simulateCore } from './engine.js';
export type { CoreRun, HostCore, WorkloadCore } from './engine.js';
export { createMetricModel, generateMetrics } from './model.js';
export type { MetricModel } from './model.js';
export { HOST_NOISE, SERVICE_NOISE, hostSeries, renderMetrics, workloadSeries } from './render.js';
export type { BenignEvent, ChangeEvent } from './benign.js';
export type { HostProfile, WorkloadProfile } from './profile.js';
export type { SeasonProfile } from './seasonality.js';
export { peakFactor, seasonalFactor } from './seasonality.js';
