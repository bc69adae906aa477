// Incident notifications (issue #8, Deliver 7): webhooks that receive one POST per new or
// changed incident (never one per child alert). A bearer token comes from an environment
// variable named here, never from the file, and is never logged; URLs are logged without
// their query string or credentials.
import { z } from 'zod';
import { duration } from '../../../shared-schemas/src/runtime/index.js';

export const webhookConfigSchema = z
  .object({
    /** Names the webhook in metrics and logs. */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must match [A-Za-z0-9_.-]{1,64}'),
    url: z
      .string()
      .max(2048)
      .refine((u) => {
        try {
          const p = new URL(u);
          return (p.protocol === 'http:' || p.protocol === 'https:') && p.username === '' && p.password === '';
        } catch {
          return false;
        }
      }, 'must be an http(s) URL without credentials (use bearer_token_env)'),
    /** Environment variable holding a bearer token sent as Authorization. */
    bearer_token_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
    /** Also notify when an incident resolves. */
    send_resolved: z.boolean().default(true),
    /** Which changes notify: every change, or only opened/resolved/merged/acknowledged/representative/root-cause ones. */
    changes: z.enum(['all', 'significant']).default('significant'),
    timeout: duration({ min: 100, max: 120_000 }).default(10_000),
    max_retries: z.number().int().min(0).max(20).default(5),
    /** Notifications waiting to be sent; beyond it the oldest is dropped (counted). */
    queue: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict();

export const notifyConfigSchema = z
  .object({
    webhooks: z.array(webhookConfigSchema).max(32).default([]),
  })
  .strict()
  .superRefine((n, ctx) => {
    const seen = new Set<string>();
    n.webhooks.forEach((w, i) => {
      if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'name'], message: `duplicate webhook name ${JSON.stringify(w.name)}` });
      seen.add(w.name);
    });
  });

export type WebhookConfig = z.output<typeof webhookConfigSchema>;
export type NotifyConfig = z.output<typeof notifyConfigSchema>;
