// Tier-1 on every series: the WebAssembly detector (wasm-detectors) scores each sample online and
// the result travels on the sample (score, flags, band) to the window aggregator. Series get a
// detector slot on first sight and give it back when idle; state is snapshotted to disk
// periodically and at shutdown, and restored at start so a restarted agent keeps its baselines.

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { createWasmTier1Sync, SeriesSlots, Tier1Reference } from '../../../../wasm-detectors/src/index.js';
import type { Tier1Detector, WasmTier1 } from '../../../../wasm-detectors/src/index.js';
import type { ComponentSettings, MetricsConsumer, Processor } from '../../component.js';
import type { MetricBatch, MetricSample } from '../../pdata.js';
import { seriesKey } from '../features/index.js';
import type { Tier1ProcessorConfig } from './config.js';
import { decodeSnapshot, encodeSnapshot, readIfExists, writeFileAtomic } from './snapshot.js';

export interface Tier1Assets {
  /** The Tier-1 module's bytes (embedded in the single executable); read from the build otherwise. */
  tier1Wasm?: Uint8Array;
}

export class Tier1Processor implements Processor {
  private readonly det: Tier1Detector;
  private readonly slots: SeriesSlots;
  private readonly ids: Uint32Array;
  private readonly values: Float64Array;
  private readonly ts: Float64Array;
  private snapTimer: unknown;
  private retireTimer: unknown;
  private started = false;
  readonly snapshotPath: string;
  private readonly scored;
  private readonly unscored;
  private readonly flagged;
  private readonly seriesGauge;
  private readonly snapErrors;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly cfg: Tier1ProcessorConfig,
    private readonly next: MetricsConsumer,
    assets: Tier1Assets = {},
  ) {
    const opts = { maxSeries: cfg.max_series, batchCapacity: cfg.batch_capacity, config: cfg.detector };
    this.det =
      cfg.implementation === 'reference'
        ? new Tier1Reference(opts)
        : createWasmTier1Sync(assets.tier1Wasm ? { ...opts, wasmBytes: assets.tier1Wasm } : opts);
    this.slots = new SeriesSlots(this.det, { idleRetireMs: cfg.idle_retire });
    if (this.det.kind === 'wasm') {
      const w = this.det as WasmTier1;
      this.ids = w.ids;
      this.values = w.values;
      this.ts = w.timestamps;
    } else {
      this.ids = new Uint32Array(cfg.batch_capacity);
      this.values = new Float64Array(cfg.batch_capacity);
      this.ts = new Float64Array(cfg.batch_capacity);
    }
    this.snapshotPath = join(settings.agent.dataDir, 'tier1', `${settings.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.state`);
    const m = settings.metrics;
    this.scored = m.counter('aiops_agent_tier1_scored_samples_total', 'Samples scored by Tier-1.');
    this.unscored = m.counter('aiops_agent_tier1_unscored_samples_total', 'Samples passed through without a score, by reason.', ['reason']);
    this.flagged = m.counter('aiops_agent_tier1_flagged_samples_total', 'Samples Tier-1 flagged as anomalous.');
    this.seriesGauge = m.gauge('aiops_agent_tier1_series', 'Series holding a Tier-1 detector slot.');
    this.snapErrors = m.counter('aiops_agent_tier1_snapshot_errors_total', 'Snapshot writes or restores that failed, by operation.', ['op']);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.restore();
    const clock = this.settings.clock;
    this.snapTimer = clock.setInterval(() => this.snapshot(), this.cfg.snapshot_interval);
    (this.snapTimer as { unref?(): void }).unref?.();
    this.retireTimer = clock.setInterval(() => {
      this.slots.retireIdle(clock.now());
      this.seriesGauge.set(this.slots.size);
    }, Math.max(1000, Math.min(60_000, this.cfg.idle_retire)));
    (this.retireTimer as { unref?(): void }).unref?.();
  }

  async shutdown(): Promise<void> {
    if (this.snapTimer) this.settings.clock.clearInterval(this.snapTimer);
    if (this.retireTimer) this.settings.clock.clearInterval(this.retireTimer);
    this.snapTimer = undefined;
    this.retireTimer = undefined;
    if (this.started) {
      this.started = false;
      this.snapshot();
    }
  }

  get liveSeries(): number {
    return this.slots.size;
  }

  /** Writes every live series' state to disk; errors are counted and logged, never thrown. */
  snapshot(): void {
    try {
      writeFileAtomic(this.snapshotPath, encodeSnapshot(this.slots.snapshots()));
    } catch (err) {
      this.snapErrors.inc(1, { op: 'write' });
      this.settings.logger.warn({ err: (err as Error).message, path: this.snapshotPath }, 'tier1: cannot write detector snapshot');
    }
  }

  private restore(): void {
    let buf: Buffer | undefined;
    try {
      buf = readIfExists(this.snapshotPath);
      if (!buf) return;
      const entries = decodeSnapshot(buf, this.cfg.max_series);
      const now = this.settings.clock.now();
      let restored = 0;
      for (const [key, state] of entries) if (this.slots.restore(key, state, now)) restored++;
      this.seriesGauge.set(this.slots.size);
      this.settings.logger.info({ restored, path: this.snapshotPath }, 'tier1: detector state restored');
    } catch (err) {
      this.snapErrors.inc(1, { op: 'restore' });
      const aside = `${this.snapshotPath}.corrupt-${Date.now()}`;
      try {
        if (buf) renameSync(this.snapshotPath, aside);
      } catch {
        /* leave it */
      }
      this.settings.logger.warn({ err: (err as Error).message, movedTo: aside }, 'tier1: snapshot unreadable, starting with fresh baselines');
    }
  }

  async consumeMetrics(batch: MetricBatch): Promise<void> {
    const now = this.settings.clock.now();
    const samples = batch.samples;
    const cap = this.cfg.batch_capacity;
    const pending: MetricSample[] = [];
    const flush = (): void => {
      const n = pending.length;
      if (n === 0) return;
      const out = this.det.kind === 'wasm' ? ((this.det as WasmTier1).run(n), (this.det as WasmTier1).out) : this.det.process(this.ids, this.values, this.ts, n);
      for (let i = 0; i < n; i++) {
        pending[i]!.tier1 = { score: out.scores[i]!, flags: out.flags[i]!, lower: out.lower[i]!, upper: out.upper[i]! };
      }
      this.scored.inc(n);
      if (this.det.lastFlagged > 0) this.flagged.inc(this.det.lastFlagged);
      pending.length = 0;
    };
    for (const s of samples) {
      const key = s.key ?? seriesKey(s.name, s.labels);
      const slot = this.slots.slotFor(key, now);
      if (slot < 0) {
        this.unscored.inc(1, { reason: 'series_limit' });
        continue;
      }
      const i = pending.length;
      this.ids[i] = slot;
      this.values[i] = s.value;
      this.ts[i] = s.ts;
      pending.push(s);
      if (pending.length === cap) flush();
    }
    flush();
    this.seriesGauge.set(this.slots.size);
    await this.next.consumeMetrics(batch);
  }
}
