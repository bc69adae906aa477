import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { close, throwsEval } from './eval-assert.js';
import { incidentFaultsFromAlerts, scoreRemediation, type RemediationInput } from './index.js';

// Four faults; incident I1 covers f1 and f2, I9 covers nothing, "noise" has no entry.
//   f1 [1000, 5000]: detected 1100 (f1@1100 beats I1@1200), acted 1500 (I1), mitigated 2000
//                    (f1@2000 beats I1@2500)                 -> TTD 100, TTA 500, TTM 1000
//   f2 [2000, 3000]: I1's action at 1500 and detection at 1200 precede its onset and do not
//                    apply; I1's mitigation at 2500 does; detected 2100, acted 2200
//                                                            -> TTD 100, TTA 200, TTM 500
//   f3 [4000, 9000]: acted 8000, mitigated 9500 after its end -> TTA 4000, TTM 5500 (late)
//   f4 [6000, 7000]: its only mitigation (5000) and detection (5000) precede the onset -> none
// Spurious: remediations "noise" and f4@5000; detections I9@50 and f4@5000.
const INPUT: RemediationInput = {
  faults: [
    { id: 'f1', onsetMs: 1000, endMs: 5000 },
    { id: 'f2', onsetMs: 2000, endMs: 3000 },
    { id: 'f3', onsetMs: 4000, endMs: 9000 },
    { id: 'f4', onsetMs: 6000, endMs: 7000 },
  ],
  incidentFaults: { I1: ['f1', 'f2'], I9: [] },
  remediations: [
    { incidentId: 'I1', actionMs: 1500, mitigatedMs: 2500 },
    { faultId: 'f2', actionMs: 2200 },
    { faultId: 'f3', actionMs: 8000, mitigatedMs: 9500 },
    { incidentId: 'noise', actionMs: 100 },
    { faultId: 'f4', mitigatedMs: 5000 },
    { faultId: 'f1', mitigatedMs: 2000 },
  ],
  detections: [
    { incidentId: 'I1', atMs: 1200 },
    { faultId: 'f2', atMs: 2100 },
    { faultId: 'f1', atMs: 1100 },
    { incidentId: 'I9', atMs: 50 },
    { faultId: 'f4', atMs: 5000 },
  ],
};

