// Measurement behind docs/decisions/006-store-and-forward-buffer.md (not a test):
//   node --import tsx edge-agent/src/buffer/testdata/measure.ts
// Fills a SqlJsFrameBuffer with frame-sized blobs (incompressible, 4 KiB and 40 KiB), and
// reports put and ack throughput, flush (export + atomic write) time and file size at several
// fill levels, and the process RSS. Medians of 5 flushes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { resolveCodecOptions, resolveDecodeLimits } from '../../../../shared-schemas/src/index.js';
import { WindowFramer } from '../../exporters/internal/framer.js';
import type { FeatureWindow } from '../../pdata.js';
import { testSettings } from '../../testing/index.js';
import { SqlJsFrameBuffer } from '../sqljs-buffer.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

async function scenario(frameBytes: number, fillMiB: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'aiops-measure-'));
  let fileBytes = 0;
  const b = new SqlJsFrameBuffer(testSettings('grpc', { dataDir: dir }), {
    path: join(dir, 'm.buffer.sqlite'),
    maxBytes: 64 * 1024 * 1024,
    flushIntervalMs: 3_600_000,
    onFlushed: (i) => (fileBytes = i.fileBytes),
  });
  await b.start();
  const blob = randomBytes(frameBytes);
  const n = Math.floor((fillMiB * 1024 * 1024) / frameBytes);
  let t = performance.now();
  for (let s = 1; s <= n; s++) b.put(s, s, blob);
  const putMs = performance.now() - t;
  const flushes: number[] = [];
  for (let i = 0; i < 5; i++) {
    b.put(n + 1 + i, 0, blob);
    t = performance.now();
    await b.flush();
    flushes.push(performance.now() - t);
  }
  const full = fileBytes;
  t = performance.now();
  for (let s = 1; s <= n; s++) b.ack(s);
  const ackMs = performance.now() - t;
  await b.flush();
  console.log(
    `frame ${frameBytes} B x ${n} (${mb(n * frameBytes)} MiB): put ${(n / (putMs / 1000)).toFixed(0)}/s, ack ${(n / (ackMs / 1000)).toFixed(0)}/s, ` +
      `flush median ${median(flushes).toFixed(1)} ms, file ${mb(full)} MiB full -> ${mb(fileBytes)} MiB drained, rss ${mb(process.memoryUsage().rss)} MiB`,
  );
  await b.shutdown();
}

/** Stored size of one 10 s window of `series` node-exporter-like series (brotli 5, standalone). */
function frameSize(series: number): number {
  const w: FeatureWindow = { windowStartMs: 1_767_225_600_000, windowEndMs: 1_767_225_610_000, series: [] };
  for (let i = 0; i < series; i++) {
    const v = Math.random() * 100;
    w.series.push({
      key: String(i),
      labels: { __name__: `node_metric_${i % 200}`, instance: 'web-1:9100', job: 'node', device: `dev${Math.floor(i / 200)}` },
      row: { count: 10, min: v, max: v + Math.random(), mean: v + 0.5, std: 0.3, last: v + 0.7, p50: v + 0.5, p95: v + 0.9, tier1MaxScore: Math.random(), flags: 0, bandLower: v - 1, bandUpper: v + 2 },
    });
  }
  let seq = 1;
  const framer = new WindowFramer(
    { agentId: 'web-1', tenant: 'acme', maxRowsPerFrame: 10_000, maxFrameBytes: 1 << 20, maxSeries: 100_000, codec: resolveCodecOptions({ codec: 'brotli', brotliQuality: 5 }), limits: resolveDecodeLimits() },
    () => undefined,
  );
  return framer.build(w, { peek: () => seq, take: () => seq++ }).reduce((a, f) => a + f.bytes.length, 0);
}
for (const n of [1000, 10_000]) {
  const bytes = frameSize(n);
  console.log(`window of ${n} series: ${bytes} B stored; 64 MiB holds ${((64 * 1024 * 1024) / bytes / 360).toFixed(1)} h of 10 s windows`);
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, rss at start ${mb(process.memoryUsage().rss)} MiB`);
  for (const fill of [1, 8, 32, 60]) await scenario(4096, fill);
  await scenario(40 * 1024, 60);
}

void main();
