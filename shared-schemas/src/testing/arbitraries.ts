// fast-check arbitraries and helpers for the shared-schemas tests (not part of the public API).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SchemaDecodeError } from '../errors.js';
import type { SchemaErrorCode } from '../errors.js';
import { setLabel } from '../labels.js';
import { MAX_TIMESTAMP_MS } from '../validate.js';
import type {
  Ack,
  Alert,
  AlertBatch,
  Anomaly,
  FeatureFrameEnvelope,
  FeatureRow,
  Heartbeat,
  HeartbeatAck,
  Incident,
  Labels,
  MetricBatch,
  MetricPoint,
  RootCause,
  RunbookExecution,
  RunbookStepResult,
} from '../types.js';

/** Deterministic fast-check settings: same seed on every run, bounded run count. */
export function fcOptions(numRuns: number): { numRuns: number; seed: number } {
  return { numRuns, seed: 0x5eed };
}

/** Any well-formed Unicode text (astral planes, controls, NUL), or everyday ASCII. */
export const anyText = (maxLength = 12): fc.Arbitrary<string> =>
  fc.oneof(fc.string({ unit: 'binary', maxLength }), fc.string({ unit: 'grapheme', maxLength }), fc.string({ maxLength }));

export const labelName = fc.oneof(
  fc.constantFrom('__name__', 'host', 'service', 'instance', 'device', 'mountpoint', '__proto__', 'constructor', 'toString'),
  anyText(10).filter((s) => s.length > 0),
);

export const labels = (maxKeys = 6): fc.Arbitrary<Labels> =>
  fc.uniqueArray(fc.tuple(labelName, anyText(16)), { maxLength: maxKeys, selector: (t) => t[0] }).map((pairs) => {
    const out: Labels = {};
    for (const [k, v] of pairs) setLabel(out, k, v);
    return out;
  });

/** Timestamps in ms, > 0. */
export const timestampMs = fc.integer({ min: 1, max: MAX_TIMESTAMP_MS });
/** Start times leaving room for a later end time. */
const startMs = fc.integer({ min: 1, max: MAX_TIMESTAMP_MS - 2e12 });
export const optionalTimestampMs = fc.oneof(fc.constant(0), timestampMs);
export const uint64 = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
export const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** Any double, NaN / +-Infinity / -0 included. */
export const anyDouble = fc.double();
/** Any value float32 represents exactly (what float32 columns return). */
export const anyFloat = fc.float();

export const featureRow = (seriesId: number): fc.Arbitrary<FeatureRow> =>
  fc.record({
    seriesId: fc.constant(seriesId),
    count: uint32,
    min: anyDouble,
    max: anyDouble,
    mean: anyFloat,
    std: anyFloat,
    last: anyDouble,
    p50: anyFloat,
    p95: anyFloat,
    tier1MaxScore: anyFloat,
    flags: uint32,
    bandLower: anyFloat,
    bandUpper: anyFloat,
  });

export const hex16 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 });

export const metricPoint: fc.Arbitrary<MetricPoint> = fc.record({
  name: anyText().filter((s) => s.length > 0),
  labels: labels().filter((l) => !Object.hasOwn(l, '__name__')),
  timestampMs,
  value: anyDouble,
});

export const metricBatch: fc.Arbitrary<MetricBatch> = fc.record({
  agentId: anyText().filter((s) => s.length > 0),
  tenant: anyText(),
  sequence: uint64,
  points: fc.array(metricPoint, { maxLength: 4 }),
});

export const featureFrameEnvelope: fc.Arbitrary<FeatureFrameEnvelope> = fc.record({
  sequence: uint64,
  frame: fc.uint8Array({ minLength: 1, maxLength: 64 }),
});

export const ack: fc.Arbitrary<Ack> = fc.record({
  sequence: uint64,
  status: fc.constantFrom('ok', 'retry', 'rejected', 'resync_dictionary'),
  message: anyText(),
  retryAfterMs: uint32,
});

export const alert: fc.Arbitrary<Alert> = fc
  .record({
    status: fc.constantFrom('firing', 'resolved'),
    labels: labels(),
    annotations: labels(),
    startsAtMs: startMs,
    duration: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2e12 })),
    generatorUrl: anyText(),
    fingerprint: fc.oneof(fc.constant(''), hex16),
    tenant: anyText(),
    source: anyText(),
  })
  .map(({ duration, ...a }) => ({ ...a, endsAtMs: duration < 0 ? 0 : a.startsAtMs + duration }) as Alert);

export const alertBatch: fc.Arbitrary<AlertBatch> = fc.record({
  agentId: anyText().filter((s) => s.length > 0),
  tenant: anyText(),
  sequence: uint64,
  alerts: fc.array(alert, { maxLength: 3 }),
});

export const anomaly = (doubles: fc.Arbitrary<number> = anyDouble): fc.Arbitrary<Anomaly> =>
  fc
    .record({
      id: anyText().filter((s) => s.length > 0),
      tenant: anyText(),
      agentId: anyText(),
      labels: labels(),
      tier: fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
      detector: anyText().filter((s) => s.length > 0),
      modelVersion: anyText(),
      score: doubles,
      threshold: doubles,
      value: doubles,
      expected: doubles,
      bandLower: doubles,
      bandUpper: doubles,
      windowStartMs: startMs,
      width: fc.integer({ min: 0, max: 1e9 }),
      detectedAtMs: timestampMs,
    })
    .map(({ width, ...a }) => ({ ...a, windowEndMs: a.windowStartMs + width }));

