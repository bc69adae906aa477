// Public surface of the tier1 processor.
import type { ComponentSettings, MetricsConsumer, ProcessorFactory } from '../../component.js';
import { tier1ConfigSchema } from './config.js';
import type { Tier1ProcessorConfig } from './config.js';
import { Tier1Processor } from './tier1.js';
import type { Tier1Assets } from './tier1.js';

export { Tier1Processor } from './tier1.js';
export type { Tier1Assets } from './tier1.js';
export { tier1ConfigSchema } from './config.js';
export type { Tier1ProcessorConfig } from './config.js';
export { decodeSnapshot, encodeSnapshot } from './snapshot.js';

export function tier1ProcessorFactory(assets: Tier1Assets = {}): ProcessorFactory<typeof tier1ConfigSchema> {
  return {
    kind: 'processor',
    type: 'tier1',
    description: 'Tier-1 anomaly score, flag and band on every sample (WebAssembly), state snapshotted to disk',
    configSchema: tier1ConfigSchema,
    create: (settings: ComponentSettings, config: Tier1ProcessorConfig, next: MetricsConsumer) => new Tier1Processor(settings, config, next, assets),
  };
}
