// The one explicit registry of the agent's component factories (CONVENTIONS 2). Adding a
// component means adding its factory here; nothing registers itself on import.

import type { AnyFactory, ExporterFactory } from './component.js';
import type { FactoryRegistry } from './config/config.js';
import { GrpcExporter, grpcExporterFactory } from './exporters/grpc/index.js';
import { MqttExporter, mqttExporterFactory } from './exporters/mqtt/index.js';
import { filelogReceiverFactory } from './receivers/filelog/index.js';
import { hostmetricsReceiverFactory } from './receivers/hostmetrics/index.js';
import { otlpReceiverFactory } from './receivers/otlp/index.js';
import { prometheusReceiverFactory } from './receivers/prometheus/index.js';
import { remoteWriteReceiverFactory } from './receivers/remotewrite/index.js';
import { enrichProcessorFactory } from './processors/enrich/index.js';
import { normalizeProcessorFactory } from './processors/normalize/index.js';
import { tier1ProcessorFactory } from './processors/tier1/index.js';

/** Bytes the single executable embeds; in a source checkout they are read from the build. */
export interface AgentAssets {
  tier1Wasm?: Uint8Array;
  sqlWasm?: Uint8Array;
}

function byType(factories: AnyFactory[]): ReadonlyMap<string, AnyFactory> {
  const m = new Map<string, AnyFactory>();
  for (const f of factories) {
    if (m.has(f.type)) throw new Error(`two ${f.kind} factories of type "${f.type}"`);
    m.set(f.type, f);
  }
  return m;
}

export function buildRegistry(assets: AgentAssets = {}): FactoryRegistry {
  // The exporters' store-and-forward buffer runs on sql.js: its WebAssembly travels in `assets`.
  const sql = assets.sqlWasm ? { wasmBinary: assets.sqlWasm } : {};
  const mqtt: ExporterFactory<typeof mqttExporterFactory.configSchema> = {
    ...mqttExporterFactory,
    create: (settings, config) => new MqttExporter(settings, config, sql),
  };
  const grpc: ExporterFactory<typeof grpcExporterFactory.configSchema> = {
    ...grpcExporterFactory,
    create: (settings, config) => new GrpcExporter(settings, config, sql),
  };
  return {
    receivers: byType([hostmetricsReceiverFactory, prometheusReceiverFactory, otlpReceiverFactory, remoteWriteReceiverFactory, filelogReceiverFactory]),
    processors: byType([normalizeProcessorFactory, enrichProcessorFactory, tier1ProcessorFactory(assets.tier1Wasm ? { tier1Wasm: assets.tier1Wasm } : {})]),
    exporters: byType([mqtt, grpc]),
  };
}
