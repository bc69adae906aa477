// Public surface of the window aggregator (built into every pipeline by the service).
export { WindowAggregator, seriesKey, quantileSorted } from './features.js';
export type { FeaturesConfig } from './config.js';
