// Process plumbing shared by the agent and central (not wire contracts): structured JSON logs
// with secret redaction, a per-process Prometheus self-metrics registry, and the duration and
// size syntax of config files ("10s", "64MiB"). Imported as shared-schemas/src/runtime/index.js.
export { every, systemClock } from './clock.js';
export { escapeRegex, regexString } from './text.js';
export type { Clock } from './clock.js';
export { CodedError } from './errors.js';
export { applyEnvOverrides, configIssues, hideSecrets, parseYamlConfig, SECRET_KEY_RE, showConfigValue } from './config-file.js';
export type { ConfigIssue } from './config-file.js';
export { byteSize, duration, parseBytes, parseDuration } from './duration.js';
export { createLogger, REDACT_PATHS, silentLogger } from './logger.js';
export type { LogLevel, Logger } from './logger.js';
export { ComponentMetrics, metricSum, SelfMetrics } from './self-metrics.js';
export type { BoundCounter, BoundGauge, BoundHistogram, LabelValues } from './self-metrics.js';
export { mulberry32 } from './random.js';
export { Serial } from './serial.js';
