// How many feature rows per second central's SQLite MetricStore takes on its own, without MQTT,
// frame decoding or detection: the ceiling of bench/central-ingest.ts's write path on this
// machine. Frames are written as central writes them (FeatureSink -> writeFeatureFrame: one
// IMMEDIATE transaction per frame, frozen label objects as the dictionary decoder hands them),
// with the virtual agents' rows (simulators/agents SeriesModel), agents x series per window,
// windows of --window-ms, as fast as the store takes them. Variants for the analysis:
// --group N wraps N frames in one outer transaction (group commit; the per-frame transactions
// become savepoints), --checkpoint-pages / --cache-mib / --synchronous change the database
// options central leaves at their defaults. --layout frames measures the alternative the
// analysis suggests: each frame appended once, as received (the agent's envelope bytes, one row
// per frame keyed by agent and sequence, one transaction per frame); only the insert is timed
// (the agent's encoding is not central's work), so its rows/s is per second of store time.
//
//   npx tsx bench/lib/feature-store-ceiling.ts [--agents 1000] [--series 200] [--seconds 60]
//       [--group 1] [--checkpoint-pages 10000] [--cache-mib 16] [--synchronous NORMAL] [--series-cache 100000]
//       [--layout rows|frames] [--checkpoint background|inline]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeFrame } from '../../shared-schemas/src/index.js';
import type { Labels } from '../../shared-schemas/src/index.js';
import { SqliteMetricStore } from '../../central/src/storage/index.js';
import type { FeatureSample } from '../../central/src/storage/index.js';
import { agentIdOf, SeriesModel } from '../../simulators/agents/index.js';

