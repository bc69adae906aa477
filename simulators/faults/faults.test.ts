// Acceptance tests of fault injection: for every fault type, compare the published metrics with
// a fault-free run of a fresh model with the same seed. The root's root metric must change at
// the fault's onset, nothing may change before it, and every affected entity must change first
// exactly at the onset its ground truth records (callers strictly after the root).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAULT_TYPES } from '../model/index.js';
import type { FaultType, GroundTruthFault, SimMetrics, TopologyDocument } from '../model/index.js';
import { createMetricModel, generateMetrics, simulateCore } from '../metrics/index.js';
import type { MetricsOptionsInput } from '../metrics/index.js';
import { buildTopologyGraph, downstreamOf, generateTopology } from '../topology/index.js';
import { FAULT_CATALOG, FaultError, changeFloor, diffSeries, injectFaults, samplesDiffer } from './index.js';
import type { FaultInput, FaultRun } from './index.js';

const START = Date.UTC(2024, 2, 4, 8); // Monday 08:00 UTC
const STEP = 10_000;
const HOUR = 3_600_000;
const OPTS: MetricsOptionsInput = { startMs: START, stepMs: STEP, durationMs: 3 * HOUR, benign: { deploysPerDay: 4, levelShiftsPerDay: 2 } };
const ONSET_STEP = 360;
const END_STEP = 720;
const SEED = 5;

const ob = generateTopology({ preset: 'online-boutique' }, SEED);
const ss = generateTopology({ preset: 'sock-shop' }, SEED);

function hostOf(doc: TopologyDocument, name: string): string {
  const id = doc.nodes.find((n) => n.name === name)!.id;
  const host = doc.edges.find((e) => e.kind === 'RUNS_ON' && e.from === id)!.to;
  return doc.nodes.find((n) => n.id === host)!.name;
}

/** First differing step per series key `entity/metric` (-1 when identical). */
function firstDiffs(base: SimMetrics, run: SimMetrics): Map<string, number> {
  const out = new Map<string, number>();
  run.series.forEach((s, k) => {
    const b = base.series[k]!;
    assert.equal(b.nodeId, s.nodeId);
    assert.equal(b.metric, s.metric);
    let first = -1;
    for (let t = 0; t < s.values.length; t++) {
      if (samplesDiffer(b.values[t]!, s.values[t]!)) {
        first = t;
        break;
      }
    }
    out.set(`${s.entity}/${s.metric}`, first);
  });
  return out;
}

function values(m: SimMetrics, entity: string, metric: string): Float64Array {
  const s = m.series.find((x) => x.entity === entity && x.metric === metric);
  assert.ok(s, `series ${entity}/${metric}`);
  return s.values;
}

function step(ms: number): number {
  return (ms - START) / STEP;
}

interface Case {
  name: string;
  topology: TopologyDocument;
  fault: FaultInput;
  check?: (ctx: { run: FaultRun; base: SimMetrics; gt: GroundTruthFault }) => void;
}

