// Tier-1 throughput, four ways, side by side in one run (npm run bench):
//   (a) WASM build, one series           (b) WASM build, 10,000 series in batches
//   (c) TypeScript reference              (d) C reference (bench/c/tier1.c, gcc -O3 -march=native)
// Rounds are interleaved (a, b, c, d, a, b, ...) so that machine noise hits every case alike;
// each case reports the median of the rounds, and the ratios are taken between medians.
// Every implementation must produce the same checksum of scores (they are bit-identical).
//
// usage: npm run bench [-- --rounds 7 --points 2000000 --series 10000 --json out.json]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createWasmTier1Sync, encodeParams, resolveTier1Config, STATE_BYTES, Tier1Reference } from '../wasm-detectors/src/index.js';
import type { Tier1Detector, WasmTier1 } from '../wasm-detectors/src/index.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    points: { type: 'string', default: '2000000' },
    series: { type: 'string', default: '10000' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: npm run bench -- [--rounds N (>=5)] [--points N] [--series N] [--json file]');
  process.exit(0);
}
const ROUNDS = Math.max(5, Number(args.rounds));
const POINTS = Number(args.points);
const SERIES = Number(args.series);
const SINGLE_BATCH = 4096;
/** Untimed samples per series first, so that every series is past its warm-up when timing starts. */
const WARM_TICKS = 400;

