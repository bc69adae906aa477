// Public surface of the host metrics receiver (CONVENTIONS 12).
import type { ReceiverFactory } from '../../component.js';
import type { HostmetricsConfig } from './config.js';
import { HostmetricsConfigSchema } from './config.js';
import { HostmetricsReceiver } from './receiver.js';

export type { HostmetricsConfig };
export { HostmetricsConfigSchema };

export const hostmetricsReceiverFactory: ReceiverFactory<typeof HostmetricsConfigSchema> = {
  kind: 'receiver',
  type: 'hostmetrics',
  description: 'Host metrics from /proc, /sys and statfs (CPU, load, memory, disk, filesystems, network, processes), named as node_exporter names them',
  configSchema: HostmetricsConfigSchema,
  create: (settings, config, next) => new HostmetricsReceiver(settings, config, next),
};