const CASES: Case[] = [
  {
    name: 'cpu_hog: CPU at onset, latency one step later',
    topology: ob,
    fault: { type: 'cpu_hog', target: 'productcatalog', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base }) => {
      const cpu = values(run.metrics, 'productcatalog', 'cpu');
      assert.ok(cpu[ONSET_STEP]! > values(base, 'productcatalog', 'cpu')[ONSET_STEP]! * 1.3, 'CPU jumps at onset');
      assert.equal(values(run.metrics, 'productcatalog', 'latency_p95')[ONSET_STEP], values(base, 'productcatalog', 'latency_p95')[ONSET_STEP], 'latency unchanged at onset');
      assert.ok(values(run.metrics, 'productcatalog', 'latency_p95')[ONSET_STEP + 1]! > values(base, 'productcatalog', 'latency_p95')[ONSET_STEP + 1]! * 1.5, 'latency up one step later');
    },
  },
  {
    name: 'memory_leak: memory ramps, GC later, then an OOM restart',
    topology: ob,
    fault: { type: 'memory_leak', target: 'cart', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base, gt }) => {
      const mem = values(run.metrics, 'cart', 'memory');
      const bmem = values(base, 'cart', 'memory');
      assert.ok(mem[ONSET_STEP + 100]! / bmem[ONSET_STEP + 100]! > mem[ONSET_STEP + 10]! / bmem[ONSET_STEP + 10]!, 'memory keeps growing');
      const gcFirst = firstDiffs(base, run.metrics).get('cart/gc_pause')!;
      assert.ok(gcFirst > ONSET_STEP + 1, `GC pauses grow later (${gcFirst})`);
      const rate = values(run.metrics, 'cart', 'request_rate');
      assert.ok(rate.subarray(ONSET_STEP, END_STEP).some((v) => v === 0), 'an OOM kill takes cart down for a moment');
      assert.ok(gt.affected[0]!.metrics.includes('request_rate'), 'the restart is in the ground truth');
    },
  },
  {
    name: 'disk_fill: the host disk fills, its workloads fail later',
    topology: ob,
    fault: { type: 'disk_fill', target: hostOf(ob, 'cart'), onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base, gt }) => {
      const disk = values(run.metrics, hostOf(ob, 'cart'), 'disk');
      assert.ok(disk[ONSET_STEP]! > values(base, hostOf(ob, 'cart'), 'disk')[ONSET_STEP]!, 'disk grows at onset');
      assert.ok(Math.max(...disk.subarray(ONSET_STEP, END_STEP)) > 0.99, 'disk full');
      const cart = gt.affected.find((a) => a.entity === 'cart');
      assert.ok(cart && cart.hops === 1 && cart.metrics.includes('error_rate') && step(cart.onsetMs) > ONSET_STEP + 10, 'cart fails writes once the disk is nearly full');
    },
  },
  {
    name: 'network_delay: root latency, callers a hop later',
    topology: ob,
    fault: { type: 'network_delay', target: 'currency', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base, gt }) => {
      assert.ok(values(run.metrics, 'currency', 'latency_p95')[ONSET_STEP]! > values(base, 'currency', 'latency_p95')[ONSET_STEP]! + 0.05, 'p95 + ~120 ms');
      assert.equal(firstDiffs(base, run.metrics).get('currency/error_rate'), -1, 'no errors from a delay');
      assert.deepEqual(gt.affected.filter((a) => a.hops === 1).map((a) => a.entity).sort(), ['checkout', 'frontend']);
    },
  },
  {
    name: 'packet_loss: errors and tail latency at the root',
    topology: ob,
    fault: { type: 'packet_loss', target: 'payment', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base }) => {
      assert.ok(values(run.metrics, 'payment', 'error_rate')[ONSET_STEP]! > values(base, 'payment', 'error_rate')[ONSET_STEP]! * 5, 'errors');
      assert.ok(values(run.metrics, 'payment', 'latency_p99')[ONSET_STEP]! > values(base, 'payment', 'latency_p99')[ONSET_STEP]! + 0.03, 'retransmissions');
    },
  },
  {
    name: 'error_injection: errors at the root, attenuated upward',
    topology: ob,
    fault: { type: 'error_injection', target: 'shipping', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ gt }) => {
      const fe = gt.affected.find((a) => a.entity === 'frontend')!;
      const lb = gt.affected.find((a) => a.entity === 'frontend-external')!;
      assert.ok(fe.attenuation > 0 && fe.attenuation < 1 && lb.attenuation <= fe.attenuation + 1e-9, `attenuation frontend ${fe.attenuation}, edge ${lb.attenuation}`);
    },
  },
  {
    name: 'dependency_outage: the cache is down, its callers fail',
    topology: ob,
    fault: { type: 'dependency_outage', target: 'redis-cart', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base }) => {
      const rate = values(run.metrics, 'redis-cart', 'request_rate');
      const lat = values(run.metrics, 'redis-cart', 'latency_p95');
      for (let t = ONSET_STEP; t < END_STEP; t++) assert.ok(rate[t] === 0 && Number.isNaN(lat[t]!), `down at ${t}`);
      assert.ok(rate[END_STEP]! > 0 && Number.isFinite(lat[END_STEP]!), 'back after the end');
      assert.ok(values(run.metrics, 'cart', 'error_rate')[ONSET_STEP + 1]! > 0.5, 'cart fails without its cache');
      assert.equal(values(run.metrics, 'cart', 'error_rate')[ONSET_STEP], values(base, 'cart', 'error_rate')[ONSET_STEP], 'but only one hop later');
    },
  },
  {
    name: 'dependency_outage on a queue: producer errors, consumer starves',
    topology: ss,
    fault: { type: 'dependency_outage', target: 'rabbitmq', onsetMs: ONSET_STEP * STEP, durationMs: 180 * STEP, severity: 1 },
    check: ({ run, gt }) => {
      assert.equal(values(run.metrics, 'queue-master', 'request_rate')[ONSET_STEP + 1], 0, 'queue-master gets no messages');
      const qm = gt.affected.find((a) => a.entity === 'queue-master')!;
      assert.ok(qm.hops === 1 && step(qm.onsetMs) === ONSET_STEP + 1, 'consumer one hop away');
      assert.ok(gt.affected.some((a) => a.entity === 'shipping' && a.metrics.includes('error_rate')), 'producer errors');
    },
  },
  {
    name: 'bad_deploy: a deploy marker, then errors and latency until rollback',
    topology: ob,
    fault: { type: 'bad_deploy', target: 'checkout', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base }) => {
      assert.ok(values(run.metrics, 'checkout', 'memory')[ONSET_STEP]! < values(base, 'checkout', 'memory')[ONSET_STEP]! * 0.9, 'restart signature');
      assert.ok(values(run.metrics, 'checkout', 'error_rate')[ONSET_STEP]! > values(base, 'checkout', 'error_rate')[ONSET_STEP]! + 0.03, 'errors');
      const marks = run.changes.filter((c) => c.entity === 'checkout' && c.atMs >= START + ONSET_STEP * STEP);
      assert.deepEqual(marks.map((c) => [c.kind, step(c.atMs)]).slice(0, 2), [['deploy', ONSET_STEP], ['rollback', END_STEP]]);
    },
  },
  {
    name: 'config_change (latency): a step in latency',
    topology: ob,
    fault: { type: 'config_change', target: 'productcatalog', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1, variant: 'latency' },
    check: ({ run, base, gt }) => {
      assert.equal(gt.rootMetric, 'latency_p95');
      assert.ok(values(run.metrics, 'productcatalog', 'latency_p95')[ONSET_STEP]! > values(base, 'productcatalog', 'latency_p95')[ONSET_STEP]! * 2, 'slower');
      assert.ok(run.changes.some((c) => c.kind === 'config_change' && c.entity === 'productcatalog' && step(c.atMs) === ONSET_STEP), 'change logged');
    },
  },
  {
    name: 'config_change (errors): a step in errors',
    topology: ob,
    fault: { type: 'config_change', target: 'cart', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1, variant: 'errors' },
    check: ({ run, base, gt }) => {
      assert.equal(gt.rootMetric, 'error_rate');
      assert.ok(values(run.metrics, 'cart', 'error_rate')[ONSET_STEP]! > values(base, 'cart', 'error_rate')[ONSET_STEP]! + 0.05, 'failing');
    },
  },
  {
    name: 'traffic_surge: entry rate jumps, load flows downstream a hop at a time',
    topology: ob,
    fault: { type: 'traffic_surge', target: 'frontend-external', onsetMs: ONSET_STEP * STEP, durationMs: 360 * STEP, severity: 1 },
    check: ({ run, base, gt }) => {
      const ratio = values(run.metrics, 'frontend-external', 'request_rate')[ONSET_STEP]! / values(base, 'frontend-external', 'request_rate')[ONSET_STEP]!;
      assert.ok(Math.abs(ratio - 4) < 1e-6, `x4 demand (${ratio})`);
      assert.equal(step(gt.affected.find((a) => a.entity === 'frontend')!.onsetMs), ONSET_STEP + 1);
      assert.equal(step(gt.affected.find((a) => a.entity === 'payment')!.onsetMs), ONSET_STEP + 3);
      assert.ok(gt.affected.some((a) => a.hops >= 2 && a.metrics.includes('saturation')), 'saturation downstream');
    },
  },
];

