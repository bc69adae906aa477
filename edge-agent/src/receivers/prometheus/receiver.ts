// The Prometheus scrape receiver: every `interval` it GETs each target's exposition body
// (bounded, see scrape.ts), parses it (parser.ts) and hands one batch per target to the next
// consumer, with the synthetic series Prometheus writes for every scrape: up,
// scrape_duration_seconds, scrape_samples_scraped, labelled {job, instance}.
//
// Policy for bad bodies (docs/decisions/007-prometheus-text-parser.md): a scrape is all or
// nothing, as in Prometheus. A syntax error, a limit exceeded, an oversized body, a wrong content
// type, a timeout: up=0, no scraped samples, one count under aiops_agent_prometheus_scrape_errors_total
// with the reason. Duplicate series inside one body are the exception: the first is kept, the rest
// dropped and counted, and the scrape succeeds.
//
// One target cannot hold up another or the next interval: each scrape has a deadline shorter
// than the interval, scrapes run through a capped pool, and a target whose previous scrape is
// still running skips this tick (counted as overrun).
import http from 'node:http';
import https from 'node:https';
import type { Clock, ComponentSettings, MetricsConsumer, Receiver } from '../../component.js';
import type { MetricSample } from '../../pdata.js';
import type { BoundCounter, BoundGauge, BoundHistogram } from '../../../../shared-schemas/src/runtime/index.js';
import { ProblemLog } from '../hostmetrics/problems.js';
import type { PrometheusConfig } from './config.js';
import { resolveTarget, scrapeTimeout } from './config.js';
import { ExpositionError, parseExposition } from './parser.js';
import { ACCEPT, fetchExposition } from './scrape.js';
import type { FetchOutcome } from './scrape.js';

interface Target {
  url: URL;
  instance: string;
  /** job, instance and the static labels. */
  targetLabels: Record<string, string>;
  busy: boolean;
}

