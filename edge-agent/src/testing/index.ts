// Test helpers shared by every component's tests: settings with a silent logger and a private
// metrics registry, recording consumers, a manual clock, a free loopback port, and the lifecycle
// contract that every component passes (CONVENTIONS 14). Not part of the agent's runtime surface.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, Component, ComponentSettings, MetricsConsumer, WindowConsumer } from '../component.js';
import { systemClock } from '../component.js';
import type { FeatureWindow, MetricBatch } from '../pdata.js';
import { metricSum, SelfMetrics, silentLogger } from '../../../shared-schemas/src/runtime/index.js';

export interface TestSettings extends ComponentSettings {
  selfMetrics: SelfMetrics;
}

export function testSettings(id: string, opts: { clock?: Clock; dataDir?: string } = {}): TestSettings {
  const selfMetrics = new SelfMetrics();
  return {
    id,
    logger: silentLogger(),
    metrics: selfMetrics.forComponent(id),
    clock: opts.clock ?? systemClock,
    agent: { agentId: 'test-agent', tenant: 'test', dataDir: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'aiops-agent-test-')) },
    selfMetrics,
  };
}

/** Reads one self-metric's value (summed over label sets matching `labels`); any settings with a `selfMetrics`, agent or central. */
export async function metricValue(settings: { selfMetrics: SelfMetrics }, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricSum(settings.selfMetrics, name, labels);
}

/** A loopback port nothing listens on (just released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Polls `pred` until it holds; fails naming `what` after `timeoutMs`. Waits in tests poll with
 * generous bounds and never assert on wall time.
 */
export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export class RecordingMetrics implements MetricsConsumer {
  readonly batches: MetricBatch[] = [];
  failWith: Error | undefined;
  async consumeMetrics(batch: MetricBatch): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.batches.push(batch);
  }
  get samples() {
    return this.batches.flatMap((b) => b.samples);
  }
  /** Resolves once `pred` holds, polling; rejects after `timeoutMs` (a readiness wait, not a timing assertion). */
  async waitFor(pred: (r: RecordingMetrics) => boolean, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms (${this.samples.length} samples recorded)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export class RecordingWindows implements WindowConsumer {
  readonly windows: FeatureWindow[] = [];
  async consumeWindow(w: FeatureWindow): Promise<void> {
    this.windows.push(w);
  }
}

/** A clock that only moves when told to; timers fire in order as time advances. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; every: number; fn: () => void }>();
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setInterval(fn: () => void, ms: number) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, every: ms, fn });
    return { id, unref() {} } as unknown as { unref(): void };
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, every: 0, fn });
    return { id, unref() {} } as unknown as { unref(): void };
  }
  clearInterval(h: unknown): void {
    this.timers.delete((h as { id: number })?.id);
  }
  clearTimeout(h: unknown): void {
    this.timers.delete((h as { id: number })?.id);
  }
  /** Moves time forward, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; every: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.t = next[1].at;
      if (next[1].every > 0) next[1].at += next[1].every;
      else this.timers.delete(next[0]);
      next[1].fn();
    }
    this.t = end;
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
}

/**
 * The lifecycle contract: shutdown without start is safe; start then shutdown works; shutdown
 * is idempotent. `make` builds a fresh component each time.
 */
export async function runLifecycleContract(make: () => Component): Promise<void> {
  const a = make();
  await a.shutdown();
  await a.shutdown();
  const b = make();
  await b.start();
  await b.shutdown();
  await b.shutdown();
  assert.ok(true);
}

export { startDevPeer } from './dev-peer.js';
export type { DevPeer, DevPeerOptions } from './dev-peer.js';
