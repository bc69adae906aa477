// Child process of durability.test.ts: writes numbered batches into the database at argv[2]
// (synchronous mode argv[3]) as fast as it can, compacting now and then, and prints
// `accepted <n>` on stdout after each writeSamples call has returned, until it is killed.
// Batch n holds SERIES x PER_SERIES samples with timestamps in [base + n*10 s, base + (n+1)*10 s).
import { SqliteMetricStore } from '../metric-store.js';
import type { MetricSample } from '../types.js';
import { BATCH_SPAN_MS, PER_SERIES, SERIES } from './durability-shape.js';

const [path, sync, baseArg] = process.argv.slice(2);
if (path === undefined || (sync !== 'NORMAL' && sync !== 'FULL') || baseArg === undefined) {
  process.stderr.write('usage: durability-writer.ts <db path> NORMAL|FULL <base ms>\n');
  process.exit(2);
}
const base = Number(baseArg);
// Small compaction steps, so that a compaction spans many transactions interleaved with the
// writes and the kill often lands inside one.
const store = SqliteMetricStore.open(path, { now: Date.now, database: { synchronous: sync }, compactionChunkMs: 5 * 60_000, compactionSeriesPerTransaction: 5 });
const labels = Array.from({ length: SERIES }, (_, s) => ({ __name__: 'durable', series: String(s) }));

for (let n = 0; ; n++) {
  const batch: MetricSample[] = [];
  for (let s = 0; s < SERIES; s++) {
    for (let k = 0; k < PER_SERIES; k++) batch.push({ labels: labels[s]!, tsMs: base + n * BATCH_SPAN_MS + k * 1000, value: n * 1000 + s * 10 + k });
  }
  const r = await store.writeSamples(batch, `batch-${n}`);
  if (r.accepted !== batch.length) throw new Error(`batch ${n}: ${JSON.stringify(r.rejected.slice(0, 3))}`);
  // Pipes are synchronous on Linux: the line is in the pipe before the next batch starts.
  process.stdout.write(`accepted ${n}\n`);
  if (n % 20 === 19) void store.compact(Date.now());
  await new Promise((r) => setImmediate(r));
}
