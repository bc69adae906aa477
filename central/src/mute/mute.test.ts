// The inhibit-and-silence stage on the embedded silence store: silences (time range, regex and
// negative matchers), inhibition with equal labels, release when the silence ends or the
// source resolves, resolutions always passed on, the lifecycle contract, bad rules refused.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import type { Alert } from '../../../shared-schemas/src/index.js';
import { runLifecycleContract } from '../../../edge-agent/src/testing/index.js';
import { ManualClock, metricValue, RecordingAlerts, testSettings } from '../detect/dynamic-xy/testdata/helpers.js';
import { openSqliteStores } from '../storage/index.js';
import type { SqliteStores } from '../storage/index.js';
import { inhibitRulesSchema, MuteStage } from './index.js';

const T0 = Date.UTC(2026, 2, 4, 8);
const MIN = 60_000;

function alert(name: string, labels: Record<string, string>, status: Alert['status'] = 'firing', at = T0): Alert {
  const l = { alertname: name, ...labels };
  return { status, labels: l, annotations: {}, startsAtMs: at, endsAtMs: status === 'resolved' ? at + MIN : 0, generatorUrl: '', fingerprint: alertFingerprint(l), tenant: 'acme', source: 'test' };
}

describe('MuteStage', () => {
  let stores: SqliteStores;
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock(T0);
    stores = openSqliteStores(':memory:', { now: () => clock.now() });
  });
  afterEach(async () => stores.close());

  const stage = (rules: unknown = []) => {
    const settings = testSettings('alerts/mute', clock);
    const next = new RecordingAlerts();
    return { s: new MuteStage(settings, inhibitRulesSchema.parse(rules), { silences: stores.silences, next }), next, settings };
  };

  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => stage().s);
  });

  it('holds back alerts an active silence matches, and lets them through when it ends', async () => {
    const { s, next, settings } = stage();
    await s.start();
    const sil = await stores.silences.put({ tenant: 'acme', matchers: [{ name: 'service', op: '=~', value: 'pay.*' }, { name: 'severity', op: '!=', value: 'critical' }], startsAtMs: T0, endsAtMs: T0 + 30 * MIN, createdBy: 'ops', comment: 'payment maintenance' }, T0);
    const muted = alert('SlowQueries', { service: 'payment', severity: 'warning' });
    const critical = alert('PaymentDown', { service: 'payment', severity: 'critical' });
    const other = alert('SlowQueries', { service: 'search', severity: 'warning' });
    await s.consumeAlerts([muted, critical, other]);
    assert.deepEqual(next.alerts.map((a) => a.labels['alertname'] + '/' + a.labels['service']), ['PaymentDown/payment', 'SlowQueries/search']);
    assert.equal(s.mutedBy('acme', muted.labels), 'silenced');
    assert.equal(await metricValue(settings, 'aiops_central_alerts_muted_total', { reason: 'silenced' }), 1);
    // the silence is expired early: the still-firing alert goes on at the next check
    await stores.silences.expire('acme', sil.id, T0 + 5 * MIN);
    clock.advance(5 * MIN);
    s.silencesChanged('acme');
    await s.check();
    assert.equal(next.alerts.at(-1)!.fingerprint, muted.fingerprint);
    assert.equal(next.alerts.at(-1)!.startsAtMs, T0, 'with its own start');
    assert.equal(await metricValue(settings, 'aiops_central_alerts_unmuted_total'), 1);
    await s.shutdown();
  });

  it('does not mute before a silence starts; resolutions of muted alerts stay behind, others go on', async () => {
    const { s, next } = stage();
    await stores.silences.put({ tenant: 'acme', matchers: [{ name: 'service', op: '=', value: 'cart' }], startsAtMs: T0 + 10 * MIN, endsAtMs: T0 + 20 * MIN, createdBy: 'ops', comment: 'later' }, T0);
    await s.consumeAlerts([alert('A', { service: 'cart' })]);
    assert.equal(next.alerts.length, 1, 'pending silence: not muted');
    clock.advance(11 * MIN);
    await s.consumeAlerts([alert('B', { service: 'cart' })]);
    assert.equal(next.alerts.length, 1, 'active now: B muted');
    await s.consumeAlerts([alert('B', { service: 'cart' }, 'resolved'), alert('A', { service: 'cart' }, 'resolved')]);
    assert.deepEqual(next.alerts.map((a) => `${a.labels['alertname']}:${a.status}`), ['A:firing', 'A:resolved']);
  });

  it('inhibits targets while a source with the same equal labels fires', async () => {
    const { s, next, settings } = stage([{ source_matchers: ['alertname="NodeDown"'], target_matchers: ['severity=~"warning|critical"'], equal: ['host'] }]);
    const node = alert('NodeDown', { host: 'node-1', severity: 'critical' });
    const onIt = alert('HighLatency', { host: 'node-1', service: 'cart', severity: 'warning' });
    const elsewhere = alert('HighLatency', { host: 'node-2', service: 'search', severity: 'warning' });
    await s.consumeAlerts([node, onIt, elsewhere]);
    assert.deepEqual(next.alerts.map((a) => a.labels['alertname'] + '@' + a.labels['host']), ['NodeDown@node-1', 'HighLatency@node-2'], 'the source itself is not inhibited by its own rule');
    assert.equal(await metricValue(settings, 'aiops_central_alerts_muted_total', { reason: 'inhibited' }), 1);
    // the node comes back: the target is released (still firing)
    await s.consumeAlerts([alert('NodeDown', { host: 'node-1', severity: 'critical' }, 'resolved')]);
    assert.deepEqual(next.alerts.slice(2).map((a) => `${a.labels['alertname']}:${a.status}`), ['NodeDown:resolved', 'HighLatency:firing']);
  });

  it('refuses bad inhibit rules and silences that would mute everything', async () => {
    assert.throws(() => inhibitRulesSchema.parse([{ source_matchers: ['nonsense'], target_matchers: ['a="b"'] }]), /must be one matcher/);
    assert.throws(() => inhibitRulesSchema.parse([{ source_matchers: ['a="b"', 'c=~"("'], target_matchers: ['a="b"'] }]), /must be one matcher/);
    assert.throws(() => inhibitRulesSchema.parse([{ source_matchers: [], target_matchers: ['a="b"'] }]));
    assert.throws(() => inhibitRulesSchema.parse([{ source_matchers: ['a="b"'], target_matchers: ['a="b"'], extra: 1 }]));
    const put = (m: unknown, extra: Record<string, unknown> = {}) => stores.silences.put({ tenant: 'acme', matchers: m as never, startsAtMs: T0, endsAtMs: T0 + MIN, createdBy: 'ops', comment: 'x', ...extra }, T0);
    await assert.rejects(put([{ name: 'a', op: '=~', value: '.*' }]), /silence of everything/);
    await assert.rejects(put([]), /non-empty array/);
    await assert.rejects(put([{ name: 'a', op: '=~', value: '(' }]), /INVALID|regular expression|regex/i);
    await assert.rejects(put([{ name: 'a', op: '=', value: 'b' }], { comment: '  ' }), /comment must say why/);
    await assert.rejects(put([{ name: 'a', op: '=', value: 'b' }], { endsAtMs: T0 - 1 }), /endsAt must be after startsAt/);
    await assert.rejects(stores.silences.put({ id: '8b0e3c2e-6a7e-4a53-9a44-2f0ad8f0b6a1', tenant: 'acme', matchers: [{ name: 'a', op: '=', value: 'b' }], startsAtMs: T0, endsAtMs: T0 + MIN, createdBy: 'ops', comment: 'x' }, T0), /no silence/);
  });
});
