import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveDecodeLimits } from './config.js';
import { SchemaEncodeError } from './errors.js';
import * as m from './messages.js';
import type { Decoder, Encoder } from './messages.js';
import { encodeMessage } from './schema.js';
import * as arb from './testing/arbitraries.js';
import { assertBitEqual, expectDecodeError, fcOptions } from './testing/arbitraries.js';
import type { Alert } from './types.js';

interface Case {
  name: string;
  arbitrary: fc.Arbitrary<unknown>;
  encode: Encoder<never>;
  decode: Decoder<unknown>;
}

const cases: Case[] = [
  { name: 'MetricPoint', arbitrary: arb.metricPoint, encode: m.encodeMetricPoint, decode: m.decodeMetricPoint },
  { name: 'MetricBatch', arbitrary: arb.metricBatch, encode: m.encodeMetricBatch, decode: m.decodeMetricBatch },
  { name: 'FeatureFrameEnvelope', arbitrary: arb.featureFrameEnvelope, encode: m.encodeFeatureFrameEnvelope, decode: m.decodeFeatureFrameEnvelope },
  { name: 'Ack', arbitrary: arb.ack, encode: m.encodeAck, decode: m.decodeAck },
  { name: 'Alert', arbitrary: arb.alert, encode: m.encodeAlert, decode: m.decodeAlert },
  { name: 'AlertBatch', arbitrary: arb.alertBatch, encode: m.encodeAlertBatch, decode: m.decodeAlertBatch },
  { name: 'Anomaly', arbitrary: arb.anomaly(), encode: m.encodeAnomaly, decode: m.decodeAnomaly },
  { name: 'RootCause', arbitrary: arb.rootCause, encode: m.encodeRootCause, decode: m.decodeRootCause },
  { name: 'Incident', arbitrary: arb.incident, encode: m.encodeIncident, decode: m.decodeIncident },
  { name: 'RunbookExecution', arbitrary: arb.runbookExecution, encode: m.encodeRunbookExecution, decode: m.decodeRunbookExecution },
  { name: 'Heartbeat', arbitrary: arb.heartbeat, encode: m.encodeHeartbeat, decode: m.decodeHeartbeat },
  { name: 'HeartbeatAck', arbitrary: arb.heartbeatAck, encode: m.encodeHeartbeatAck, decode: m.decodeHeartbeatAck },
];

