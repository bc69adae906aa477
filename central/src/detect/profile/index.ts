// Public surface of series profiling (issue #7, Deliver 1): seasonality, trend, noise and level
// shifts from a series' history, and the detection tiers it is routed to, with the reasons.
export { profileSeries } from './profile.js';
export type { ProfileOptions, Route, SeriesProfile } from './profile.js';
