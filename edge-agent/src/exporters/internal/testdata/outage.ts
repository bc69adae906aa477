// The outage scenario of issue #3: windows keep coming while central is unreachable for a
// minute (real time); when it is back every frame produced meanwhile must arrive, in order,
// none twice after deduplication by frame sequence.
import assert from 'node:assert/strict';
import type { WindowConsumer } from '../../../component.js';
import type { FrameBuffer } from '../../../buffer/frame-buffer.js';
import type { IngestRecorder } from './ingest-recorder.js';
import { makeWindow } from './windows.js';

/** AIOPS_OUTAGE_SECONDS shortens it for a quick local run; the default is the minute. */
export const OUTAGE_MS = Number(process.env['AIOPS_OUTAGE_SECONDS'] ?? 60) * 1000;

export interface OutageRig {
  exporter: WindowConsumer;
  buffer: FrameBuffer;
  recorder: () => IngestRecorder;
  stopCentral(): Promise<void>;
  startCentral(): Promise<void>;
  log?: (msg: string) => void;
}

export async function runOutage(rig: OutageRig, opts: { windowEveryMs?: number; series?: number } = {}): Promise<{ produced: number; duplicates: number }> {
  const every = opts.windowEveryMs ?? 1000;
  let produced = 0;
  let producing = true;
  const producer = (async () => {
    while (producing) {
      await rig.exporter.consumeWindow(makeWindow(produced++, opts.series ?? 50));
      await new Promise((r) => setTimeout(r, every));
    }
  })();
  const wait = async (pred: () => boolean, what: string, ms: number) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await wait(() => rig.recorder().unique.length >= 3, 'frames before the outage', 30_000);
  rig.log?.(`outage starts after ${produced} windows`);
  await rig.stopCentral();
  const before = rig.recorder().unique.length;
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const producedDuringOutage = produced;
  assert.ok(rig.buffer.size >= 5, `frames wait in the buffer during the outage (${rig.buffer.size})`);
  rig.log?.(`central back after ${OUTAGE_MS} ms; ${rig.buffer.size} frames buffered, ${before} delivered before`);
  await rig.startCentral();
  await new Promise((r) => setTimeout(r, 3 * every));
  producing = false;
  await producer;
  await wait(() => rig.recorder().unique.length >= produced && rig.buffer.size === 0, `all ${produced} frames delivered`, 90_000);
  const rec = rig.recorder();
  assert.ok(producedDuringOutage > before + 5);
  assert.deepEqual(rec.unique, Array.from({ length: produced }, (_, i) => i + 1), 'every frame, in order, once after dedup');
  return { produced, duplicates: rec.duplicates };
}
