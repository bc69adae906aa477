// Public surface of the predictive engine (issue #9, Deliver 5): robust trend forecasts of
// resource series against their capacity, and the stage that turns a forecast crossing within a
// horizon into an alert on central's alert chain.
import type { CentralSettings } from '../component.js';
import { predictConfigSchema } from './config.js';
import type { PredictConfig } from './config.js';
import { PredictStage } from './stage.js';
import type { PredictStageDeps } from './stage.js';

export { DEFAULT_PREDICT_TARGETS, predictConfig, predictConfigSchema, predictTargetSchema } from './config.js';
export type { PredictConfig, PredictConfigInput, PredictTarget } from './config.js';
export { forecastCrossing, formatSpan, theilSen } from './forecast.js';
export type { Forecast, ForecastOptions } from './forecast.js';
export { PredictStage } from './stage.js';
export { PREDICT_SOURCE, Predictor, seriesKey } from './predictor.js';
export type { PredictStageDeps } from './stage.js';

export const predictFactory = {
  type: 'predict',
  description: 'resource series -> forecasts of exhaustion -> predictive alerts into the alert chain',
  configSchema: predictConfigSchema,
  create: (settings: CentralSettings, config: PredictConfig, deps: PredictStageDeps): PredictStage => new PredictStage(settings, config, deps),
} as const;