describe('fault injection: acceptance per fault type', () => {
  it('covers every fault type', () => {
    assert.deepEqual([...new Set(CASES.map((c) => c.fault.type))].sort(), [...FAULT_TYPES].sort());
  });

  for (const c of CASES) {
    it(c.name, () => {
      const run = injectFaults(createMetricModel(c.topology, OPTS, SEED), [c.fault], { scenario: 'acceptance' });
      const base = generateMetrics(createMetricModel(c.topology, OPTS, SEED));
      const gt = run.groundTruth.faults[0]!;
      const type = c.fault.type as FaultType;
      // The ground truth says what the fault is.
      assert.equal(gt.id, 'f1');
      assert.equal(gt.type, type);
      assert.equal(gt.rootEntity, c.fault.target);
      assert.equal(gt.onsetMs, START + ONSET_STEP * STEP);
      const root = gt.affected[0]!;
      assert.equal(root.entity, c.fault.target);
      assert.equal(root.hops, 0);
      assert.equal(root.attenuation, 1);
      assert.equal(root.onsetMs, gt.onsetMs);
      assert.ok(root.metrics.includes(gt.rootMetric), `root metrics ${root.metrics.join(',')} include ${gt.rootMetric}`);
      assert.equal(gt.rootMetric, FAULT_CATALOG[type].rootMetric({ ...run.faults[0]! }));

      const first = firstDiffs(base, run.metrics);
      // Nothing moves before the onset; the root metric moves exactly at it.
      for (const [key, t] of first) assert.ok(t < 0 || t >= ONSET_STEP, `${key} changed at ${t}, before the onset ${ONSET_STEP}`);
      assert.equal(first.get(`${root.entity}/${gt.rootMetric}`), ONSET_STEP, `root metric ${gt.rootMetric} changes at the onset`);

      // Every affected entity changes first exactly at its recorded onset.
      for (const a of gt.affected) {
        const entityFirst = Math.min(...[...first].filter(([k, t]) => k.startsWith(`${a.entity}/`) && t >= 0).map(([, t]) => t));
        assert.equal(entityFirst, step(a.onsetMs), `${a.entity}: first change at ${entityFirst}, ground truth says ${step(a.onsetMs)}`);
        assert.ok(a.metrics.length > 0, `${a.entity} lists the metrics that moved`);
        assert.ok(a.entity === root.entity ? a.hops === 0 : a.hops >= 1, `${a.entity} hops ${a.hops}`);
      }
      for (let k = 1; k < gt.affected.length; k++) assert.ok(gt.affected[k]!.onsetMs >= gt.affected[k - 1]!.onsetMs, 'affected ordered by onset');

      // Callers (upstream of the root) change strictly later than the root, one hop at least.
      const g = buildTopologyGraph(c.topology);
      const rootIdx = g.workloads.findIndex((n) => n.name === root.entity);
      for (const a of gt.affected) {
        const i = g.workloads.findIndex((n) => n.name === a.entity);
        if (i < 0 || i === rootIdx) continue;
        if (rootIdx >= 0 && downstreamOf(g, i).has(rootIdx)) {
          assert.ok(step(a.onsetMs) >= ONSET_STEP + 1, `caller ${a.entity} changes at ${step(a.onsetMs)}, not before onset + 1 hop`);
        }
      }
      c.check?.({ run, base, gt });
    });
  }
});

