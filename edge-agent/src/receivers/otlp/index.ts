// Public surface of the OTLP metrics receiver (`receivers.otlp`).
import type { ReceiverFactory } from '../../component.js';
import { OtlpConfigSchema } from './config.js';
import { OtlpReceiver } from './receiver.js';

export type { OtlpReceiverConfig } from './config.js';
/** The OTLP common and resource schema text (central's trace receiver builds on them). */
export { COMMON_PROTO, RESOURCE_PROTO } from './otlp-proto.js';

export const otlpReceiverFactory: ReceiverFactory<typeof OtlpConfigSchema> = {
  kind: 'receiver',
  type: 'otlp',
  description: 'OTLP metrics over HTTP (protobuf, JSON, gzip) on 4318 and gRPC on 4317',
  configSchema: OtlpConfigSchema,
  create: (settings, config, next) => new OtlpReceiver(settings, config, next),
};
