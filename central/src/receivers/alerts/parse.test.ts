import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertFingerprint } from '../../../../shared-schemas/src/index.js';
import { AlertIngestError, parseAlertBody } from './parse.js';

const NOW = Date.parse('2024-03-04T10:00:00Z');
const ctx = { tenant: 't1', source: 'alertmanager', nowMs: NOW };

/** A notification exactly as Alertmanager 0.25 sends it (field order and time format included). */
const AM_V4 = {
  receiver: 'aiops',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighLatency', service: 'cart', severity: 'critical' },
      annotations: { summary: 'p95 latency of cart above 0.5 s' },
      startsAt: '2024-03-04T09:30:00.123456789Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
      fingerprint: 'ffffffffffffffff',
    },
    {
      status: 'resolved',
      labels: { alertname: 'HighErrors', service: 'cart' },
      annotations: {},
      startsAt: '2024-03-04T09:00:00Z',
      endsAt: '2024-03-04T09:20:00+00:00',
      generatorURL: '',
      fingerprint: '0000000000000000',
    },
  ],
  groupLabels: { alertname: 'HighLatency' },
  commonLabels: { service: 'cart' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="HighLatency"}',
  truncatedAlerts: 0,
};

function refused(body: unknown, field: string, problem: RegExp): void {
  assert.throws(
    () => parseAlertBody(body, ctx),
    (e: unknown) => e instanceof AlertIngestError && e.field === field && problem.test(e.problem),
    `expected ${field} ${problem}`,
  );
}

describe('alert ingest bodies', () => {
  it('reads an Alertmanager webhook v4 notification; fingerprints are central\'s own', () => {
    const { format, alerts } = parseAlertBody(AM_V4, ctx);
    assert.equal(format, 'alertmanager-v4');
    assert.equal(alerts.length, 2);
    const [a, b] = alerts as [NonNullable<(typeof alerts)[0]>, NonNullable<(typeof alerts)[0]>];
    assert.equal(a.status, 'firing');
    assert.equal(a.startsAtMs, Date.parse('2024-03-04T09:30:00.123Z'));
    assert.equal(a.endsAtMs, 0, 'Go zero time = not set');
    assert.equal(a.fingerprint, alertFingerprint({ alertname: 'HighLatency', service: 'cart', severity: 'critical' }));
    assert.notEqual(a.fingerprint, 'ffffffffffffffff', 'a client fingerprint is not trusted');
    assert.deepEqual([a.tenant, a.source], ['t1', 'alertmanager']);
    assert.equal(b.status, 'resolved');
    assert.equal(b.endsAtMs, Date.parse('2024-03-04T09:20:00Z'));
  });

  it('reads the generic form (object or bare array), with defaults decided like Alertmanager', () => {
    const r = parseAlertBody(
      [
        { labels: { alertname: 'DiskFull', host: 'n1' } },
        { labels: { alertname: 'Old' }, startsAt: NOW - 60_000, endsAt: NOW - 1000 },
        { labels: { alertname: 'Later' }, endsAt: '2024-03-04T11:00:00Z', annotations: { runbook: 'r1' }, empty: 'ignored' },
      ],
      ctx,
    );
    assert.equal(r.format, 'generic');
    assert.deepEqual(
      r.alerts.map((a) => [a.status, a.startsAtMs, a.endsAtMs]),
      [
        ['firing', NOW, 0],
        ['resolved', NOW - 60_000, NOW - 1000],
        ['firing', NOW, Date.parse('2024-03-04T11:00:00Z')],
      ],
    );
    assert.equal(parseAlertBody({ alerts: [{ labels: { a: 'b', empty: '' } }] }, ctx).alerts[0]!.labels['empty'], undefined, 'empty values are no label');
  });

  it('refuses malformed bodies naming the field and the problem', () => {
    refused('x', '(body)', /JSON object/);
    refused(null, '(body)', /JSON object/);
    refused({ version: '3', alerts: [] }, 'version', /"4"/);
    refused({ alerts: 'x' }, 'alerts', /array/);
    refused({ alerts: [1] }, 'alerts[0]', /object/);
    refused({ alerts: [{}] }, 'alerts[0].labels', /object/);
    refused({ alerts: [{ labels: {} }] }, 'alerts[0].labels', /at least one/);
    refused({ alerts: [{ labels: { 'bad-name': 'x' } }] }, 'alerts[0].labels.bad-name', /names must match/);
    refused({ alerts: [{ labels: { a: 1 } }] }, 'alerts[0].labels.a', /string/);
    refused({ alerts: [{ labels: { a: 'b' }, status: 'pending' }] }, 'alerts[0].status', /firing/);
    refused({ alerts: [{ labels: { a: 'b' }, startsAt: 'yesterday' }] }, 'alerts[0].startsAt', /RFC 3339/);
    refused({ alerts: [{ labels: { a: 'b' }, startsAt: -5 }] }, 'alerts[0].startsAt', /epoch/);
    refused({ alerts: [{ labels: { a: 'b' }, startsAt: NOW, endsAt: NOW - 1 }] }, 'alerts[0].endsAt', /before startsAt/);
    refused({ alerts: [{ labels: { a: 'b' }, generatorURL: 5 }] }, 'alerts[0].generatorURL', /string/);
  });

  it('refuses oversized and hostile input without work proportional to the attack', () => {
    refused({ alerts: new Array(10_001).fill({ labels: { a: 'b' } }) }, 'alerts', /exceed the limit 10000/);
    refused({ alerts: [{ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])) }] }, 'alerts[0].labels', /65 entries/);
    refused({ alerts: [{ labels: { a: 'x'.repeat(5000) } }] }, 'alerts[0].labels.a', /5000 characters/);
    refused({ alerts: [{ labels: { ['n'.repeat(300)]: 'v' } }] }, `alerts[0].labels.${'n'.repeat(64)}`, /at most 256/);
    // prototype pollution attempts are plain labels, never prototypes
    const { alerts } = parseAlertBody(JSON.parse('{"alerts":[{"labels":{"__proto__":"x","constructor":"y"}}]}'), ctx);
    assert.equal(Object.getPrototypeOf(alerts[0]!.labels), Object.prototype);
    assert.equal(alerts[0]!.labels['__proto__' as string], 'x');
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });
});
