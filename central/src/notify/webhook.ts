// A webhook for incident changes: the last stage of the alert chain. Each new or changed
// incident is one POST of {"version":"1","kind":"new"|"changed","incident":{...},"events":[...]}
// (the incident in its REST form; events are the timeline entries this change added).
// Sending is decoupled from the chain: changes wait in a bounded queue (oldest dropped when
// full, counted) and one worker sends them in order. A 5xx, 429 or network error is retried
// with jittered exponential backoff up to max_retries; any other 4xx is permanent (counted,
// logged once per status, not retried). shutdown() stops taking changes and tries what is
// queued once more within the timeout.
import { incidentToJSON } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, BoundGauge } from '../../../shared-schemas/src/runtime/index.js';
import { Backoff } from '../../../edge-agent/src/exporters/internal/index.js';
import type { CentralSettings, Component } from '../component.js';
import type { IncidentChange, IncidentConsumer } from '../correlate/index.js';
import type { WebhookConfig } from './config.js';

export const WEBHOOK_VERSION = '1';
const SIGNIFICANT = new Set(['opened', 'merged', 'merged_into', 'representative_changed', 'resolved', 'acknowledged', 'root_cause']);

/** The URL for logs: scheme, host and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

type SendOutcome = { kind: 'success' } | { kind: 'retryable'; why: string } | { kind: 'failure'; why: string };

export class WebhookNotifier implements IncidentConsumer, Component {
  private readonly queue: Array<{ body: string; incident: string }> = [];
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly token: string | undefined;
  private readonly backoff: Backoff;
  private readonly loggedStatus = new Set<number>();
  private sleeper: { timer: unknown; wake: () => void } | undefined;
  private readonly m: { sent: BoundCounter; failed: BoundCounter; dropped: BoundCounter; retries: BoundCounter; queued: Pick<BoundGauge, 'set'> };

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: WebhookConfig,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.token = config.bearer_token_env ? env[config.bearer_token_env] : undefined;
    if (config.bearer_token_env && !this.token) settings.logger.warn({ webhook: config.name, env: config.bearer_token_env }, 'bearer token variable is not set: sending without Authorization');
    this.backoff = new Backoff({ initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 0.2 });
    const mm = settings.metrics;
    const w = { webhook: config.name };
    const sent = mm.counter('aiops_central_notifications_sent_total', 'Incident notifications a webhook accepted.', ['webhook']);
    const failed = mm.counter('aiops_central_notifications_failed_total', 'Incident notifications given up (permanent error or retries exhausted).', ['webhook']);
    const dropped = mm.counter('aiops_central_notifications_dropped_total', 'Incident notifications dropped because the queue was full.', ['webhook']);
    const retries = mm.counter('aiops_central_notification_retries_total', 'Retried incident notification attempts.', ['webhook']);
    const queued = mm.gauge('aiops_central_notifications_queued', 'Incident notifications waiting to be sent.', ['webhook']);
    this.m = {
      sent: { inc: (n?: number) => sent.inc(n, w) },
      failed: { inc: (n?: number) => failed.inc(n, w) },
      dropped: { inc: (n?: number) => dropped.inc(n, w) },
      retries: { inc: (n?: number) => retries.inc(n, w) },
      queued: { set: (v: number) => queued.set(v, w) },
    };
  }

  async start(): Promise<void> {
    this.settings.logger.info({ webhook: this.config.name, url: safeUrl(this.config.url) }, 'incident webhook ready');
  }

  async consumeIncidents(changes: readonly IncidentChange[]): Promise<void> {
    if (this.closed) return;
    for (const c of changes) {
      if (c.incident.status === 'resolved' && !this.config.send_resolved && c.kind === 'changed') continue;
      if (this.config.changes === 'significant' && c.kind === 'changed' && c.events.length > 0 && !c.events.some((e) => SIGNIFICANT.has(e.type))) continue;
      const body = JSON.stringify({
        version: WEBHOOK_VERSION,
        kind: c.kind,
        incident: incidentToJSON(c.incident),
        events: c.events.map((e) => ({ at: new Date(e.atMs).toISOString(), type: e.type, fingerprint: e.fingerprint, related: e.related, actor: e.actor, text: e.text })),
      });
      if (this.queue.length >= this.config.queue) {
        this.queue.shift();
        this.m.dropped.inc();
      }
      this.queue.push({ body, incident: c.incident.id });
    }
    this.m.queued.set(this.queue.length);
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sleeper?.wake();
    await this.idle();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      let attempt = 0;
      for (;;) {
        const r = await this.send(item.body);
        if (r.kind === 'success') {
          this.m.sent.inc();
          this.backoff.reset();
          break;
        }
        if (r.kind === 'failure' || attempt >= this.config.max_retries || this.closed) {
          this.m.failed.inc();
          this.settings.logger.warn({ webhook: this.config.name, incident: item.incident, attempts: attempt + 1, why: r.why }, 'incident notification given up');
          break;
        }
        attempt++;
        this.m.retries.inc();
        await this.sleep(this.backoff.next());
      }
      this.queue.shift();
      this.m.queued.set(this.queue.length);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.settings.clock.setTimeout(() => {
        this.sleeper = undefined;
        resolve();
      }, ms);
      this.sleeper = {
        timer,
        wake: () => {
          this.settings.clock.clearTimeout(timer);
          this.sleeper = undefined;
          resolve();
        },
      };
    });
  }

  private async send(body: string): Promise<SendOutcome> {
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'aiops-central', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body,
        signal: AbortSignal.timeout(this.config.timeout),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { kind: 'success' };
      const why = `HTTP ${res.status}`;
      if (res.status >= 500 || res.status === 429 || res.status === 408) return { kind: 'retryable', why };
      if (!this.loggedStatus.has(res.status)) {
        this.loggedStatus.add(res.status);
        this.settings.logger.error({ webhook: this.config.name, url: safeUrl(this.config.url), status: res.status }, 'incident webhook refuses notifications (not retried)');
      }
      return { kind: 'failure', why };
    } catch (err) {
      return { kind: 'retryable', why: (err as Error).name === 'TimeoutError' ? `no answer within ${this.config.timeout} ms` : (err as Error).message };
    }
  }
}
