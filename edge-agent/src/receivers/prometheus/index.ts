// Public surface of the Prometheus scrape receiver (CONVENTIONS 12).
import type { ReceiverFactory } from '../../component.js';
import type { PrometheusConfig } from './config.js';
import { PrometheusConfigSchema } from './config.js';
import { PrometheusReceiver } from './receiver.js';

export type { PrometheusConfig };
export { PrometheusConfigSchema };
export type { ExpositionErrorReason, MetricType, ParseOptions, ParseResult } from './parser.js';
export { ExpositionError, parseExposition } from './parser.js';

export const prometheusReceiverFactory: ReceiverFactory<typeof PrometheusConfigSchema> = {
  kind: 'receiver',
  type: 'prometheus',
  description: 'Scrapes Prometheus text-format endpoints (node_exporter and friends) with per-target up, scrape_duration_seconds and scrape_samples_scraped',
  configSchema: PrometheusConfigSchema,
  create: (settings, config, next) => new PrometheusReceiver(settings, config, next),
};
