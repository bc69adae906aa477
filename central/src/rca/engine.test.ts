import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { rcaConfig } from './config.js';
import { analyze } from './engine.js';
import { mulberry32 } from '../../../shared-schemas/src/runtime/index.js';
import type { RcaCase, RcaSeries, RcaTopology } from './frame.js';
import { rankCauses } from './methods.js';
import { CHAIN, chainSeries, chainTopology, STEP_MS, synthCase, T0 } from './testdata/synth.js';

const ROWS = 240; // 40 minutes of 10-second rows
const ONSET = 200; // the fault's row
const CFG_IN = { before: 1_800_000, after: 300_000 };
const cfg = rcaConfig(CFG_IN);

/** A step up of `size` from the row `hops` after the onset (one row per hop). */
const step = (size: number, hops = 0) => [{ from: ONSET + hops, add: () => size }];

describe('rca engine', () => {
  it('a delay at the end of a call chain is ranked first, its callers explained away (onset order along the topology)', () => {
    // payment slows down; checkout (its caller) one row later, frontend two rows later - by more,
    // so the robust baselines rank the symptoms first.
    const c = synthCase(ROWS, ONSET, chainSeries((e, m) => (m !== 'latency-95' ? undefined : e === 'payment' ? step(0.1) : e === 'checkout' ? step(0.12, 1) : e === 'frontend' ? step(0.15, 2) : undefined)), chainTopology());
    const r = analyze(c, cfg);
    assert.equal(r.causes[0]!.entity, 'payment');
    assert.equal(r.causes[0]!.metric, 'latency-95');
    assert.equal(r.causes[0]!.onsetMs, T0 + ONSET * STEP_MS);
    assert.ok(r.causes[0]!.probability > r.causes[1]!.probability);
    assert.match(r.causes[0]!.evidence.join('\n'), /its deviation explains .*checkout/);
    const checkout = r.causes.find((x) => x.entity === 'checkout')!;
    assert.match(checkout.evidence.join('\n'), /explained in part by payment latency-95/);
    // BARO ranks frontend (the largest deviation) first on the same case.
    assert.equal(rankCauses('baro', c, cfg).causes[0]!.entity, 'frontend');
  });

  it('a traffic surge is traced to where the load enters (load travels to callees)', () => {
    const c = synthCase(ROWS, ONSET, chainSeries((e, m) => (m === 'workload' && e !== 'db' ? step(e === 'frontend' ? 150 : 300, CHAIN.indexOf(e as never)) : undefined)), chainTopology());
    assert.equal(analyze(c, cfg).causes[0]!.entity, 'frontend');
  });

  it('a service burning CPU is the cause, and its CPU is the metric that moved (its own latency explained by it)', () => {
    const c = synthCase(ROWS, ONSET, chainSeries((e, m) => (e === 'checkout' && m === 'cpu' ? step(0.5) : (e === 'checkout' || e === 'frontend') && m === 'latency-95' ? step(0.4, e === 'checkout' ? 0 : 1) : e === 'host-1' && m === 'cpu' ? step(0.1) : undefined)), chainTopology());
    const top = analyze(c, cfg).causes[0]!;
    assert.equal(top.entity, 'checkout');
    assert.equal(top.metric, 'cpu');
  });

  it('rules answer with certainty: a disk past the threshold, a dependency that stopped reporting, an OOM kill', () => {
    const disk = synthCase(ROWS, ONSET, chainSeries((e, m) => (e === 'host-1' && m === 'disk' ? [{ from: ONSET - 5, add: (k) => Math.min(0.49, k * 0.02) }] : m === 'latency-95' ? step(0.05, 1) : undefined)), chainTopology());
    const d = analyze(disk, cfg).causes[0]!;
    assert.equal(d.entity, 'host-1');
    assert.equal(d.method, 'rule:disk_full');
    assert.ok(d.probability > 0.9);
    assert.match(d.evidence[0]!, /disk reached 9\d\.\d%/);

    const spec = chainSeries((e, m) => (e !== 'db' && m === 'error' ? step(0.2, 1) : undefined)).map((s) => (s.entity === 'db' ? { ...s, gaps: { from: ONSET, to: ROWS } } : s));
    const down = analyze(synthCase(ROWS, ONSET, spec, chainTopology()), cfg).causes[0]!;
    assert.equal(down.entity, 'db');
    assert.equal(down.method, 'rule:dependency_down');
    assert.match(down.evidence.join('\n'), /db stopped reporting/);

    const oomSpec = [...chainSeries((e, m) => (e === 'frontend' && m === 'latency-95' ? step(0.2, 2) : undefined)), { entity: 'payment', metric: 'mem', base: 1e8, noise: 0.01, shifts: [{ from: ONSET - 10, add: (k: number) => (k < 25 ? k * 2e7 : -0.8e8) }] }];
    const oom = analyze(synthCase(ROWS, ONSET, oomSpec, chainTopology()), cfg).causes[0]!;
    assert.equal(oom.entity, 'payment');
    assert.equal(oom.method, 'rule:oom_kill');
  });

  it('a recent deploy raises the prior of the changed service (evidence says so)', () => {
    // Two services deviate alike at once; the deploy decides.
    const c = synthCase(ROWS, ONSET, chainSeries((e, m) => (m === 'error' && (e === 'payment' || e === 'db') ? step(0.05) : undefined)), { dependsOn: new Map(), hosts: new Set() });
    const withChange: RcaCase = { ...c, changes: [{ atMs: T0 + (ONSET - 3) * STEP_MS, entity: 'payment', kind: 'deploy', description: 'v2.3.1' }] };
    const top = analyze(withChange, cfg).causes[0]!;
    assert.equal(top.entity, 'payment');
    assert.match(top.evidence.join('\n'), /prior: deploy at .*v2\.3\.1/);
    const other: RcaCase = { ...c, changes: [{ atMs: T0 + (ONSET - 3) * STEP_MS, entity: 'db', kind: 'deploy' }] };
    assert.equal(analyze(other, cfg).causes[0]!.entity, 'db');
  });

  it('a candidate no chain of deviating dependencies links to the focus keeps only a fraction of its weight', () => {
    const spec = chainSeries((e, m) => (m === 'latency-95' && (e === 'payment' || e === 'checkout' || e === 'frontend') ? step(0.1, e === 'payment' ? 0 : 1) : undefined));
    spec.push({ entity: 'batch', metric: 'latency-95', base: 0.05, noise: 0.05, shifts: step(0.5) });
    const c = { ...synthCase(ROWS, ONSET, spec, chainTopology()), focus: ['frontend'] };
    const r = analyze(c, cfg);
    assert.equal(r.causes[0]!.entity, 'payment');
    assert.match(r.causes.find((x) => x.entity === 'batch')!.evidence.join('\n'), /no chain of deviating dependencies/);
    // Without a focus the unrelated, larger deviation wins.
    assert.equal(analyze({ ...c, focus: [] }, cfg).causes[0]!.entity, 'batch');
  });

  describe('the causal DAG: Granger tests prune and orient the topology\'s edges where they have power', () => {
    // A fault whose fluctuations travel: each affected service repeats its driver's wiggle one
    // row later (what real propagation looks like, and what Granger tests see).
    const rnd = mulberry32(5);
    const w = Array.from({ length: ROWS }, () => rnd() - 0.5);
    const travel = (size: number, lag: number, amp = 0.03) => [{ from: ONSET + lag, add: (k: number) => size + amp * w[k]! }];
    /** payment drives checkout (one row later), which drives frontend. */
    const paymentFault = chainSeries((e, m) => (m !== 'latency-95' ? undefined : e === 'payment' ? travel(0.1, 0) : e === 'checkout' ? travel(0.12, 1) : e === 'frontend' ? travel(0.15, 2) : undefined));
    /** The declared topology with the checkout-payment edge backwards (payment said to call checkout). */
    const backwards = (): RcaTopology => ({
      dependsOn: new Map([
        ['frontend', ['checkout', 'host-1']],
        ['payment', ['checkout', 'db', 'host-1']],
        ['checkout', ['host-1']],
        ['db', ['host-1']],
      ]),
      hosts: new Set(['host-1']),
    });

    it('orients an edge declared backwards: the service the data show moving first is the cause, the evidence says why', () => {
      const c: RcaCase = { ...synthCase(ROWS, ONSET, paymentFault, backwards()), focus: ['frontend'] };
      const r = analyze(c, cfg);
      assert.equal(r.causes[0]!.entity, 'payment');
      const checkout = r.causes.find((x) => x.entity === 'checkout')!.evidence.join('\n');
      assert.match(checkout, /explained in part by payment latency-95, which deviated from \S+ \(Granger p=/);
      assert.match(checkout, /the Granger tests orient the topology edge between checkout and payment from payment to checkout/);
      assert.match(r.causes[0]!.evidence.join('\n'), /reached from frontend -> checkout -> payment/, 'the oriented edge joins the chain from the focus');
      // The topology alone blames checkout (it has no dependency that moved first) ...
      assert.equal(analyze(c, rcaConfig({ ...CFG_IN, granger: { enabled: false } })).causes[0]!.entity, 'checkout');
      // ... and so do the tests when they lack the rows to overrule it.
      assert.equal(analyze(c, rcaConfig({ ...CFG_IN, granger: { min_rows: 10_000 } })).causes[0]!.entity, 'checkout');
    });

    it('prunes a candidate edge the data run the other way: a dependency that moved with the service but follows it', () => {
      // checkout drives payment: both step at the fault's row, payment repeats checkout's wiggle a row later.
      const spec = chainSeries((e, m) => (m !== 'latency-95' ? undefined : e === 'checkout' ? travel(0.2, 0) : e === 'payment' ? [{ from: ONSET, add: (k: number) => 0.1 + 0.03 * (k > 0 ? w[k - 1]! : 0) }] : e === 'frontend' ? travel(0.25, 1) : undefined));
      const c = synthCase(ROWS, ONSET, spec, chainTopology());
      const r = analyze(c, cfg);
      assert.equal(r.causes[0]!.entity, 'checkout');
      assert.match(r.causes[0]!.evidence.join('\n'), /not explained by payment latency-95: the Granger tests run from checkout to payment \(p=[^)]+\), not back/);
      // Without the tests, payment (a dependency that moved no later) explains checkout away.
      assert.equal(analyze(c, rcaConfig({ ...CFG_IN, granger: { enabled: false } })).causes[0]!.entity, 'payment');
    });

    it('a correct topology is left as it is', () => {
      const r = analyze(synthCase(ROWS, ONSET, paymentFault, chainTopology()), cfg);
      assert.equal(r.causes[0]!.entity, 'payment');
      assert.doesNotMatch(r.causes.flatMap((x) => x.evidence).join('\n'), /orient the topology edge|not explained by/);
    });
  });

  it('a deviation already present where the onset search begins is a standing condition', () => {
    const spec = chainSeries((e, m) => (e === 'payment' && m === 'latency-95' ? step(0.1) : e === 'db' && m === 'latency-95' ? [{ from: 150, add: () => 0.3 }] : undefined));
    const r = analyze(synthCase(ROWS, ONSET, spec, { dependsOn: new Map(), hosts: new Set() }), cfg);
    assert.equal(r.causes[0]!.entity, 'payment');
    assert.match(r.causes.find((x) => x.entity === 'db')!.evidence.join('\n'), /standing condition that did not change during the incident/);
  });

  it('a standing condition that did not change is outranked by anything that moved at the onset, however large it is', () => {
    // db has been 50 interquartile ranges off since before the onset search; payment moves a little at the onset.
    const standing = [{ from: 150, add: () => 2 }];
    const spec = chainSeries((e, m) => (e === 'payment' && m === 'latency-95' ? step(0.02) : e === 'db' && m === 'latency-95' ? standing : undefined));
    const flat = analyze(synthCase(ROWS, ONSET, spec, { dependsOn: new Map(), hosts: new Set() }), cfg);
    assert.equal(flat.causes[0]!.entity, 'payment');
    // The same condition growing during the incident is evidence again (discounted as standing, not capped).
    const growing = chainSeries((e, m) => (e === 'payment' && m === 'latency-95' ? step(0.02) : e === 'db' && m === 'latency-95' ? [...standing, { from: ONSET, add: () => 2 }] : undefined));
    const r = analyze(synthCase(ROWS, ONSET, growing, { dependsOn: new Map(), hosts: new Set() }), cfg);
    assert.equal(r.causes[0]!.entity, 'db');
    assert.doesNotMatch(r.causes[0]!.evidence.join('\n'), /did not change/);
    // Nor does it explain a deviation that began during the incident: db is payment's dependency.
    const chained = analyze(synthCase(ROWS, ONSET, spec, chainTopology()), cfg);
    assert.equal(chained.causes[0]!.entity, 'payment');
    assert.doesNotMatch(chained.causes[0]!.evidence.join('\n'), /explained in part by db/);
  });

  it('an endpoint seen only through its callers (a load balancer\'s client-side view) is explained by the instrumented service that moved with it', () => {
    // frontend calls the search load balancer and search; no edge links the two. The balancer's
    // view moves more than search's own latency.
    const spec = chainSeries((e, m) => (m === 'latency-95' && e === 'checkout' ? step(0.1) : m === 'latency-95' && e === 'frontend' ? step(0.1, 1) : undefined));
    spec.push({ entity: 'lb_remote', metric: 'latency-95', base: 0.05, noise: 0.05, shifts: step(0.3) });
    const topology: RcaTopology = { ...chainTopology(), dependsOn: new Map([...chainTopology().dependsOn, ['frontend', ['checkout', 'lb_remote', 'host-1']]]) };
    const c: RcaCase = { ...synthCase(ROWS, ONSET, spec, topology), focus: ['frontend'] };
    assert.equal(analyze(c, cfg).causes[0]!.entity, 'lb_remote', 'as an instrumented service, the larger deviation wins');
    const r = analyze({ ...c, topology: { ...topology, observed: new Set(['lb_remote']) } }, cfg);
    assert.equal(r.causes[0]!.entity, 'checkout');
    assert.match(r.causes.find((x) => x.entity === 'lb_remote')!.evidence.join('\n'), /explained in part by checkout latency-95/);
  });

  it('never reads a value at or after detection + after (no peeking), whatever the frame holds', () => {
    const c = synthCase(ROWS, ONSET, chainSeries((e, m) => (e === 'payment' && m === 'latency-95' ? step(0.1) : undefined)), chainTopology());
    const after = 60_000;
    const limit = ONSET + after / STEP_MS; // first row the engine may not read
    let maxRead = -1;
    const watched: RcaCase = {
      ...c,
      frame: {
        timesMs: c.frame.timesMs,
        series: c.frame.series.map((s): RcaSeries => ({
          ...s,
          values: new Proxy(s.values as Float64Array, {
            get(target, prop, receiver) {
              if (typeof prop === 'string' && /^\d+$/.test(prop)) maxRead = Math.max(maxRead, Number(prop));
              return Reflect.get(target, prop, receiver) as unknown;
            },
          }),
        })),
      },
    };
    for (const method of ['ours', 'baro', 'nsigma'] as const) {
      maxRead = -1;
      rankCauses(method, watched, rcaConfig({ after }));
      assert.ok(maxRead >= 0, `${method} read something`);
      assert.ok(maxRead < limit, `${method} read row ${maxRead}, at or after the limit ${limit}`);
    }
    // And the result does not change when everything after the limit is replaced by garbage.
    const poisoned: RcaCase = { ...c, frame: { timesMs: c.frame.timesMs, series: c.frame.series.map((s) => ({ ...s, values: Float64Array.from(s.values as Float64Array, (v, i) => (i >= limit ? (s.entity === 'db' ? 1e9 : NaN) : v)) })) } };
    assert.deepEqual(analyze(poisoned, rcaConfig({ after })), analyze(c, rcaConfig({ after })));
  });

  it('ranks every entity once, probabilities summing to one; an empty frame ranks nothing', () => {
    const c = synthCase(ROWS, ONSET, chainSeries((e, m) => (e === 'payment' && m === 'error' ? step(0.1) : undefined)), chainTopology());
    const r = analyze(c, cfg);
    assert.deepEqual(new Set(r.causes.map((x) => x.entity)).size, r.causes.length);
    assert.equal(r.causes.length, 5);
    assert.ok(Math.abs(r.causes.reduce((s, x) => s + x.probability, 0) - 1) < 1e-9);
    assert.equal(r.metrics[0]!.entity, r.causes[0]!.entity, 'metric ranking follows the cause ranking');
    const empty = analyze({ frame: { timesMs: new Float64Array(0), series: [] }, detectedAtMs: T0 }, cfg);
    assert.deepEqual(empty.causes, []);
  });
});
