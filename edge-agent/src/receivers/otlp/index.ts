// Public surface of the OTLP metrics receiver (`receivers.otlp`).
import type { ReceiverFactory } from '../../component.js';
import { OtlpConfigSchema } from './config.js';
import { OtlpReceiver } from './receiver.js';

export type { OtlpReceiverConfig } from './config.js';

export const otlpReceiverFactory: ReceiverFactory<typeof OtlpConfigSchema> = {
  kind: 'receiver',
  type: 'otlp',
  description: 'OTLP metrics over HTTP (protobuf, JSON, gzip) on 4318 and gRPC on 4317',
  configSchema: OtlpConfigSchema,
  create: (settings, config, next) => new OtlpReceiver(settings, config, next),
};
