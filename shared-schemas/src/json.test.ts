import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveDecodeLimits } from './config.js';
import { SchemaEncodeError } from './errors.js';
import {
  alertFromJSON,
  alertToJSON,
  anomalyFromJSON,
  anomalyToJSON,
  incidentFromJSON,
  incidentToJSON,
  parseTimestamp,
  ZERO_TIME,
} from './json.js';
import { alertFingerprint } from './labels.js';
import * as arb from './testing/arbitraries.js';
import { assertBitEqual, expectDecodeError, fcOptions } from './testing/arbitraries.js';
import type { Alert } from './types.js';

/** Over the wire: JSON text and back. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

// JSON cannot carry -0 or NaN payloads (documented): compare with those normalised.
const jsonDouble = fc.double().map((x) => (Number.isNaN(x) ? NaN : x === 0 ? 0 : x));

describe('JSON forms', () => {
  it('Alert round-trips through JSON text', () => {
    fc.assert(
      fc.property(arb.alert, (alert) => {
        assertBitEqual(alertFromJSON(wire(alertToJSON(alert))), alert);
      }),
      fcOptions(300),
    );
  });

  it('Anomaly round-trips through JSON text (non-finite numbers as strings)', () => {
    fc.assert(
      fc.property(arb.anomaly(jsonDouble), (anomaly) => {
        assertBitEqual(anomalyFromJSON(wire(anomalyToJSON(anomaly))), anomaly);
      }),
      fcOptions(300),
    );
  });

  it('Incident round-trips through JSON text', () => {
    fc.assert(
      fc.property(arb.incident, (incident) => {
        assertBitEqual(incidentFromJSON(wire(incidentToJSON(incident))), incident);
      }),
      fcOptions(300),
    );
  });

  it('reads an Alertmanager webhook alert (nanosecond times, zero endsAt)', () => {
    const body = JSON.parse(`{
      "version": "4", "status": "firing", "receiver": "aiops",
      "alerts": [{
        "status": "firing",
        "labels": {"alertname": "NodeFilesystemAlmostOutOfSpace", "instance": "web-1:9100", "severity": "warning"},
        "annotations": {"summary": "Filesystem has less than 5% space left."},
        "startsAt": "2024-04-25T10:15:30.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
        "fingerprint": "4a3e1e6b9d0b7c2f"
      }, {
        "status": "resolved",
        "labels": {"alertname": "HighLatency", "service": "checkout"},
        "annotations": {},
        "startsAt": "2024-04-25T12:15:30+02:00",
        "endsAt": "2024-04-25T10:20:00.5Z",
        "generatorURL": ""
      }]
    }`) as { alerts: unknown[] };
    const [a, b] = body.alerts.map((x) => alertFromJSON(x));
    assert.equal(a?.startsAtMs, Date.UTC(2024, 3, 25, 10, 15, 30, 123));
    assert.equal(a?.endsAtMs, 0);
    assert.equal(a?.fingerprint, '4a3e1e6b9d0b7c2f');
    assert.equal(b?.status, 'resolved');
    assert.equal(b?.startsAtMs, Date.UTC(2024, 3, 25, 10, 15, 30));
    assert.equal(b?.endsAtMs, Date.UTC(2024, 3, 25, 10, 20, 0, 500));
    assert.equal(b?.fingerprint, alertFingerprint({ alertname: 'HighLatency', service: 'checkout' }), 'computed when absent');
    assert.equal(alertToJSON(a as Alert).endsAt, ZERO_TIME);
  });

  it('derives a missing status from endsAt like Alertmanager', () => {
    const base = { labels: { a: '1' }, startsAt: '2024-01-01T00:00:00Z' };
    const now = Date.UTC(2024, 0, 2);
    assert.equal(alertFromJSON({ ...base, endsAt: '2024-01-01T01:00:00Z' }, { nowMs: now }).status, 'resolved');
    assert.equal(alertFromJSON({ ...base, endsAt: '2024-01-03T00:00:00Z' }, { nowMs: now }).status, 'firing');
    assert.equal(alertFromJSON(base, { nowMs: now }).status, 'firing');
  });

  it('refuses invalid bodies with typed errors naming the field', () => {
    const ok = { status: 'firing', labels: { a: '1' }, startsAt: '2024-01-01T00:00:00Z' };
    const cases: [unknown, string, string][] = [
      [null, 'Alert', 'INVALID_JSON'],
      [[ok], 'Alert', 'INVALID_JSON'],
      [{ ...ok, status: 'pending' }, 'Alert.status', 'INVALID_FIELD'],
      [{ ...ok, labels: { a: 1 } }, 'Alert.labels.a', 'INVALID_FIELD'],
      [{ ...ok, labels: ['a'] }, 'Alert.labels', 'INVALID_FIELD'],
      [{ ...ok, startsAt: 'yesterday' }, 'Alert.startsAt', 'INVALID_FIELD'],
      [{ ...ok, startsAt: '2024-02-30T00:00:00Z' }, 'Alert.startsAt', 'INVALID_FIELD'],
      [{ ...ok, startsAt: '1969-12-31T23:59:59Z' }, 'Alert.startsAt', 'INVALID_FIELD'],
      [{ ...ok, startsAt: undefined }, 'Alert.startsAt', 'INVALID_FIELD'],
      [{ ...ok, endsAt: '2023-01-01T00:00:00Z' }, 'Alert.endsAtMs', 'INVALID_FIELD'],
      [{ ...ok, fingerprint: 'nothex' }, 'Alert.fingerprint', 'INVALID_FIELD'],
      [{ ...ok, generatorURL: 5 }, 'Alert.generatorURL', 'INVALID_FIELD'],
      [{ ...ok, labels: { a: 'x\ud800' } }, 'Alert.labels.a', 'INVALID_FIELD'],
    ];
    for (const [body, field, code] of cases) {
      const e = expectDecodeError(() => alertFromJSON(body), code as never);
      assert.equal(e.field, field, `${JSON.stringify(body)}: ${e.message}`);
    }
    const anomaly = expectDecodeError(() => anomalyFromJSON({ id: 'x', tier: 4, detector: 'd', score: 1, threshold: 1 }));
    assert.equal(anomaly.field, 'Anomaly.windowStart');
    const badScore = { id: 'x', tier: 1, detector: 'd', score: 'high', threshold: 1, windowStart: '2024-01-01T00:00:00Z', windowEnd: '2024-01-01T00:00:00Z', detectedAt: '2024-01-01T00:00:00Z' };
    assert.equal(expectDecodeError(() => anomalyFromJSON(badScore)).field, 'Anomaly.score');
    assert.equal(expectDecodeError(() => anomalyFromJSON({ ...badScore, score: 1, tier: 4 })).field, 'Anomaly.tier');
    const inc = { id: 'i', status: 'open', severity: 'critical', openedAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z', rootCauses: [{ service: '', method: 'm', rank: 1, probability: 0.5 }] };
    assert.equal(expectDecodeError(() => incidentFromJSON(inc)).field, 'Incident.rootCauses[0].service');
    const tooMany = { ...ok, labels: { a: '1', b: '2', c: '3' } };
    assert.equal(expectDecodeError(() => alertFromJSON(tooMany, { limits: resolveDecodeLimits({ maxLabelsPerSet: 2 }) }), 'TOO_LARGE').field, 'Alert.labels');
  });

  it('toJSON refuses invalid values with SchemaEncodeError', () => {
    const bad = { status: 'firing', labels: {}, annotations: {}, startsAtMs: 0, endsAtMs: 0, generatorUrl: '', fingerprint: '', tenant: '', source: '' } as Alert;
    assert.throws(() => alertToJSON(bad), (err: unknown) => err instanceof SchemaEncodeError && err.field === 'Alert.startsAtMs');
  });

  it('keeps a "__proto__" label as data, never as a prototype', () => {
    const a = alertFromJSON(JSON.parse('{"status":"firing","labels":{"__proto__":"x","a":"1"},"startsAt":"2024-01-01T00:00:00Z"}'));
    assert.equal(Object.getPrototypeOf(a.labels), Object.prototype);
    assert.deepEqual(Object.keys(a.labels).sort(), ['__proto__', 'a']);
    assert.equal(JSON.stringify(alertToJSON(a).labels), '{"__proto__":"x","a":"1"}');
  });

  it('any JSON value only ever yields SchemaDecodeError or a valid value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const fromJSON of [alertFromJSON, anomalyFromJSON, incidentFromJSON]) {
          try {
            fromJSON(value);
          } catch {
            expectDecodeError(() => fromJSON(value));
          }
        }
      }),
      fcOptions(1000),
    );
  });

  it('parses RFC 3339 offsets and fractions exactly', () => {
    assert.equal(parseTimestamp('2024-01-01T00:00:00.999999999Z', 't'), Date.UTC(2024, 0, 1, 0, 0, 0, 999));
    assert.equal(parseTimestamp('2024-01-01T05:30:00+05:30', 't'), Date.UTC(2024, 0, 1));
    assert.equal(parseTimestamp('2023-12-31T23:00:00-01:00', 't'), Date.UTC(2024, 0, 1));
    assert.equal(parseTimestamp(ZERO_TIME, 't'), -62_135_596_800_000);
    expectDecodeError(() => parseTimestamp('2024-01-01T24:00:00Z', 't'));
    expectDecodeError(() => parseTimestamp('2024-01-01 00:00:00', 't'));
  });
});
