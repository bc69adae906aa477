// Public surface of the log-file receiver (CONVENTIONS 12).
import type { ReceiverFactory } from '../../component.js';
import type { DrainConfig, FilelogConfig } from './config.js';
import { FilelogConfigSchema } from './config.js';
import { FilelogReceiver } from './receiver.js';

export type { DrainConfig, FilelogConfig };
export { FilelogConfigSchema };
export { FilelogReceiver } from './receiver.js';
export type { DropReason as FilelogDropReason, FilelogStatus } from './receiver.js';
// The miner and the level classifier are reusable by other log inputs (e.g. OTLP logs).
export { TemplateMiner, templateText, truncateTemplate, WILDCARD } from './drain.js';
export type { ClusterSnapshot, MinerOptions, TemplateCluster } from './drain.js';
export { classify as classifyLogLine, LEVELS as LOG_LEVELS } from './level.js';
export type { Classified as ClassifiedLogLine, Level as LogLevel } from './level.js';

export const filelogReceiverFactory: ReceiverFactory<typeof FilelogConfigSchema> = {
  kind: 'receiver',
  type: 'filelog',
  description: 'Tails log files across rotation with checkpointed offsets; emits per-file, per-level and per-template (Drain) line counts',
  configSchema: FilelogConfigSchema,
  create: (settings, config, next) => new FilelogReceiver(settings, config, next),
};
