// Which injected fault caused an alert: the value of its hidden `sim_fault` label.
//
// An alert is caused by fault f when the alert's entity (its `service`, `host` or `instance`
// label) is in f's affected set and the alert fired (startsAt) within
// [onset of f at that entity, f.endMs + settle]. The entity's own onset is used (the root's is
// the fault's onset; downstream entities are reached later), so an alert that fired before the
// effect arrived is not blamed on the fault.
//
// Overlaps: when several faults qualify, the one whose effect reached the entity most recently
// at or before the firing wins (the latest change at the entity is the likeliest trigger); ties
// go to the fault still active at the firing over one in its settle period, then to fewer hops
// from the root, then to the smaller fault id (code point order). Alerts with no entity label,
// alerts on unaffected entities, alerts outside every window, and alerts during benign events
// (deploys, level shifts are not causes) get "none". Injected noise alerts are "none" by
// construction.
import { compareCodePoints } from '../../shared-schemas/src/index.js';
import type { GroundTruth } from '../model/index.js';

export const NO_FAULT = 'none';

/** The entity an alert is about: its service, host or instance label. */
export function alertEntity(labels: Readonly<Record<string, string>>): string | undefined {
  return labels['service'] ?? labels['host'] ?? labels['instance'];
}

/** The id of the fault that caused an alert on `entity` that fired at `firedAtMs`, or "none". */
export function attributeFault(entity: string | undefined, firedAtMs: number, truth: GroundTruth, settleMs: number): string {
  if (entity === undefined) return NO_FAULT;
  let best: { id: string; onset: number; active: boolean; hops: number } | undefined;
  for (const f of truth.faults) {
    if (firedAtMs > f.endMs + settleMs) continue;
    for (const a of f.affected) {
      if (a.entity !== entity || firedAtMs < a.onsetMs) continue;
      const c = { id: f.id, onset: a.onsetMs, active: firedAtMs <= f.endMs, hops: a.hops };
      if (
        !best ||
        c.onset > best.onset ||
        (c.onset === best.onset && c.active && !best.active) ||
        (c.onset === best.onset && c.active === best.active && c.hops < best.hops) ||
        (c.onset === best.onset && c.active === best.active && c.hops === best.hops && compareCodePoints(c.id, best.id) < 0)
      ) {
        best = c;
      }
    }
  }
  return best ? best.id : NO_FAULT;
}