// Deterministic data: a seasonal signal with noise, level shifts and rare spikes, per series.
function makeValues(points: number, series: number): Float64Array {
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const v = new Float64Array(points);
  for (let i = 0; i < points; i++) {
    const s = i % series;
    const t = Math.floor(i / series);
    const base = 50 + 10 * Math.sin((2 * Math.PI * (t + s * 7)) / 288) + (s % 13);
    const shift = (Math.floor((t + s) / 5000) % 2) * 8;
    const spike = rnd() < 0.0005 ? 40 : 0;
    v[i] = base + shift + spike + (rnd() - 0.5) * 4;
  }
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

interface CaseResult {
  name: string;
  seconds: number[];
  checksum: number;
  flagged: number;
}

const params = encodeParams(resolveTier1Config());
const WARM_BATCH = WARM_TICKS * SERIES;
const WARM_SINGLE = WARM_TICKS;
const batchValues = makeValues(WARM_BATCH + POINTS, SERIES);
const singleValues = makeValues(WARM_SINGLE + POINTS, 1);

// (a), (b): WASM through the zero-copy path: the host writes each batch into the module's views.
function runWasm(det: WasmTier1, values: Float64Array, series: number, batch: number, warm: number, sum: boolean): [number, number, number] {
  let checksum = 0;
  let flagged = 0;
  let t0 = performance.now();
  for (let from = 0; from < values.length; ) {
    if (from === warm) {
      t0 = performance.now();
      checksum = 0;
      flagged = 0;
    }
    // chunks never straddle the end of the warm-up
    const m = Math.min(batch, (from < warm ? warm : values.length) - from);
    const ids = det.ids;
    const ts = det.timestamps;
    for (let j = 0; j < m; j++) {
      const i = from + j;
      ids[j] = i % series;
      ts[j] = Math.floor(i / series) * 1000;
    }
    det.values.set(values.subarray(from, from + m));
    flagged += det.run(m);
    if (sum) for (let j = 0; j < m; j++) checksum += det.out.scores[j]!;
    from += m;
  }
  return [(performance.now() - t0) / 1000, checksum, flagged];
}

function runReference(det: Tier1Detector, values: Float64Array, series: number, batch: number, warm: number, sum: boolean): [number, number, number] {
  let checksum = 0;
  let flagged = 0;
  const ids = new Uint32Array(batch);
  const ts = new Float64Array(batch);
  let t0 = performance.now();
  for (let from = 0; from < values.length; ) {
    if (from === warm) {
      t0 = performance.now();
      checksum = 0;
      flagged = 0;
    }
    // chunks never straddle the end of the warm-up
    const m = Math.min(batch, (from < warm ? warm : values.length) - from);
    for (let j = 0; j < m; j++) {
      const i = from + j;
      ids[j] = i % series;
      ts[j] = Math.floor(i / series) * 1000;
    }
    const out = det.process(ids, values.subarray(from, from + m), ts, m);
    flagged += det.lastFlagged;
    if (sum) for (let j = 0; j < m; j++) checksum += out.scores[j]!;
    from += m;
  }
  return [(performance.now() - t0) / 1000, checksum, flagged];
}

const dir = mkdtempSync(join(tmpdir(), 'aiops-bench-'));
const cBin = join(dir, 'tier1_bench');
const cFlags = ['-O3', '-march=native', '-ffp-contract=off'];
try {
  execFileSync('gcc', [...cFlags, '-o', cBin, new URL('./c/tier1.c', import.meta.url).pathname, '-lm'], { stdio: 'inherit' });
} catch (err) {
  console.error('bench: gcc failed; install gcc (apt-get install gcc) to run the C reference');
  throw err;
}
const gccVersion = execFileSync('gcc', ['--version']).toString().split('\n')[0];
writeFileSync(join(dir, 'params.bin'), Buffer.from(params.buffer));
writeFileSync(join(dir, 'batch.bin'), Buffer.from(batchValues.buffer));
writeFileSync(join(dir, 'single.bin'), Buffer.from(singleValues.buffer));

function runC(file: string, series: number, warm: number): [number, number, number] {
  const out = execFileSync(cBin, [join(dir, 'params.bin'), join(dir, file), String(series), String(warm), String(POINTS), '1']).toString();
  const rep = /rep 0 ([\d.e+-]+)/.exec(out);
  const ck = /checksum (\S+) (\d+)/.exec(out);
  if (!rep || !ck) throw new Error(`unexpected C output: ${out}`);
  return [Number(rep[1]), Number(ck[1]), Number(ck[2])];
}

const cases: Record<string, CaseResult> = {};
const record = (name: string, r: [number, number, number]): void => {
  const c = (cases[name] ??= { name, seconds: [], checksum: r[1], flagged: r[2] });
  c.seconds.push(r[0]);
};

const newWasm = (series: number, batch: number): WasmTier1 => createWasmTier1Sync({ maxSeries: series, batchCapacity: batch });
const newRef = (series: number, batch: number): Tier1Reference => new Tier1Reference({ maxSeries: series, batchCapacity: batch });

// One warm-up round (JIT, caches) that also computes the checksums, then the timed rounds.
const checks: Record<string, [number, number]> = {};
for (const [name, fn] of [
  ['wasm-single', () => runWasm(newWasm(1, SINGLE_BATCH), singleValues, 1, SINGLE_BATCH, WARM_SINGLE, true)],
  ['wasm-batch', () => runWasm(newWasm(SERIES, SERIES), batchValues, SERIES, SERIES, WARM_BATCH, true)],
  ['ts-single', () => runReference(newRef(1, SINGLE_BATCH), singleValues, 1, SINGLE_BATCH, WARM_SINGLE, true)],
  ['ts-batch', () => runReference(newRef(SERIES, SERIES), batchValues, SERIES, SERIES, WARM_BATCH, true)],
] as Array<[string, () => [number, number, number]]>) {
  const r = fn();
  checks[name] = [r[1], r[2]];
}
checks['c-single'] = runC('single.bin', 1, WARM_SINGLE).slice(1) as [number, number];
checks['c-batch'] = runC('batch.bin', SERIES, WARM_BATCH).slice(1) as [number, number];

for (let round = 0; round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  record('wasm-single', runWasm(newWasm(1, SINGLE_BATCH), singleValues, 1, SINGLE_BATCH, WARM_SINGLE, false));
  record('wasm-batch', runWasm(newWasm(SERIES, SERIES), batchValues, SERIES, SERIES, WARM_BATCH, false));
  record('ts-single', runReference(newRef(1, SINGLE_BATCH), singleValues, 1, SINGLE_BATCH, WARM_SINGLE, false));
  record('ts-batch', runReference(newRef(SERIES, SERIES), batchValues, SERIES, SERIES, WARM_BATCH, false));
  record('c-single', runC('single.bin', 1, WARM_SINGLE));
  record('c-batch', runC('batch.bin', SERIES, WARM_BATCH));
}
rmSync(dir, { recursive: true, force: true });

const rate = (name: string): number => POINTS / median(cases[name]!.seconds);
const fmt = (x: number): string => `${(x / 1e6).toFixed(1)} M`;
const rows = [
  ['(a) WASM, one series', 'wasm-single'],
  ['(b) WASM, 10,000 series in batches', 'wasm-batch'],
  ['(c) TypeScript reference, 10,000 series', 'ts-batch'],
  ['    TypeScript reference, one series', 'ts-single'],
  ['(d) C reference, 10,000 series', 'c-batch'],
  ['    C reference, one series', 'c-single'],
] as const;
const agree =
  checks['wasm-batch']![0] === checks['ts-batch']![0] &&
  checks['wasm-batch']![0] === checks['c-batch']![0] &&
  checks['wasm-single']![0] === checks['ts-single']![0] &&
  checks['wasm-single']![0] === checks['c-single']![0];

const lines: string[] = [];
lines.push(`Tier-1 throughput: ${POINTS.toLocaleString('en-US')} timed points per case after ${WARM_TICKS} untimed warm-up samples per series, ${SERIES.toLocaleString('en-US')} series in the batch cases, median of ${ROUNDS} interleaved rounds`);
lines.push(`node ${process.version}, ${gccVersion}, C flags ${cFlags.join(' ')}; state ${STATE_BYTES} bytes per series`);
lines.push('');
lines.push('| case | points/s (median) | min..max of rounds |');
lines.push('|---|---|---|');
for (const [label, key] of rows) {
  const s = cases[key]!.seconds;
  lines.push(`| ${label} | ${fmt(rate(key))} | ${fmt(POINTS / Math.max(...s))} .. ${fmt(POINTS / Math.min(...s))} |`);
}
lines.push('');
const r1 = rate('wasm-batch') / rate('c-batch');
const r2 = rate('wasm-batch') / rate('ts-batch');
const r3 = rate('wasm-single') / rate('c-single');
const r4 = rate('wasm-single') / rate('ts-single');
lines.push('| ratio (batch case unless said) | value | target |');
lines.push('|---|---|---|');
lines.push(`| WASM / C | ${r1.toFixed(2)} | >= 0.6 ${r1 >= 0.6 ? '(met)' : '(MISSED)'} |`);
lines.push(`| WASM / TypeScript reference | ${r2.toFixed(2)} | >= 1.5 ${r2 >= 1.5 ? '(met)' : '(MISSED)'} |`);
lines.push(`| WASM / C, one series | ${r3.toFixed(2)} | - |`);
lines.push(`| WASM / TypeScript reference, one series | ${r4.toFixed(2)} | - |`);
lines.push('');
lines.push(`Outputs bit-identical across WASM, TypeScript and C (checksum of scores, flags): ${agree ? 'yes' : 'NO'} ` +
  `(batch: score sum ${checks['wasm-batch']![0]}, ${checks['wasm-batch']![1]} flagged)`);
console.log(lines.join('\n'));
if (args.json) {
  writeFileSync(args.json, JSON.stringify({ points: POINTS, series: SERIES, rounds: ROUNDS, cases, checks, ratios: { wasmOverC: r1, wasmOverTs: r2 } }, null, 2));
}
if (!agree) process.exitCode = 1;
// A benchmark that never leaves warm-up measures nothing: refuse it.
if (checks['wasm-batch']![0] === 0 || checks['wasm-single']![0] === 0) {
  console.error('bench: every score was 0 (still warming up?): the measurement is void');
  process.exitCode = 1;
}
