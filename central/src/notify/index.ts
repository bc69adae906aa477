// Public surface of incident notification (issue #8, Deliver 7): webhooks for new and changed
// incidents, the last stage of the alert chain.
import type { CentralSettings } from '../component.js';
import { webhookConfigSchema } from './config.js';
import type { WebhookConfig } from './config.js';
import { WebhookNotifier } from './webhook.js';

export { notifyConfigSchema, webhookConfigSchema } from './config.js';
export type { NotifyConfig, WebhookConfig } from './config.js';
export { safeUrl, WEBHOOK_VERSION, WebhookNotifier } from './webhook.js';

export const webhookFactory = {
  type: 'webhook',
  description: 'incident changes -> one HTTP POST each, queued, retried with backoff',
  configSchema: webhookConfigSchema,
  create: (settings: CentralSettings, config: WebhookConfig, env: NodeJS.ProcessEnv = process.env): WebhookNotifier => new WebhookNotifier(settings, config, env),
} as const;
