// Labelled alert streams for correlation tests and benchmarks: a scenario simulated in memory
// and its alert storm, and the storm as the JSON lines `npm run correlate` reads (the hidden
// `sim_fault` label removed: it is the answer, not an input). Streams can be repeated back to
// back (storm seeds varied) to reach a size, e.g. the 20,000-alert replay of issue #8.
import { HIDDEN_FAULT_LABEL } from '../model/index.js';
import type { TopologyDocument } from '../model/index.js';
import { injectFaults } from '../faults/index.js';
import { prepareScenario } from '../scenario/index.js';
import type { Scenario } from '../scenario/index.js';
import { generateAlertStorm } from './storm.js';
import type { AlertStormStats, StormAlert } from './storm.js';
import { goTime } from './webhook.js';

export interface LabelledAlertStream {
  name: string;
  topology: TopologyDocument;
  /** By startsAt; each with its truth (faultId). Times shifted by the repeat offsets. */
  alerts: StormAlert[];
  stats: AlertStormStats[];
  /** Time the stream spans (the scenario's duration times the repeats). */
  durationMs: number;
}

/**
 * Simulates `scenario` and generates its storm with `alerts` options (the scenario's own
 * `alerts:` section when omitted). With `repeat` > 1 the storm is generated again with seeds
 * seed+1, seed+2... and each copy shifted by one scenario duration, so it follows the last.
 */
export function scenarioAlertStream(scenario: Scenario, alerts?: Record<string, unknown>, repeat = 1): LabelledAlertStream {
  const { topology, model } = prepareScenario(scenario);
  const run = injectFaults(model, scenario.faults, { scenario: scenario.name, minEffect: scenario.minEffect });
  const options = { ...(scenario.alerts ?? {}), ...(alerts ?? {}) } as Record<string, unknown>;
  const base = typeof options['seed'] === 'number' ? options['seed'] : scenario.seed;
  const out: StormAlert[] = [];
  const stats: AlertStormStats[] = [];
  for (let r = 0; r < repeat; r++) {
    const storm = generateAlertStorm(run.metrics, run.groundTruth, topology, { ...options, seed: (base + r) >>> 0 });
    const shift = r * scenario.durationMs;
    for (const a of storm.alerts) {
      out.push({
        ...a,
        activeAtMs: a.activeAtMs + shift,
        startsAtMs: a.startsAtMs + shift,
        endsAtMs: a.endsAtMs === null ? null : a.endsAtMs + shift,
        // fault ids are per copy: the same fault in two copies is two incidents' worth of truth
        faultId: a.faultId === 'none' || r === 0 ? a.faultId : `${a.faultId}#${r}`,
      });
    }
    stats.push(storm.stats);
  }
  return { name: scenario.name, topology, alerts: out, stats, durationMs: scenario.durationMs * repeat };
}

/** One `npm run correlate` input line per alert: startsAt, endsAt when it ended, labels without the truth, annotations. */
export function correlateInputLines(alerts: readonly StormAlert[]): string[] {
  return alerts.map((a) => {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(a.labels)) if (k !== HIDDEN_FAULT_LABEL) labels[k] = v;
    return JSON.stringify({ startsAt: goTime(a.startsAtMs), ...(a.endsAtMs !== null ? { endsAt: goTime(a.endsAtMs) } : {}), labels, annotations: a.annotations });
  });
}