const { values: a } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    series: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    'window-ms': { type: 'string', default: '1000' },
    group: { type: 'string', default: '1' },
    'checkpoint-pages': { type: 'string', default: '10000' },
    'cache-mib': { type: 'string', default: '16' },
    synchronous: { type: 'string', default: 'NORMAL' },
    'series-cache': { type: 'string', default: '100000' },
    layout: { type: 'string', default: 'rows' },
    checkpoint: { type: 'string', default: 'background' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (a.help) {
  process.stdout.write('usage: npx tsx bench/lib/feature-store-ceiling.ts [--agents 1000] [--series 200] [--seconds 60] [--window-ms 1000] [--group 1] [--checkpoint-pages 10000] [--cache-mib 16] [--synchronous NORMAL|FULL] [--series-cache 100000] [--layout rows|frames] [--checkpoint background|inline]\n');
  process.exit(0);
}

const agents = Number(a.agents);
const series = Number(a.series);
const seconds = Number(a.seconds);
const windowMs = Number(a['window-ms']);
const group = Number(a.group);
const say = (s: string): void => void process.stderr.write(`[store-ceiling] ${s}\n`);

function self(): { cpuS: number; writeMb: number } {
  const st = readFileSync('/proc/self/stat', 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync('/proc/self/io', 'utf8');
  return { cpuS: (Number(f[11]) + Number(f[12])) / 100, writeMb: Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? 0) / 2 ** 20 };
}

const dir = mkdtempSync(join(tmpdir(), 'store-ceiling-'));
const store = SqliteMetricStore.open(join(dir, 'central.db'), {
  now: () => Date.now(),
  seriesCacheSize: Number(a['series-cache']),
  // As central opens it (storage/stores.ts): WAL checkpoints in a background worker unless --checkpoint inline.
  database: { walAutocheckpointPages: Number(a['checkpoint-pages']), cacheSizeKiB: Number(a['cache-mib']) * 1024, synchronous: a.synchronous as 'NORMAL' | 'FULL', checkpoint: a.checkpoint as 'inline' | 'background' },
});
// The store's handle, for the group-commit variant (an outer transaction around N frames) and
// the frame-append layout.
interface Handle {
  transaction(fn: () => void): { (): void; immediate(): void };
  exec(sql: string): void;
  prepare(sql: string): { run(...p: unknown[]): unknown };
}
const handle = (store as unknown as { h: Handle }).h;
const layout = a.layout;
if (layout !== 'rows' && layout !== 'frames') throw new Error(`--layout must be rows or frames (got ${layout})`);
handle.exec('CREATE TABLE IF NOT EXISTS bench_frames (agent_id TEXT NOT NULL, sequence INTEGER NOT NULL, window_start INTEGER NOT NULL, window_end INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (agent_id, sequence)) WITHOUT ROWID');
const insertFrame = handle.prepare('INSERT INTO bench_frames (agent_id, sequence, window_start, window_end, payload) VALUES (?, ?, ?, ?, ?)');
let busyMs = 0;
const model = new SeriesModel({ seriesPerAgent: series, seed: 1, samplesPerWindow: 10 });
const ids = Array.from({ length: agents }, (_, i) => agentIdOf('vagent', i));
const labels: Labels[][] = ids.map((id) => Array.from({ length: series }, (_, s) => Object.freeze({ ...model.labels(id, s + 1) })));
const start = Math.floor(Date.now() / windowMs) * windowMs - 3_600_000;

say(`${agents} agents x ${series} series, layout ${layout}, checkpoints ${a.checkpoint}, frames of ${series} rows, ${group} frame(s) per transaction, wal_autocheckpoint ${a['checkpoint-pages']}, cache ${a['cache-mib']} MiB, synchronous ${a.synchronous}, series cache ${a['series-cache']}, ${seconds} s in ${dir}`);
const frameMs: number[] = [];
const perInterval: number[] = [];
let rows = 0;
let frames = 0;
const t0 = performance.now();
const s0 = self();
let lastT = t0;
let lastRows = 0;
let window = 0;
outer: for (;;) {
  const winStart = start + window * windowMs;
  for (let g = 0; g < agents; g += group) {
    const batch = (): void => {
      for (let i = g; i < Math.min(agents, g + group); i++) {
        const r = model.rows(i, window);
        if (layout === 'frames') {
          const bytes = encodeFrame({ agentId: ids[i]!, tenant: 'default', sequence: window + 1, windowStartMs: winStart, windowEndMs: winStart + windowMs, dictionaryScope: 'continue', dictionaryEpoch: 1, seriesDefs: [], rows: r });
          const t = performance.now();
          handle.transaction(() => void insertFrame.run(ids[i]!, window + 1, winStart, winStart + windowMs, bytes)).immediate();
          busyMs += performance.now() - t;
          frames++;
          rows += series;
          continue;
        }
        const samples: FeatureSample[] = new Array(series);
        for (let s = 0; s < series; s++) {
          const { seriesId: _id, ...row } = r[s]!;
          samples[s] = { labels: labels[i]![s]!, windowStartMs: winStart, windowEndMs: winStart + windowMs, row };
        }
        void store.writeFeatureFrame(ids[i]!, window + 1, samples);
        frames++;
        rows += series;
      }
    };
    const t = performance.now();
    if (group > 1) handle.transaction(batch)();
    else batch();
    frameMs.push((performance.now() - t) / Math.min(group, agents - g));
    if (layout === 'rows') busyMs += performance.now() - t;
    const now = performance.now();
    if (now - lastT >= 10_000) {
      perInterval.push(((rows - lastRows) * 1000) / (now - lastT));
      say(`${((now - t0) / 1000).toFixed(0)} s: ${Math.round(perInterval[perInterval.length - 1]!).toLocaleString('en-US')} rows/s`);
      lastT = now;
      lastRows = rows;
      await new Promise((r) => setImmediate(r));
    }
    if (now - t0 >= seconds * 1000) break outer;
  }
  window++;
}
const el = (performance.now() - t0) / 1000;
const s1 = self();
frameMs.sort((x, y) => x - y);
const q = (p: number): number => frameMs[Math.min(frameMs.length - 1, Math.floor(p * frameMs.length))]!;
const med = [...perInterval].sort((x, y) => x - y)[perInterval.length >> 1] ?? rows / el;
const result = {
  layout,
  checkpoint: a.checkpoint,
  agents,
  series,
  group,
  checkpointPages: Number(a['checkpoint-pages']),
  cacheMiB: Number(a['cache-mib']),
  synchronous: a.synchronous,
  seriesCache: Number(a['series-cache']),
  seconds: el,
  frames,
  rows,
  rowsPerSec: rows / el,
  /** Rows per second of time spent in the store (= rowsPerSec for layout rows, plus the untimed encoding for frames). */
  rowsPerStoreSec: rows / (busyMs / 1000),
  medianIntervalRowsPerSec: med,
  lastIntervalRowsPerSec: perInterval[perInterval.length - 1] ?? Number.NaN,
  cpuPercent: ((s1.cpuS - s0.cpuS) / el) * 100,
  diskWriteMbPerSec: (s1.writeMb - s0.writeMb) / el,
  frameWriteMs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: frameMs[frameMs.length - 1] },
};
process.stdout.write(JSON.stringify(result) + '\n');
await store.close();
rmSync(dir, { recursive: true, force: true });
