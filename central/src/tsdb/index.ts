// Public surface of central's TSDB integration (ARCHITECTURE sections 4 and 8, decision 017):
// the `tsdb:` config section, the remote-write exporter (a Component fed with the samples
// central stores) and the query adapter (the read side of MetricStore over the Prometheus HTTP
// API of Prometheus or VictoriaMetrics). Both are optional and off by default.
import type { CentralSettings } from '../component.js';
import { validateTsdbConfig } from './config.js';
import type { TsdbConfig } from './config.js';
import { PrometheusQueryAdapter } from './query-adapter.js';
import { RemoteWriteExporter } from './remote-write-exporter.js';

export {
  authHeaders,
  QueryConfigSchema,
  RemoteWriteConfigSchema,
  TsdbConfigError,
  TsdbConfigSchema,
  validateTsdbConfig,
} from './config.js';
export type { QueryConfig, QueryConfigInput, RemoteWriteConfig, RemoteWriteConfigInput, TsdbConfig, TsdbConfigInput } from './config.js';
export { classifyStatus, encodeWriteRequest, exportingMetricStore, parseRetryAfter, prepareSeries, RemoteWriteExporter, WriteRequestEncoder } from './remote-write-exporter.js';
export type { DropReason, EncodedBatch, PreparedSeries, RemoteWriteExporterOptions, SampleConsumer, SendOutcome, TsdbSettings } from './remote-write-exporter.js';
export { apiError, checkSelector, MAX_STEPS_PER_REQUEST, PrometheusQueryAdapter, promqlString, renderSelector } from './query-adapter.js';
export type { MetricReader, RangeWindow } from './query-adapter.js';

/** What the `tsdb:` section builds: each part only when its block is present. */
export interface TsdbComponents {
  exporter: RemoteWriteExporter | undefined;
  reader: PrometheusQueryAdapter | undefined;
}

/**
 * The factory of the `tsdb:` section: validates it whole (TsdbConfigError naming every bad
 * field) and builds the exporter (settings id `tsdb/remote_write`) and the adapter
 * (`tsdb/query`). Nothing is started: the host starts the exporter downstream-first.
 */
export const tsdbFactory = {
  type: 'tsdb',
  description: 'Remote-write to a Prometheus-compatible TSDB and read metrics back through its HTTP API (Prometheus, VictoriaMetrics)',
  validate: validateTsdbConfig,
  create(settings: (id: string) => Pick<CentralSettings, 'id' | 'logger' | 'metrics' | 'clock'>, config: TsdbConfig): TsdbComponents {
    return {
      exporter: config.remote_write ? new RemoteWriteExporter(settings('tsdb/remote_write'), config.remote_write) : undefined,
      reader: config.query ? new PrometheusQueryAdapter(settings('tsdb/query'), config.query) : undefined,
    };
  },
} as const;
