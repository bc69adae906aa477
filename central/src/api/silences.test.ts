// Silences through a running central: create (Alertmanager matcher objects or selector text),
// list by state, scopes and audit, bad input, and the effect on the alert chain - a silenced
// alert opens no incident until the silence is expired, then it does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../../../edge-agent/src/testing/index.js';
import type { CentralService } from '../service/service.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';

describe('silences API (a running central)', () => {
  let tc: TestCentral;
  let central: CentralService;
  let api = '';
  const tokens: Record<string, string> = {};
  const call = async (method: string, path: string, scope: 'read' | 'write', body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${tokens[scope]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  };

  before(async () => {
    tc = await startTestCentral({ api: { rate_per_second: 1000, burst: 1000 } }, 'aiops-silences-');
    ({ central, api } = tc);
    for (const scope of ['read', 'write'] as const) tokens[scope] = (await tc.key(`${scope}-key`, [scope])).token;
  });
  after(async () => {
    await tc?.stop();
  });

  it('mutes matching alerts until expired, with who and why recorded', async () => {
    assert.equal((await call('POST', '/api/v1/silences', 'read', { matchers: '{service="payment"}', duration: '1h', comment: 'x' })).status, 403);
    const created = await call('POST', '/api/v1/silences', 'write', { matchers: [{ name: 'service', value: 'payment', isRegex: false, isEqual: true }], duration: '2h', comment: 'database failover drill' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.status.state, 'active');
    assert.equal(created.body.createdBy, 'write-key');
    const text = await call('POST', '/api/v1/silences', 'write', { matchers: '{alertname=~"Disk.*", host!="db-1"}', startsAt: new Date(Date.now() + 3_600_000).toISOString(), duration: '1h', comment: 'tomorrow' });
    assert.equal(text.status, 200, JSON.stringify(text.body));
    assert.deepEqual(text.body.matchers, [
      { name: 'alertname', value: 'Disk.*', isRegex: true, isEqual: true },
      { name: 'host', value: 'db-1', isRegex: false, isEqual: false },
    ]);
    assert.equal(text.body.status.state, 'pending');
    assert.deepEqual((await call('GET', '/api/v1/silences?state=active', 'read')).body.silences.map((s: any) => s.id), [created.body.id]);

    const post = (name: string) => call('POST', '/api/v1/alerts/ingest', 'write', { alerts: [{ labels: { alertname: name, service: 'payment', severity: 'critical' }, startsAt: new Date().toISOString(), status: 'firing' }] });
    assert.equal((await post('PaymentErrors')).status, 200);
    assert.equal((await call('GET', '/api/v1/incidents', 'read')).body.incidents.length, 0, 'silenced: no incident');
    const expired = await call('DELETE', `/api/v1/silences/${created.body.id}`, 'write');
    assert.equal(expired.status, 200);
    assert.equal(expired.body.status.state, 'expired');
    await until(async () => (await call('GET', '/api/v1/incidents', 'read')).body.incidents.length === 1, 'the released alert opens an incident', 30_000, 200);
    const audit = await central.stores.audit.list({ limit: 100 });
    assert.ok(audit.some((a) => a.action === 'silence.put'));
    assert.ok(audit.some((a) => a.action === 'silence.expire' && a.target === created.body.id));
  });

  it('refuses bad silences with the field named', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ matchers: '{service="x"}', comment: 'no end' }, /endsAt or duration is required/],
      [{ matchers: '{service="x"', duration: '1h', comment: 'c' }, /matchers:/],
      [{ matchers: '{service=~".*"}', duration: '1h', comment: 'c' }, /does not match the empty string/],
      [{ matchers: [{ name: 'service', value: '.*', isRegex: true }], duration: '1h', comment: 'c' }, /silence of everything/],
      [{ matchers: '{service="x"}', duration: 'forever', comment: 'c' }, /duration must look like/],
      [{ matchers: '{service="x"}', duration: '1h' }, /comment/],
      [{ matchers: '{service="x"}', endsAt: '2001-01-01T00:00:00Z', comment: 'c' }, /endsAt must be/],
      [{ matchers: [{ name: 'a', value: 'b', isRegex: 'yes' }], duration: '1h', comment: 'c' }, /body.matchers/],
    ];
    for (const [body, re] of bad) {
      const r = await call('POST', '/api/v1/silences', 'write', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(JSON.stringify(r.body), re);
    }
    assert.equal((await call('DELETE', '/api/v1/silences/nope', 'write')).status, 404);
  });
});
