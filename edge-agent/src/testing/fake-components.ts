// Minimal receiver and exporter factories for service and config tests: they record the order of
// lifecycle calls and move data, nothing else.
import { z } from 'zod';
import type { ExporterFactory, MetricsConsumer, ReceiverFactory } from '../component.js';
import { buildRegistry } from '../components.js';
import type { FactoryRegistry } from '../config/config.js';
import type { FeatureWindow } from '../pdata.js';

export interface CallLog {
  calls: string[];
}

export const fakeReceiverSchema = z.object({ fail_start: z.boolean().default(false) }).strict();

export function fakeReceiverFactory(log: CallLog, handles: Map<string, MetricsConsumer>): ReceiverFactory<typeof fakeReceiverSchema> {
  return {
    kind: 'receiver',
    type: 'fake',
    description: 'test receiver',
    configSchema: fakeReceiverSchema,
    create(settings, config, next) {
      handles.set(settings.id, next);
      return {
        async start() {
          log.calls.push(`start ${settings.id}`);
          if (config.fail_start) throw new Error('boom');
        },
        async shutdown() {
          log.calls.push(`shutdown ${settings.id}`);
        },
      };
    },
  };
}

export const fakeExporterSchema = z.object({}).strict();

export function fakeExporterFactory(log: CallLog, windows: FeatureWindow[]): ExporterFactory<typeof fakeExporterSchema> {
  return {
    kind: 'exporter',
    type: 'fakeout',
    description: 'test exporter',
    configSchema: fakeExporterSchema,
    create(settings) {
      return {
        async start() {
          log.calls.push(`start ${settings.id}`);
        },
        async shutdown() {
          log.calls.push(`shutdown ${settings.id}`);
        },
        async consumeWindow(w) {
          windows.push(w);
        },
      };
    },
  };
}

/** The agent's own factories plus `fake` and `fakeout` (their calls and data not kept), for config tests. */
export function registryWithFakes(): FactoryRegistry {
  const base = buildRegistry();
  return {
    receivers: new Map([...base.receivers, ['fake', fakeReceiverFactory({ calls: [] }, new Map())]]),
    processors: base.processors,
    exporters: new Map([...base.exporters, ['fakeout', fakeExporterFactory({ calls: [] }, [])]]),
  };
}
