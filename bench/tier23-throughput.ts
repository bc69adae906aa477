// Tier-2 and Tier-3 scoring throughput on ONNX Runtime versus batch size (issue #7, Benchmarks):
//   npm run bench:tier23 [-- --rounds 5 --provider cpu]
// For each model and batch size (1, 64, 1,024, 16,384 series-windows per run): runs for about
// a second per round on random inputs (the graphs' cost does not depend on the values), rounds
// interleaved across cases; reports the median series-windows per second over rounds and the
// p99 latency of one run (a batch) pooled over rounds. The multivariate row is a bundle of 50
// services with 9 metrics each (the simulators' service metrics); one of its rows is one
// service window (9 series-windows).
import { parseArgs } from 'node:util';
import { SelfMetrics, silentLogger, systemClock } from '../shared-schemas/src/runtime/index.js';
import { AGILE_DEFAULTS, agileGraph } from '../central/src/detect/agile/index.js';
import { encodeOnnxModel, OnnxRuntime, onnxConfigSchema } from '../central/src/detect/onnx/index.js';
import { fitMultivariate, multivariateGraph } from '../central/src/detect/multivariate/index.js';
import { ROBUST_DEFAULTS, robustGraph } from '../central/src/detect/robust/index.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, provider: { type: 'string', default: 'cpu' }, 'round-ms': { type: 'string', default: '1000' }, help: { type: 'boolean', short: 'h' } } });
if (args.help) {
  console.log('usage: npm run bench:tier23 [-- --rounds N --provider cpu|cuda|tensorrt --round-ms MS]');
  process.exit(0);
}
const rounds = Number(args.rounds);
const roundMs = Number(args['round-ms']);
const self = new SelfMetrics();
const rt = await OnnxRuntime.open({ id: 'bench', logger: silentLogger(), metrics: self.forComponent('bench'), clock: systemClock, dataDir: '.' }, onnxConfigSchema.parse({ execution_providers: [args.provider] }));
const W = AGILE_DEFAULTS.window;
const L = ROBUST_DEFAULTS.window;
const C = ROBUST_DEFAULTS.cycles;
const SERVICES = 50;
const MV_METRICS = 9;
let mvSeed = 7;
const mvRnd = () => ((mvSeed = (Math.imul(mvSeed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const bundle = {
  services: Array.from({ length: SERVICES }, (_, s) => {
    const rows = Array.from({ length: 400 }, () => {
      const load = 100 * mvRnd();
      return Array.from({ length: MV_METRICS }, (_, m) => (m % 3 === 0 ? load * (m + 1) : 0) + 10 * mvRnd());
    });
    return { service: `svc-${s}`, params: fitMultivariate(Array.from({ length: MV_METRICS }, (_, m) => `m${m}`), rows, { seed: 1 }).params };
  }),
};
const models = {
  'tier2 agile': { session: await rt.session(encodeOnnxModel(agileGraph(AGILE_DEFAULTS))), inputs: [['x', [W]], ['xs', [W]], ['seasonal', [1]]] as Array<[string, number[]]> },
  'tier3 robust': { session: await rt.session(encodeOnnxModel(robustGraph(ROBUST_DEFAULTS))), inputs: [['cycles', [C + 1, L]], ['seasonal', [1]]] as Array<[string, number[]]> },
  [`tier3 multivariate (${SERVICES} services x ${MV_METRICS} metrics; rows = service windows)`]: { session: await rt.session(encodeOnnxModel(multivariateGraph(bundle))), inputs: [['x', [MV_METRICS]], ['svc', [1]]] as Array<[string, number[]]> },
};
const sizes = [1, 64, 1024, 16384];
let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 100;
const feeds = new Map<string, Record<string, ReturnType<typeof OnnxRuntime.tensor>>>();
for (const [name, m] of Object.entries(models)) {
  for (const b of sizes) {
    const f: Record<string, ReturnType<typeof OnnxRuntime.tensor>> = {};
    for (const [input, shape] of m.inputs) {
      const n = b * shape.reduce((x, y) => x * y, 1);
      const data = input === 'seasonal' ? Float32Array.from({ length: b }, (_, i) => i % 2) : input === 'svc' ? Float32Array.from({ length: b }, (_, i) => i % SERVICES) : Float32Array.from({ length: n }, rnd);
      f[input] = OnnxRuntime.tensor(data, [b, ...shape]);
    }
    feeds.set(`${name}/${b}`, f);
  }
}
const rates = new Map<string, number[]>();
const lat = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const [name, m] of Object.entries(models)) {
    for (const b of sizes) {
      const key = `${name}/${b}`;
      const f = feeds.get(key)!;
      await OnnxRuntime.run(m.session, f); // warm
      let rows = 0;
      const t0 = performance.now();
      const ls = lat.get(key) ?? [];
      while (performance.now() - t0 < roundMs) {
        const t = performance.now();
        await OnnxRuntime.run(m.session, f);
        ls.push(performance.now() - t);
        rows += b;
      }
      lat.set(key, ls);
      rates.set(key, [...(rates.get(key) ?? []), rows / ((performance.now() - t0) / 1000)]);
      process.stderr.write(`round ${r + 1}/${rounds} ${key}\n`);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.99 * xs.length))]!;
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
console.log(`Tier-2/3 scoring on ONNX Runtime ${OnnxRuntime.version}, provider ${rt.provider}, ${rounds} rounds of ${roundMs} ms per case, node ${process.version}`);
console.log('');
console.log('| model | batch | series-windows/s (median) | min..max of rounds | p99 latency of a batch |');
console.log('|---|---|---|---|---|');
for (const name of Object.keys(models)) {
  for (const b of sizes) {
    const key = `${name}/${b}`;
    const rs = rates.get(key)!;
    console.log(`| ${name} | ${b} | ${fmt(median(rs))} | ${fmt(Math.min(...rs))} .. ${fmt(Math.max(...rs))} | ${p99(lat.get(key)!).toFixed(2)} ms |`);
  }
}