export const rootCause: fc.Arbitrary<RootCause> = fc.record({
  service: anyText().filter((s) => s.length > 0),
  component: anyText(),
  metric: anyText(),
  probability: fc.double({ min: 0, max: 1, noNaN: true }),
  rank: fc.integer({ min: 1, max: 0xffff_ffff }),
  method: anyText().filter((s) => s.length > 0),
  evidence: fc.array(anyText(), { maxLength: 3 }),
  onsetMs: fc.oneof(fc.constant(0), timestampMs),
});

export const incident: fc.Arbitrary<Incident> = fc
  .record({
    id: anyText().filter((s) => s.length > 0),
    tenant: anyText(),
    title: anyText(),
    status: fc.constantFrom('open', 'acknowledged', 'mitigated', 'resolved'),
    severity: fc.constantFrom('info', 'warning', 'critical'),
    openedAtMs: startMs,
    updatedAfter: fc.integer({ min: 0, max: 1e12 }),
    resolvedAfter: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1e12 })),
    representativeFingerprint: fc.oneof(fc.constant(''), hex16),
    alertFingerprints: fc.array(hex16, { maxLength: 3 }),
    services: fc.array(anyText(), { maxLength: 3 }),
    commonLabels: labels(),
    rootCauses: fc.array(rootCause, { maxLength: 2 }),
  })
  .map(({ updatedAfter, resolvedAfter, ...i }) => ({
    ...i,
    updatedAtMs: i.openedAtMs + updatedAfter,
    resolvedAtMs: resolvedAfter < 0 ? 0 : i.openedAtMs + resolvedAfter,
  }));

const stepResult: fc.Arbitrary<RunbookStepResult> = fc
  .record({
    name: anyText().filter((s) => s.length > 0),
    state: fc.constantFrom('pending', 'running', 'succeeded', 'failed', 'skipped', 'rolled_back'),
    startedAtMs: fc.oneof(fc.constant(0), startMs),
    took: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1e9 })),
    output: anyText(40),
    error: anyText(),
  })
  .map(({ took, ...s }) => ({ ...s, finishedAtMs: took < 0 ? 0 : s.startedAtMs + took }));

export const runbookExecution: fc.Arbitrary<RunbookExecution> = fc
  .record({
    id: anyText().filter((s) => s.length > 0),
    tenant: anyText(),
    incidentId: anyText(),
    runbookId: anyText().filter((s) => s.length > 0),
    runbookVersion: anyText(),
    state: fc.constantFrom('pending_approval', 'approved', 'running', 'validating', 'succeeded', 'failed', 'rolled_back', 'escalated', 'rejected'),
    target: anyText(),
    blastRadius: uint32,
    approvalRequired: fc.boolean(),
    approvedBy: anyText(),
    dryRun: fc.boolean(),
    startedAtMs: fc.oneof(fc.constant(0), startMs),
    took: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1e9 })),
    steps: fc.array(stepResult, { maxLength: 3 }),
  })
  .map(({ took, ...r }) => ({ ...r, finishedAtMs: took < 0 ? 0 : r.startedAtMs + took }));

export const heartbeat: fc.Arbitrary<Heartbeat> = fc.record({
  agentId: anyText().filter((s) => s.length > 0),
  tenant: anyText(),
  timestampMs,
  state: fc.constantFrom('ok', 'degraded', 'stopping'),
  version: anyText(),
  hostname: anyText(),
  uptimeMs: uint64,
  activeSeries: uint32,
  framesSent: uint64,
  framesDropped: uint64,
  bufferBytes: uint64,
  hostLabels: labels(),
});

export const heartbeatAck: fc.Arbitrary<HeartbeatAck> = fc.record({
  serverTimeMs: timestampMs,
  configVersion: anyText(),
  resyncDictionary: fc.boolean(),
});

/** Bit pattern of a double, to compare NaN payloads and -0 exactly. */
export function bitsOf(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0);
}

/** A NaN carrying a payload (quiet bit set). */
export function nanWithPayload(payload: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, 0x7ff8_0000_0000_0000n | (payload & 0x0007_ffff_ffff_ffffn));
  return view.getFloat64(0);
}

/**
 * Deep equality where numbers compare by bit pattern (NaN payloads and -0 included) and
 * Uint8Array by content.
 */
export function assertBitEqual(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', `${path}: type`);
    assert.equal(bitsOf(actual as number), bitsOf(expected), `${path}: ${String(actual)} !== ${String(expected)} (bits)`);
    return;
  }
  if (expected instanceof Uint8Array) {
    assert.ok(actual instanceof Uint8Array, `${path}: expected bytes`);
    assert.deepEqual([...actual], [...expected], `${path}: bytes differ`);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertBitEqual((actual as unknown[])[i], e, `${path}[${i}]`));
    return;
  }
  if (typeof expected === 'object' && expected !== null) {
    assert.ok(typeof actual === 'object' && actual !== null, `${path}: expected an object`);
    const ek = Object.keys(expected).sort();
    const ak = Object.keys(actual).sort();
    assert.deepEqual(ak, ek, `${path}: keys`);
    for (const k of ek) assertBitEqual((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  assert.equal(actual, expected, path);
}

/** Runs fn and returns the SchemaDecodeError it must throw (anything else fails the test). */
export function expectDecodeError(fn: () => unknown, code?: SchemaErrorCode | readonly SchemaErrorCode[]): SchemaDecodeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) assert.fail('expected a SchemaDecodeError, nothing was thrown');
  if (!(thrown instanceof SchemaDecodeError)) {
    assert.fail(`expected a SchemaDecodeError, got ${String((thrown as Error)?.stack ?? thrown)}`);
  }
  assert.equal(thrown.name, 'SchemaDecodeError');
  assert.equal(thrown.retryable, false);
  if (code !== undefined) {
    const codes = typeof code === 'string' ? [code] : code;
    assert.ok(codes.includes(thrown.code), `expected code ${codes.join('|')}, got ${thrown.code}: ${thrown.message}`);
  }
  return thrown;
}
