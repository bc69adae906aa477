// Public surface of scenarios: YAML files describing a simulated system, its faults and its
// exports; validation with path-and-value errors; and runScenario, which writes every export
// (plus any extra writers, e.g. the alert-storm export) to a folder.
export { validateScenario } from './config.js';
export type { Scenario, ScenarioFile } from './config.js';
export { formatDuration, parseDuration } from './duration.js';
export { ScenarioError } from './errors.js';
export type { ScenarioErrorCode } from './errors.js';
export { listShippedScenarios, loadScenarioFile, parseScenarioText, shippedScenariosDir } from './load.js';
export { prepareScenario, runScenario } from './run.js';
export type { PreparedScenario, RunScenarioOptions, ScenarioProgress, ScenarioRunContext, ScenarioSummary, ScenarioWriter } from './run.js';
