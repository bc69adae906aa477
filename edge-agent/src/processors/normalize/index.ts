// Public surface of the normalize processor.
import type { ComponentSettings, MetricsConsumer, ProcessorFactory } from '../../component.js';
import { normalizeConfigSchema } from './config.js';
import type { NormalizeConfig } from './config.js';
import { Normalizer } from './normalize.js';

export { Normalizer } from './normalize.js';
export type { DropReason } from './normalize.js';
export { normalizeConfigSchema } from './config.js';
export type { NormalizeConfig } from './config.js';
export { counterRate, nameWithUnit, sanitizeLabelName, sanitizeMetricName, unitRule } from './rules.js';

export const normalizeProcessorFactory: ProcessorFactory<typeof normalizeConfigSchema> = {
  kind: 'processor',
  type: 'normalize',
  description: 'valid names and labels, base units, counters to rates, drops NaN/out-of-order/skewed samples, series limits',
  configSchema: normalizeConfigSchema,
  create: (settings: ComponentSettings, config: NormalizeConfig, next: MetricsConsumer) => new Normalizer(settings, config, next),
};