describe('fault injection: ground truth is exact and complete', () => {
  it('entities left out of the affected set never moved materially (noise-free run)', () => {
    const opts = { ...OPTS, noise: 0 };
    for (const fault of [CASES[0]!.fault, CASES[3]!.fault, CASES[6]!.fault, CASES[11]!.fault]) {
      const model = createMetricModel(ob, opts, SEED);
      const run = injectFaults(model, [fault]);
      const base = generateMetrics(createMetricModel(ob, opts, SEED));
      const gt = run.groundTruth.faults[0]!;
      const affected = new Set(gt.affected.map((a) => a.entity));
      run.metrics.series.forEach((s, k) => {
        const d = diffSeries(base.series[k]!.values, s.values, changeFloor(s.metric, s.nodeId.startsWith('host:')));
        if (!affected.has(s.entity)) assert.ok(d.peakRel < 0.02, `${fault.type}: ${s.entity}/${s.metric} moved ${d.peakRel} but is not affected`);
        const listed = gt.affected.find((a) => a.entity === s.entity)?.metrics.includes(s.metric) ?? false;
        if (listed && s.entity !== gt.rootEntity) assert.ok(d.peakRel >= 0.02, `${s.entity}/${s.metric} listed but moved ${d.peakRel}`);
      });
    }
  });

  it('handles concurrent faults: overlapping neighbours and an unrelated one', () => {
    const faults: FaultInput[] = [
      { id: 'delay-currency', type: 'network_delay', target: 'currency', onsetMs: 360 * STEP, durationMs: 360 * STEP, severity: 1 },
      { id: 'errors-payment', type: 'error_injection', target: 'payment', onsetMs: 540 * STEP, durationMs: 180 * STEP, severity: 1 },
      { id: 'hog-ad', type: 'cpu_hog', target: 'ad', onsetMs: 600 * STEP, durationMs: 200 * STEP, severity: 2 },
    ];
    const run = injectFaults(createMetricModel(ob, OPTS, SEED), faults, { scenario: 'concurrent' });
    const base = generateMetrics(createMetricModel(ob, OPTS, SEED));
    assert.deepEqual(run.groundTruth.faults.map((f) => f.id), ['delay-currency', 'errors-payment', 'hog-ad']);
    assert.equal(run.groundTruth.scenario, 'concurrent');
    assert.equal(run.groundTruth.seed, SEED);
    const first = firstDiffs(base, run.metrics);
    for (const f of run.groundTruth.faults) {
      assert.equal(first.get(`${f.rootEntity}/${f.rootMetric}`), step(f.onsetMs), `${f.id} root metric at its onset`);
    }
    const names = (id: string): Set<string> => new Set(run.groundTruth.faults.find((f) => f.id === id)!.affected.map((a) => a.entity));
    assert.ok(names('delay-currency').has('checkout') && names('errors-payment').has('checkout'), 'neighbours share their caller');
    assert.ok(!names('hog-ad').has('currency') && !names('hog-ad').has('payment'), 'the unrelated fault stays in its part');
    assert.ok(!names('errors-payment').has('currency'), 'a sibling is not affected');
    // Overlapping windows: the second fault starts inside the first.
    const [a, b] = run.groundTruth.faults;
    assert.ok(b!.onsetMs > a!.onsetMs && b!.onsetMs < a!.endMs, 'overlap');
    assert.deepEqual(run.groundTruth.benign, createMetricModel(ob, OPTS, SEED).benign);
  });

  it('is deterministic', () => {
    const fault = CASES[1]!.fault;
    const a = injectFaults(createMetricModel(ob, OPTS, SEED), [fault]);
    const b = injectFaults(createMetricModel(ob, OPTS, SEED), [fault]);
    assert.deepEqual(a.groundTruth, b.groundTruth);
    assert.equal(firstDiffs(a.metrics, b.metrics).size, a.metrics.series.length);
    assert.ok([...firstDiffs(a.metrics, b.metrics).values()].every((t) => t === -1), 'identical metrics');
  });

  it('runs the baseline core once per call and leaves fault-free metrics alone', () => {
    const model = createMetricModel(ob, OPTS, SEED);
    const run = injectFaults(model, []);
    assert.deepEqual(run.groundTruth.faults, []);
    const base = simulateCore(model);
    assert.equal(run.metrics.series.find((s) => s.entity === 'cart' && s.metric === 'memory')!.values.length, base.length);
  });
});

