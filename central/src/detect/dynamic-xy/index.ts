// Public surface of the Dynamic X-Y detector: feature frames with Tier-1 flags -> alerts that
// persist (X flagged windows of the last Y, learnt per series), deduplicated and resolved.
import type { AlertConsumer, CentralSettings } from '../../component.js';
import { detectionConfigSchema } from './config.js';
import type { DetectionConfig } from './config.js';
import { DynamicXyDetector } from './dynamic-xy.js';

export { DynamicXyDetector, DynamicXyError, DYNAMIC_XY_SOURCE, MAX_EPISODE_WINDOWS } from './dynamic-xy.js';
export type { DynamicXyErrorCode, ResolveReason, SeriesHistory, SeriesInfo } from './dynamic-xy.js';
export {
  checkDetectionConfig,
  DEFAULT_DETECTION_CONFIG,
  DetectionConfigError,
  detectionConfigSchema,
  MAX_Y,
  TRIGGER_FLAGS,
  validateDetectionConfig,
} from './config.js';
export type { DetectionConfig, DetectionConfigInput, SeverityName, TriggerFlagName } from './config.js';

export const dynamicXyFactory = {
  type: 'dynamic-xy',
  description: 'feature frames with Tier-1 flags -> alerts that persist X of Y windows (learnt per series), deduplicated and resolved',
  configSchema: detectionConfigSchema,
  create: (settings: CentralSettings, config: DetectionConfig, next: AlertConsumer): DynamicXyDetector => new DynamicXyDetector(settings, config, next),
} as const;
