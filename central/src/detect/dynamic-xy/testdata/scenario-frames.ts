// Feature frames from a simulator scenario, as the edge agents would send them: the scenario's
// series (seeded, with its injected faults and exact ground truth), one agent per host, scored
// by the real Tier-1 detector (the WebAssembly build the agent runs) and aggregated into one
// feature row per series and window with the agent's flag rules (ANOMALY, LEVEL_SHIFT,
// BAND_BREACH when the value is outside the Tier-1 band, WARMING_UP). The simulator's step is
// the window (10 s), so each row holds one sample. Test-only.
import { FeatureFlags } from '../../../../../shared-schemas/src/index.js';
import type { Labels } from '../../../../../shared-schemas/src/index.js';
import { injectFaults } from '../../../../../simulators/faults/index.js';
import type { GroundTruth } from '../../../../../simulators/model/index.js';
import { loadScenarioFile, prepareScenario, shippedScenariosDir } from '../../../../../simulators/scenario/index.js';
import { createWasmTier1Sync, FLAG_ANOMALY, FLAG_LEVEL_SHIFT, FLAG_WARMUP } from '../../../../../wasm-detectors/src/index.js';
import type { IngestedFrame } from '../../../component.js';

export interface ScenarioFrames {
  frames: IngestedFrame[];
  groundTruth: GroundTruth;
  /** Series key `<entity>_<metric>` (the scorers' convention) of a label set. */
  seriesKey(labels: Labels): string;
  stepMs: number;
  startMs: number;
  seriesCount: number;
}

export interface ScenarioOverrides {
  /** Measurement noise 0..5. */
  noise?: number;
  /** Run length, ms (a multiple of the step). */
  durationMs?: number;
  /** Moves every fault's onset by this much, ms (longer history before the fault). */
  shiftFaultsMs?: number;
}

/** Runs a shipped scenario in memory (nothing written) and builds its frames in time order. */
export async function scenarioFrames(name: string, overrides: ScenarioOverrides = {}, tenant = 'sim'): Promise<ScenarioFrames> {
  const loaded = await loadScenarioFile(`${shippedScenariosDir()}/${name}.yaml`);
  const shift = overrides.shiftFaultsMs ?? 0;
  const scenario = {
    ...loaded,
    noise: overrides.noise ?? loaded.noise,
    durationMs: overrides.durationMs ?? loaded.durationMs,
    faults: loaded.faults.map((f) => ({ ...f, onsetMs: f.onsetMs + shift })),
  };
  const { model, topology } = prepareScenario(scenario);
  const run = injectFaults(model, scenario.faults, { scenario: scenario.name, minEffect: scenario.minEffect });
  const m = run.metrics;
  const hostOf = new Map<string, string>();
  const nameOf = new Map(topology.nodes.map((n) => [n.id, n.name]));
  for (const e of topology.edges) if (e.kind === 'RUNS_ON') hostOf.set(e.from, nameOf.get(e.to) ?? e.to);

  const n = m.series.length;
  const labels: Labels[] = m.series.map((s) => {
    const host = s.nodeId.startsWith('host:') ? s.entity : (hostOf.get(s.nodeId) ?? 'unknown');
    const l: Labels = s.nodeId.startsWith('host:') ? { __name__: `host_${s.metric}`, host } : { __name__: s.metric, host, service: s.entity };
    return Object.freeze(l);
  });
  const keys = new Map<Labels, string>(labels.map((l, i) => [l, `${m.series[i]!.entity}_${m.series[i]!.metric}`]));

  const tier1 = createWasmTier1Sync({ maxSeries: n, batchCapacity: n, config: {} });
  const ids = Uint32Array.from({ length: n }, (_, i) => i);
  const values = new Float64Array(n);
  const times = new Float64Array(n);
  const frames: IngestedFrame[] = [];
  const sequence = new Map<string, number>();
  for (let t = 0; t < m.length; t++) {
    const startMs = m.startMs + t * m.stepMs;
    // NaN = no sample: such a series sends no row (Tier-1 is fed only real samples).
    let k = 0;
    const present: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = m.series[i]!.values[t]!;
      if (Number.isNaN(v)) continue;
      ids[k] = i;
      values[k] = v;
      times[k] = startMs;
      present.push(i);
      k++;
    }
    const out = tier1.process(ids, values, times, k);
    const byHost = new Map<string, IngestedFrame['rows']>();
    for (let j = 0; j < k; j++) {
      const i = present[j]!;
      const v = values[j]!;
      const f = out.flags[j]!;
      const lo = out.lower[j]!;
      const hi = out.upper[j]!;
      let flags = 0;
      if (f & FLAG_ANOMALY) flags |= FeatureFlags.ANOMALY;
      if (f & FLAG_LEVEL_SHIFT) flags |= FeatureFlags.LEVEL_SHIFT;
      if (f & FLAG_WARMUP) flags |= FeatureFlags.WARMING_UP;
      if (Number.isFinite(lo) && Number.isFinite(hi) && (v < lo || v > hi)) flags |= FeatureFlags.BAND_BREACH;
      const l = labels[i]!;
      const host = l['host']!;
      let rows = byHost.get(host);
      if (rows === undefined) byHost.set(host, (rows = []));
      rows.push({ labels: l, row: { count: 1, min: v, max: v, mean: v, std: NaN, last: v, p50: v, p95: v, tier1MaxScore: out.scores[j]!, flags, bandLower: lo, bandUpper: hi } });
    }
    for (const [host, rows] of byHost) {
      const seq = (sequence.get(host) ?? 0) + 1;
      sequence.set(host, seq);
      frames.push({ tenant, agentId: `agent-${host}`, sequence: seq, windowStartMs: startMs, windowEndMs: startMs + m.stepMs, rows });
    }
  }
  return { frames, groundTruth: run.groundTruth, seriesKey: (l) => keys.get(l) ?? `${l['service'] ?? l['host']}_${l['__name__']}`, stepMs: m.stepMs, startMs: m.startMs, seriesCount: n };
}