describe('fault injection: errors', () => {
  const model = createMetricModel(ob, OPTS, SEED);
  const err = (code: string, re: RegExp) => (e: unknown): boolean => e instanceof FaultError && e.code === code && re.test(e.message);
  it('names the field and the bad value', () => {
    assert.throws(() => injectFaults(model, [{ type: 'cpu_hog', target: 'carts', onsetMs: 3_600_000, durationMs: 60_000 }]), err('UNKNOWN_TARGET', /faults\[0\]\.target "carts" is not a node of topology "online-boutique"/));
    assert.throws(() => injectFaults(model, [{ type: 'disk_fill', target: 'cart', onsetMs: 3_600_000, durationMs: 60_000 }]), err('BAD_TARGET', /faults\[0\]\.target "cart" is a Service; disk_fill needs a Host/));
    assert.throws(() => injectFaults(model, [{ type: 'cpu_hog', target: hostOf(ob, 'cart'), onsetMs: 3_600_000, durationMs: 60_000 }]), err('BAD_TARGET', /is a Host; cpu_hog needs a Service/));
    assert.throws(() => injectFaults(model, [{ type: 'cpu_hog', target: 'cart', onsetMs: 5 * HOUR, durationMs: 60_000 }]), err('OUT_OF_RANGE', /faults\[0\]\.onsetMs .*got 18000000/));
    assert.throws(() => injectFaults(model, [{ type: 'cpu_hog', target: 'cart', onsetMs: 60_000, durationMs: 60_000, severity: 0 }]), err('BAD_FAULT', /faults\[0\]\.severity .*\(got 0\)/));
    assert.throws(() => injectFaults(model, [{ type: 'cpu_burn', target: 'cart', onsetMs: 60_000, durationMs: 60_000 }]), err('BAD_FAULT', /faults\[0\]\.type .*\(got "cpu_burn"\)/));
    assert.throws(() => injectFaults(model, [{ type: 'cpu_hog', target: 'cart', onsetMs: 60_000, durationMs: 60_000, variant: 'errors' }]), err('BAD_FAULT', /faults\[0\]\.variant applies to config_change faults only/));
    const dup = { id: 'x', type: 'cpu_hog', target: 'cart', onsetMs: 60_000, durationMs: 60_000 } as const;
    assert.throws(() => injectFaults(model, [dup, dup]), err('BAD_FAULT', /faults\[1\]\.id "x" is already used by faults\[0\]/));
  });
});