export class PrometheusReceiver implements Receiver {
  private readonly clock: Clock;
  private readonly targets: Target[];
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly abort = new AbortController();
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: unknown;
  private stopped = false;
  private readonly problems: ProblemLog;
  private readonly m: {
    scrapes: BoundCounter;
    errors: BoundCounter;
    samples: BoundCounter;
    dropped: BoundCounter;
    duration: BoundHistogram;
    up: BoundGauge;
  };

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: PrometheusConfig,
    private readonly next: MetricsConsumer,
  ) {
    this.clock = settings.clock;
    this.timeoutMs = scrapeTimeout(config);
    const job = config.job_name ?? settings.id;
    this.targets = config.targets.map((t) => {
      const r = resolveTarget(t, config.scheme, config.metrics_path);
      if (typeof r === 'string') throw new Error(`target "${t}" ${r}`); // the schema refused it already
      return { url: r.url, instance: r.instance, targetLabels: { job, instance: r.instance, ...config.labels }, busy: false };
    });
    this.headers = {
      accept: ACCEPT,
      'accept-encoding': 'gzip',
      'user-agent': 'aiops-agent',
      'x-prometheus-scrape-timeout-seconds': String(this.timeoutMs / 1000),
    };
    if (config.basic_auth) {
      this.headers.authorization = `Basic ${Buffer.from(`${config.basic_auth.username}:${config.basic_auth.password}`).toString('base64')}`;
    } else if (config.bearer_token) {
      this.headers.authorization = `Bearer ${config.bearer_token}`;
    }
    const agentOpts = { keepAlive: true, maxSockets: config.max_concurrent_scrapes, maxFreeSockets: config.max_concurrent_scrapes };
    this.httpAgent = new http.Agent(agentOpts);
    this.httpsAgent = new https.Agent(agentOpts);
    this.problems = new ProblemLog(settings.logger, settings.clock, 'prometheus scrape problem (counted in aiops_agent_prometheus_scrape_errors_total)');
    const mt = settings.metrics;
    this.m = {
      scrapes: mt.counter('aiops_agent_prometheus_scrapes_total', 'Scrapes finished, by result (success, failure).', ['result']),
      errors: mt.counter('aiops_agent_prometheus_scrape_errors_total', 'Failed or skipped scrapes, by reason.', ['reason']),
      samples: mt.counter('aiops_agent_prometheus_samples_scraped_total', 'Samples taken from successful scrapes.'),
      dropped: mt.counter('aiops_agent_prometheus_samples_dropped_total', 'Scraped samples dropped, by reason.', ['reason']),
      duration: mt.histogram('aiops_agent_prometheus_scrape_duration_seconds', 'Duration of scrapes.', [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
      up: mt.gauge('aiops_agent_prometheus_target_up', 'Whether the last scrape of a target succeeded.', ['instance']),
    };
  }

  async start(): Promise<void> {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = this.clock.setInterval(() => this.tick(), this.config.interval);
    (this.timer as { unref?(): unknown }).unref?.();
    this.tick();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearInterval(this.timer);
    this.timer = undefined;
    // Queued scrapes still run, and return at once (stopped): every tracked promise settles.
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.problems.flush();
  }

  private tick(): void {
    if (this.stopped) return;
    for (const t of this.targets) {
      if (t.busy) {
        this.m.errors.inc(1, { reason: 'overrun' });
        this.problems.note(`${t.instance}/overrun`, 1, { instance: t.instance, intervalMs: this.config.interval });
        continue;
      }
      this.track(this.schedule(t));
    }
  }

  /** Scrapes every idle target once and resolves when they are done (also used by tests). */
  async scrapeOnce(): Promise<void> {
    await Promise.all(this.targets.filter((t) => !t.busy).map((t) => this.track(this.schedule(t))));
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Runs one scrape of `t` through the concurrency pool. Never rejects. */
  private schedule(t: Target): Promise<void> {
    t.busy = true;
    return new Promise<void>((resolve) => {
      const run = () => {
        this.running++;
        this.scrape(t)
          .catch((err: unknown) => {
            this.m.errors.inc(1, { reason: 'internal' });
            this.problems.note('internal', 1, { err: (err as Error).message });
          })
          .finally(() => {
            this.running--;
            t.busy = false;
            resolve();
            const nextJob = this.queue.shift();
            if (nextJob) nextJob();
          });
      };
      if (this.running < this.config.max_concurrent_scrapes) run();
      else this.queue.push(run);
    });
  }

  private async scrape(t: Target): Promise<void> {
    if (this.stopped) return;
    const started = this.clock.now();
    const fetched: FetchOutcome = await fetchExposition({
      url: t.url,
      headers: this.headers,
      timeoutMs: this.timeoutMs,
      maxBodyBytes: this.config.max_body_bytes,
      agent: t.url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
      clock: this.clock,
      signal: this.abort.signal,
    });
    if (!fetched.ok && fetched.reason === 'aborted') return; // shutdown: nothing to report

    let scraped: MetricSample[] = [];
    let failure: { reason: string; message: string } | undefined;
    if (!fetched.ok) {
      failure = fetched;
    } else {
      try {
        const r = parseExposition(fetched.body, {
          defaultTs: started,
          openMetrics: fetched.openMetrics,
          maxSamples: this.config.max_samples,
          maxLabels: this.config.max_labels,
          maxLabelValueBytes: this.config.max_label_value_bytes,
        });
        scraped = r.samples;
        if (r.duplicates > 0) {
          this.m.dropped.inc(r.duplicates, { reason: 'duplicate_series' });
          this.problems.note(`${t.instance}/duplicate_series`, r.duplicates, { instance: t.instance });
        }
      } catch (err) {
        if (!(err instanceof ExpositionError)) throw err;
        failure = { reason: err.reason, message: err.message };
      }
    }
    const durationS = (this.clock.now() - started) / 1000;
    this.m.duration.observe(durationS);
    this.m.up.set(failure ? 0 : 1, { instance: t.instance });
    if (failure) {
      this.m.scrapes.inc(1, { result: 'failure' });
      this.m.errors.inc(1, { reason: failure.reason });
      this.problems.note(`${t.instance}/${failure.reason}`, 1, { instance: t.instance, err: failure.message });
    } else {
      this.m.scrapes.inc(1, { result: 'success' });
      this.m.samples.inc(scraped.length);
    }

    const tl = t.targetLabels;
    const honorTs = this.config.honor_timestamps;
    for (const s of scraped) {
      attachTargetLabels(s.labels, tl);
      if (!honorTs) s.ts = started;
    }
    const synth = (name: string, value: number, unit?: string): MetricSample => {
      const s: MetricSample = { name, labels: { ...tl }, ts: started, value, kind: 'gauge' };
      if (unit) s.unit = unit;
      return s;
    };
    const n = scraped.length;
    scraped.push(synth('up', failure ? 0 : 1), synth('scrape_duration_seconds', durationS, 'seconds'), synth('scrape_samples_scraped', n));
    this.internLabels(t.instance, scraped);
    if (this.stopped) return;
    try {
      await this.next.consumeMetrics({ source: this.settings.id, samples: scraped });
    } catch (err) {
      this.m.dropped.inc(scraped.length, { reason: 'consumer_error' });
      this.problems.note('consumer_error', scraped.length, { err: (err as Error).message });
    }
  }

  private readonly interned = new Map<string, Map<string, MetricSample['labels']>>();

  private internLabels(instance: string, samples: MetricSample[]): void {
    const previous = this.interned.get(instance);
    const current = new Map<string, MetricSample['labels']>();
    for (const s of samples) {
      const k = seriesText(s);
      const known = previous?.get(k);
      if (known !== undefined) s.labels = known;
      current.set(k, s.labels);
    }
    this.interned.set(instance, current);
  }
}

/**
 * Gives every series the label object it had at the previous scrape of the target. Downstream
 * stages cache their work (sanitised labels, enrichment, series keys) per label object, so a
 * stable object per series turns that work into one lookup per sample and keeps the garbage of
 * a 10,000-series scrape small. Series gone from a scrape are forgotten (bounded by the scrape).
 */
function seriesText(s: MetricSample): string {
  const parts = [s.name];
  for (const name in s.labels) parts.push(name, s.labels[name]!);
  return parts.join('\u0000'); // one flat string, not a tree of concatenations
}

/**
 * Target labels win; a scraped label of the same name is kept as exported_<name> (Prometheus'
 * honor_labels: false).
 */
export function attachTargetLabels(labels: Record<string, string>, target: Record<string, string>): void {
  for (const k in target) {
    const existing = labels[k];
    if (existing !== undefined) {
      let ek = `exported_${k}`;
      while (labels[ek] !== undefined) ek = `exported_${ek}`;
      labels[ek] = existing;
    }
    labels[k] = target[k]!;
  }
}
