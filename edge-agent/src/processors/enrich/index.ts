// Public surface of the enrich processor.
import type { ComponentSettings, MetricsConsumer, ProcessorFactory } from '../../component.js';
import { enrichConfigSchema } from './config.js';
import type { EnrichConfig } from './config.js';
import { Enricher } from './enrich.js';
import { collectHostFacts } from './host-facts.js';

export { Enricher } from './enrich.js';
export { enrichConfigSchema } from './config.js';
export type { EnrichConfig, HostFactName } from './config.js';
export { collectHostFacts, systemSources } from './host-facts.js';
export type { HostFacts, HostFactSources } from './host-facts.js';

export const enrichProcessorFactory: ProcessorFactory<typeof enrichConfigSchema> = {
  kind: 'processor',
  type: 'enrich',
  description: 'host facts, Kubernetes identity, static tags and service mapping as labels',
  configSchema: enrichConfigSchema,
  create: (settings: ComponentSettings, config: EnrichConfig, next: MetricsConsumer) => new Enricher(settings, config, collectHostFacts(), next),
};