describe('remediation scoring', () => {
  test('per fault: earliest applying detection, action and mitigation', () => {
    const s = scoreRemediation(INPUT);
    assert.deepEqual(
      s.perFault.map((f) => [f.id, f.timeToDetectMs, f.timeToActMs, f.timeToMitigateMs, f.mitigated, f.mitigatedAfterEnd]),
      [
        ['f1', 100, 500, 1000, true, false],
        ['f2', 100, 200, 500, true, false],
        ['f3', null, 4000, 5500, true, true],
        ['f4', null, null, null, false, false],
      ],
    );
    assert.deepEqual(
      s.perFault.map((f) => [f.detectedMs, f.firstActionMs, f.mitigatedMs]),
      [
        [1100, 1500, 2000],
        [2100, 2200, 2500],
        [null, 8000, 9500],
        [null, null, null],
      ],
    );
  });

  test('summary: counts, spurious events, mean/median/p95', () => {
    const s = scoreRemediation(INPUT);
    assert.equal(s.options.lateMitigation, 'count');
    assert.deepEqual(
      [s.faults, s.detected, s.acted, s.mitigated, s.unmitigated, s.mitigatedAfterEnd, s.spuriousRemediations, s.spuriousDetections],
      [4, 2, 3, 3, 1, 1, 2, 2],
    );
    assert.equal(s.mitigationRate, 0.75);
    assert.deepEqual({ ...s.timeToDetect }, { count: 2, mean: 100, median: 100, p95: 100, min: 100, max: 100 });
    // TTA sorted [200, 500, 4000]: mean 4700/3, median 500, p95: h = 1.9 -> 500 + 0.9 * 3500 = 3650.
    close(s.timeToAct.mean, 4700 / 3, 'TTA mean', 1e-9);
    assert.equal(s.timeToAct.median, 500);
    close(s.timeToAct.p95, 3650, 'TTA p95', 1e-9);
    // TTM sorted [500, 1000, 5500]: mean 7000/3, median 1000, p95 = 1000 + 0.9 * 4500 = 5050, max 5500.
    close(s.timeToMitigate.mean, 7000 / 3, 'TTM mean', 1e-9);
    assert.equal(s.timeToMitigate.median, 1000);
    close(s.timeToMitigate.p95, 5050, 'TTM p95', 1e-9);
    assert.equal(s.timeToMitigate.max, 5500);
    assert.equal(s.timeToMitigate.count, 3);
  });

  test("lateMitigation 'unmitigated': a mitigation after the fault's end does not count", () => {
    const s = scoreRemediation(INPUT, { lateMitigation: 'unmitigated' });
    const f3 = s.perFault[2]!;
    assert.deepEqual([f3.mitigated, f3.mitigatedAfterEnd, f3.mitigatedMs, f3.timeToMitigateMs], [false, true, 9500, null]);
    assert.deepEqual([s.mitigated, s.unmitigated, s.mitigatedAfterEnd], [2, 2, 1]);
    // TTM [500, 1000]: mean 750, median 750, p95 = 500 + 0.95 * 500 = 975.
    assert.deepEqual({ ...s.timeToMitigate }, { count: 2, mean: 750, median: 750, p95: 975, min: 500, max: 1000 });
    // A mitigation exactly at the end is not late.
    const atEnd = scoreRemediation(
      { faults: [{ id: 'f', onsetMs: 0, endMs: 10 }], remediations: [{ faultId: 'f', mitigatedMs: 10 }] },
      { lateMitigation: 'unmitigated' },
    );
    assert.deepEqual([atEnd.mitigated, atEnd.mitigatedAfterEnd], [1, 0]);
  });

  test('edge cases: no faults, no events, detections optional', () => {
    const empty = scoreRemediation({ faults: [], remediations: [] });
    assert.deepEqual([empty.faults, empty.mitigated, empty.unmitigated], [0, 0, 0]);
    assert.ok(Number.isNaN(empty.mitigationRate) && Number.isNaN(empty.timeToMitigate.median));
    const idle = scoreRemediation({ faults: INPUT.faults, remediations: [] });
    assert.deepEqual([idle.mitigated, idle.unmitigated, idle.detected, idle.mitigationRate], [0, 4, 0, 0]);
    assert.equal(idle.timeToDetect.count, 0);
    // A remediation with only a mitigation time (metrics back to normal) needs no action time.
    const onlyMitigated = scoreRemediation({ faults: [{ id: 'f', onsetMs: 5, endMs: 50 }], remediations: [{ faultId: 'f', mitigatedMs: 20 }] });
    assert.deepEqual([onlyMitigated.acted, onlyMitigated.mitigated, onlyMitigated.timeToMitigate.mean], [0, 1, 15]);
    // An action and a mitigation at the onset itself apply (TTM 0).
    const instant = scoreRemediation({ faults: [{ id: 'f', onsetMs: 5, endMs: 50 }], remediations: [{ faultId: 'f', actionMs: 5, mitigatedMs: 5 }] });
    assert.equal(instant.timeToMitigate.mean, 0);
    assert.equal(instant.spuriousRemediations, 0);
  });

  test('incident to faults from correlated alerts (noise left out)', () => {
    assert.deepEqual(
      incidentFaultsFromAlerts([
        { incident: 'I1', truth: 'f2' },
        { incident: 'I1', truth: 'f1' },
        { incident: 'I1', truth: 'none' },
        { incident: 'I1', truth: 'f1' },
        { incident: 'I2', truth: 'none' },
        { incident: null, truth: 'f3' },
      ]),
      { I1: ['f1', 'f2'], I2: [] },
    );
  });

  test('bad input fails with the field named', () => {
    const faults = [{ id: 'f1', onsetMs: 0, endMs: 10 }];
    throwsEval(() => scoreRemediation({ faults, remediations: [{ faultId: 'f9', actionMs: 1 }] }), 'UNKNOWN_FAULT', 'remediations[0].faultId', '"f9"');
    throwsEval(
      () => scoreRemediation({ faults, remediations: [], incidentFaults: { I1: ['f1', 'fx'] } }),
      'UNKNOWN_FAULT',
      'incidentFaults.I1[1]',
    );
    throwsEval(() => scoreRemediation({ faults, remediations: [{ faultId: 'f1', incidentId: 'I', actionMs: 1 }] }), 'BAD_INPUT', 'remediations[0]', 'exactly one');
    throwsEval(() => scoreRemediation({ faults, remediations: [{ actionMs: 1 }] }), 'BAD_INPUT', 'remediations[0]', 'exactly one');
    throwsEval(() => scoreRemediation({ faults, remediations: [{ faultId: 'f1' }] }), 'BAD_INPUT', 'remediations[0]', 'actionMs or mitigatedMs');
    throwsEval(
      () => scoreRemediation({ faults, remediations: [{ faultId: 'f1', actionMs: 5, mitigatedMs: 4 }] }),
      'BAD_INPUT',
      'remediations[0].mitigatedMs',
      'actionMs 5',
    );
    throwsEval(() => scoreRemediation({ faults, remediations: [], detections: [{ faultId: 'f1' } as never] }), 'BAD_INPUT', 'detections[0].atMs');
    throwsEval(() => scoreRemediation({ faults: [{ id: 'f1', onsetMs: 5, endMs: 1 }], remediations: [] }), 'BAD_INPUT', 'faults[0].endMs');
    throwsEval(() => scoreRemediation({ faults: [...faults, ...faults], remediations: [] }), 'DUPLICATE_ID', 'faults[1].id');
    throwsEval(() => scoreRemediation({ faults } as never), 'BAD_INPUT', 'remediations', 'must be an array');
    throwsEval(() => scoreRemediation({ faults, remediations: [] }, { lateMitigation: 'never' as never }), 'BAD_OPTIONS', 'options.lateMitigation');
  });
});
