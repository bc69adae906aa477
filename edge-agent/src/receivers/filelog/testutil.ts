// Helpers shared by the filelog tests (not part of the receiver).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../component.js';
import type { MetricSample } from '../../pdata.js';
import { ManualClock, RecordingMetrics, testSettings } from '../../testing/index.js';
import type { TestSettings } from '../../testing/index.js';
import { FilelogConfigSchema, filelogReceiverFactory, FilelogReceiver } from './index.js';
import type { FilelogConfig } from './index.js';

export interface Harness {
  clock: ManualClock | Clock;
  settings: TestSettings;
  cfg: FilelogConfig;
  sink: RecordingMetrics;
  r: FilelogReceiver;
}

const made: string[] = [];
let cleanupHooked = false;

/** A fresh temp folder, removed when the test process exits (some tests write 10 MB files). */
export function tempDir(prefix = 'filelog-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  if (!cleanupHooked) {
    cleanupHooked = true;
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** A receiver on a manual clock (or the given one), driven by pollNow()/emitNow() in tests. */
export function harness(config: Record<string, unknown>, opts: { dataDir?: string; clock?: Clock; id?: string } = {}): Harness {
  const clock = opts.clock ?? new ManualClock();
  const settings = testSettings(opts.id ?? 'filelog/test', { clock, dataDir: opts.dataDir ?? tempDir('filelog-data-') });
  const cfg = FilelogConfigSchema.parse(config);
  const sink = new RecordingMetrics();
  const r = filelogReceiverFactory.create(settings, cfg, sink);
  if (!(r instanceof FilelogReceiver)) throw new Error('factory did not make a FilelogReceiver');
  return { clock, settings, cfg, sink, r };
}

const keyOf = (s: Pick<MetricSample, 'name' | 'labels'>) =>
  `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',')}}`;

/** Series of the last emitted batch: `name{k=v,...}` -> value. */
export function lastBatch(sink: RecordingMetrics): Map<string, number> {
  const b = sink.batches.at(-1);
  const out = new Map<string, number>();
  for (const s of b?.samples ?? []) out.set(keyOf(s), s.value);
  return out;
}

export function series(name: string, labels: Record<string, string>): string {
  return keyOf({ name, labels });
}

/** Sum of the last batch's values of `name` whose labels include `match`. */
export function sumOf(sink: RecordingMetrics, name: string, match: Record<string, string> = {}): number {
  const b = sink.batches.at(-1);
  let sum = 0;
  for (const s of b?.samples ?? []) {
    if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