describe('message codecs', () => {
  for (const c of cases) {
    it(`${c.name}: arbitrary values round-trip bit-exactly`, () => {
      fc.assert(
        fc.property(c.arbitrary, (value) => {
          assertBitEqual(c.decode(c.encode(value as never)), value);
        }),
        fcOptions(200),
      );
    });

    it(`${c.name}: garbage bytes only ever yield SchemaDecodeError or a valid value`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          let value: unknown;
          try {
            value = c.decode(bytes);
          } catch {
            expectDecodeError(() => c.decode(bytes));
            return;
          }
          // Protobuf has no framing of its own: what decodes must at least be valid.
          c.encode(value as never);
        }),
        fcOptions(500),
      );
    });

    it(`${c.name}: every truncation is refused or decodes to a valid value`, () => {
      const [sample] = fc.sample(c.arbitrary, { numRuns: 1, seed: 11 });
      const bytes = c.encode(sample as never);
      for (let len = 0; len < bytes.length; len++) {
        try {
          c.encode(c.decode(bytes.subarray(0, len)) as never);
        } catch (err) {
          if (err instanceof SchemaEncodeError) throw err;
          expectDecodeError(() => c.decode(bytes.subarray(0, len)));
        }
      }
    });
  }

  const alert: Alert = {
    status: 'firing',
    labels: { alertname: 'DiskFull', severity: 'critical' },
    annotations: { summary: 'disk almost full' },
    startsAtMs: 1_714_000_000_000,
    endsAtMs: 0,
    generatorUrl: 'http://prometheus/graph',
    fingerprint: '0123456789abcdef',
    tenant: 'acme',
    source: 'agent-1',
  };

  it('refuses unset and unknown enum values, naming the field', () => {
    const base = { labels: [], startsAtMs: 1 };
    for (const status of [0, 7]) {
      const e = expectDecodeError(() => m.decodeAlert(encodeMessage('Alert', { ...base, status })), 'INVALID_FIELD');
      assert.equal(e.field, 'Alert.status');
      assert.match(e.message, new RegExp(`^Alert\\.status: unknown or unset enum value ${status}$`));
    }
  });

  it('refuses nested errors with the full path', () => {
    const batch = {
      agentId: 'a',
      sequence: 1,
      alerts: [
        { status: 1, startsAtMs: 5, labels: [{ name: 'x', value: '1' }] },
        { status: 1, startsAtMs: 5, labels: [{ name: 'x', value: '1' }, { name: 'x', value: '2' }] },
      ],
    };
    const e = expectDecodeError(() => m.decodeAlertBatch(encodeMessage('AlertBatch', batch)), 'INVALID_FIELD');
    assert.equal(e.field, 'AlertBatch.alerts[1].labels.x');
    assert.match(e.message, /duplicate label name/);
    const ends = { status: 1, startsAtMs: 10, endsAtMs: 5 };
    assert.equal(expectDecodeError(() => m.decodeAlert(encodeMessage('Alert', ends))).field, 'Alert.endsAtMs');
    const neg = { status: 1, startsAtMs: -5 };
    assert.equal(expectDecodeError(() => m.decodeAlert(encodeMessage('Alert', neg))).field, 'Alert.startsAtMs');
    const fp = { status: 1, startsAtMs: 5, fingerprint: 'XYZ' };
    assert.equal(expectDecodeError(() => m.decodeAlert(encodeMessage('Alert', fp))).field, 'Alert.fingerprint');
    const step = { id: 'r', runbookId: 'rb', state: 3, steps: [{ name: 's', state: 0 }] };
    assert.equal(expectDecodeError(() => m.decodeRunbookExecution(encodeMessage('RunbookExecution', step))).field, 'RunbookExecution.steps[0].state');
    const cause = { id: 'i', status: 1, severity: 2, openedAtMs: 5, updatedAtMs: 5, rootCauses: [{ service: 's', method: 'm', rank: 1, probability: 1.5 }] };
    assert.equal(expectDecodeError(() => m.decodeIncident(encodeMessage('Incident', cause))).field, 'Incident.rootCauses[0].probability');
  });

  it('refuses invalid UTF-8 and malformed wire data as MALFORMED_PROTOBUF', () => {
    // Alert.generator_url (field 6) holding 0xff 0xfe.
    expectDecodeError(() => m.decodeAlert(new Uint8Array([0x08, 0x01, 0x20, 0x05, 0x32, 0x02, 0xff, 0xfe])), 'MALFORMED_PROTOBUF');
    expectDecodeError(() => m.decodeAlert(new Uint8Array([0x32, 0x7f, 0x41])), 'MALFORMED_PROTOBUF');
    expectDecodeError(() => m.decodeAlert(new Uint8Array([0x0f])), 'MALFORMED_PROTOBUF');
    expectDecodeError(() => m.decodeAlert(new Uint8Array([0x00])), 'MALFORMED_PROTOBUF');
  });

  it('enforces size, list and element limits', () => {
    const limits = resolveDecodeLimits({ maxUncompressedBytes: 10 });
    expectDecodeError(() => m.decodeAlert(m.encodeAlert(alert), limits), 'TOO_LARGE');
    assert.throws(() => m.encodeAlert(alert, limits), (err: unknown) => err instanceof SchemaEncodeError && err.code === 'TOO_LARGE');
    const batch = { agentId: 'a', tenant: '', sequence: 1, alerts: [alert, alert, alert] };
    const bytes = m.encodeAlertBatch(batch);
    const e = expectDecodeError(() => m.decodeAlertBatch(bytes, resolveDecodeLimits({ maxListLength: 2 })), 'TOO_LARGE');
    assert.equal(e.field, 'AlertBatch.alerts');
    expectDecodeError(() => m.decodeAlertBatch(bytes, resolveDecodeLimits({ maxElements: 5 })), 'TOO_LARGE');
    const long = { ...alert, annotations: { description: 'x'.repeat(100) } };
    const s = expectDecodeError(() => m.decodeAlert(m.encodeAlert(long), resolveDecodeLimits({ maxLabelValueLength: 50 })), 'TOO_LARGE');
    assert.equal(s.field, 'Alert.annotations.description');
  });

  it('encoders throw SchemaEncodeError with the same paths', () => {
    const check = (fn: () => unknown, field: string): void => {
      assert.throws(fn, (err: unknown) => err instanceof SchemaEncodeError && err.field === field && err.retryable === false);
    };
    check(() => m.encodeAlert({ ...alert, status: 'pending' as never }), 'Alert.status');
    check(() => m.encodeAlert({ ...alert, startsAtMs: Number.NaN }), 'Alert.startsAtMs');
    check(() => m.encodeAlert({ ...alert, labels: { '': 'x' } }), 'Alert.labels');
    check(() => m.encodeAck({ sequence: 1, status: 'ok', message: '', retryAfterMs: -1 }), 'Ack.retryAfterMs');
    check(() => m.encodeHeartbeat({} as never), 'Heartbeat.agentId');
    check(() => m.encodeFeatureFrameEnvelope({ sequence: 1, frame: new Uint8Array(0) }), 'FeatureFrameEnvelope.frame');
    check(() => m.encodeMetricPoint({ name: 'up', labels: { __name__: 'up' }, timestampMs: 1, value: 1 }), 'MetricPoint.labels.__name__');
  });

  it('decoded label sets keep names such as __proto__ as own properties', () => {
    const labels: Record<string, string> = {};
    Object.defineProperty(labels, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    labels['a'] = 'b';
    const back = m.decodeAlert(m.encodeAlert({ ...alert, labels }));
    assert.deepEqual(Object.keys(back.labels).sort(), ['__proto__', 'a']);
    assert.equal(Object.getPrototypeOf(back.labels), Object.prototype);
  });
});
