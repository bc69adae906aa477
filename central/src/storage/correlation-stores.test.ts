// What correlation added to the embedded stores: incident timelines (order, limit, validation,
// pruned with their incident), incident filters by severity and service with paging, batch
// upserts of alerts (one malformed alert does not sink the batch), batch incident links, and
// incident writes in one transaction (all or nothing).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import type { Alert, Incident } from '../../../shared-schemas/src/index.js';
import { openSqliteStores } from './index.js';
import type { SqliteStores } from './index.js';

const T = Date.UTC(2026, 2, 4, 8);

function incident(id: string, o: Partial<Incident> = {}): Incident {
  return { id, tenant: 'acme', title: id, status: 'open', severity: 'warning', openedAtMs: T, updatedAtMs: T, resolvedAtMs: 0, representativeFingerprint: '0123456789abcdef', alertFingerprints: ['0123456789abcdef'], services: ['cart'], commonLabels: {}, rootCauses: [], ...o };
}
const ev = (type: string, atMs = T) => ({ atMs, type, fingerprint: '', related: '', actor: 'correlation', text: type });

describe('stores for correlation', () => {
  let s: SqliteStores;
  beforeEach(() => {
    s = openSqliteStores(':memory:', { now: () => T });
  });
  afterEach(async () => s.close());

  it('keeps an incident timeline in order, cut to the newest when limited, pruned with the incident', async () => {
    await s.incidents.put(incident('inc-1', { status: 'resolved', resolvedAtMs: T }));
    await s.incidents.appendTimeline('acme', 'inc-1', [ev('opened'), ev('alert_added', T + 1)]);
    await s.incidents.appendTimeline('acme', 'inc-1', [ev('resolved', T + 2)]);
    assert.deepEqual((await s.incidents.timeline('acme', 'inc-1')).map((e) => e.type), ['opened', 'alert_added', 'resolved']);
    assert.deepEqual((await s.incidents.timeline('acme', 'inc-1', 2)).map((e) => e.type), ['alert_added', 'resolved']);
    assert.deepEqual(await s.incidents.timeline('other', 'inc-1'), [], 'per tenant');
    await assert.rejects(s.incidents.appendTimeline('acme', 'inc-1', [{ ...ev('x'), text: 'y'.repeat(5000) }]), /text must be a string of at most 4096/);
    await assert.rejects(s.incidents.appendTimeline('acme', '', [ev('x')]), /id must be a string/);
    assert.equal(await s.incidents.pruneResolved(T + 10), 1);
    assert.deepEqual(await s.incidents.timeline('acme', 'inc-1'), []);
  });

  it('filters incidents by severity and service, and pages', async () => {
    await s.incidents.put(incident('a', { severity: 'critical', services: ['cart', 'db'], updatedAtMs: T + 3 }));
    await s.incidents.put(incident('b', { services: ['search'], updatedAtMs: T + 2 }));
    await s.incidents.put(incident('c', { services: ['cart'], updatedAtMs: T + 1 }));
    assert.deepEqual((await s.incidents.list('acme', { service: 'cart' })).map((i) => i.id), ['a', 'c']);
    assert.deepEqual((await s.incidents.list('acme', { severity: 'critical' })).map((i) => i.id), ['a']);
    assert.deepEqual((await s.incidents.list('acme', { limit: 2, offset: 1 })).map((i) => i.id), ['b', 'c']);
    await assert.rejects(s.incidents.list('acme', { severity: 'bad' as never }), /severity must be one of/);
    await assert.rejects(s.incidents.list('acme', { offset: -1 }), /offset must be/);
  });

  it('writes several incidents and their timelines in one transaction, all or nothing', async () => {
    await s.incidents.putMany([
      { incident: incident('x'), events: [ev('opened')] },
      { incident: incident('y'), events: [ev('opened'), ev('alert_added')] },
    ]);
    assert.equal((await s.incidents.timeline('acme', 'y')).length, 2);
    await assert.rejects(s.incidents.putMany([{ incident: incident('z'), events: [ev('opened')] }, { incident: incident('w', { severity: 'bogus' as never }), events: [] }]), /incident refused/);
    assert.equal(await s.incidents.get('acme', 'z'), undefined, 'the good one rolled back with the bad one');
    assert.deepEqual(await s.incidents.timeline('acme', 'z'), []);
  });

  it('upserts a batch of alerts in one transaction, a malformed one refused in its slot', async () => {
    const mk = (name: string): Alert => {
      const labels = { alertname: name };
      return { status: 'firing', labels, annotations: {}, startsAtMs: T, endsAtMs: 0, generatorUrl: '', fingerprint: alertFingerprint(labels), tenant: 'acme', source: 't' };
    };
    const bad = { ...mk('Bad'), status: 'unknown' } as unknown as Alert;
    const r = await s.alerts.upsertMany([mk('A'), bad, mk('A'), mk('B')], T);
    assert.deepEqual(r.map((x) => ('error' in x ? 'error' : x.change)), ['new', 'error', 'duplicate', 'new']);
    assert.equal(await s.alerts.setIncidentMany('acme', [mk('A').fingerprint, mk('B').fingerprint, 'ffffffffffffffff'], 'inc-9'), 2);
    assert.equal((await s.alerts.get('acme', mk('B').fingerprint))!.incidentId, 'inc-9');
  });
});
