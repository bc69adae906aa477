// Public surface of the alert-storm simulator: Prometheus-style alert rules evaluated over
// simulated metrics, causes from the ground truth in the hidden `sim_fault` label, seeded noise,
// and Alertmanager webhook (v4) notifications.
export { alertStormOptionsSchema, NOISE_AT_LEVEL_1, resolveAlertStormOptions } from './config.js';
export type { AlertStormConfig, AlertStormOptions, NoiseConfig } from './config.js';
export { generateAlertStorm } from './storm.js';
export type { AlertStorm, AlertStormStats, StormAlert, StormNotification } from './storm.js';
export { serializeAlertStorm, writeAlertStorm } from './writer.js';
export type { AlertStormFiles } from './writer.js';
export { DEFAULT_RULE_OPTIONS, defaultAlertRules, parseAlertRules } from './rules.js';
export type { AlertRule, AlertRuleFile, DefaultRuleOptions } from './rules.js';
export { formatPromDuration, parseExpr, parsePromDuration } from './expr.js';
export type { CompareOp, ExprNode, LabelMatcher, MatchOp, RangeFunction, SelectorNode } from './expr.js';
export { evaluateRules, labelSeries } from './evaluate.js';
export type { RuleEpisode, RuleEvaluation } from './evaluate.js';
export { alertEntity, attributeFault, NO_FAULT } from './causality.js';
export { dispatchAlerts } from './dispatch.js';
export type { DispatchAlert, RouteOptions, SentNotification } from './dispatch.js';
export { buildWebhookPayload, compareAlertsForNotification, GO_ZERO_TIME, goTime, groupKeyOf, groupLabelsOf } from './webhook.js';
export type { NotifiedAlert, WebhookAlert, WebhookGroup, WebhookV4 } from './webhook.js';
export { correlateInputLines, scenarioAlertStream } from './stream.js';
export type { LabelledAlertStream } from './stream.js';
export { AlertStormError, isAlertStormError } from './errors.js';
export type { AlertStormErrorCode, SourcePosition } from './errors.js';
