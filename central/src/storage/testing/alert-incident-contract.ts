// Shared contracts of AlertStore and IncidentStore (CONVENTIONS 6). Not part of the runtime surface.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertFingerprint } from '../../../../shared-schemas/src/index.js';
import type { Alert, Incident } from '../../../../shared-schemas/src/index.js';
import { StorageError } from '../errors.js';
import type { AlertStore, IncidentStore } from '../types.js';

/** A store under test and how to release it (the store interfaces have no close()). */
export interface ContractSubject<T> {
  store: T;
  close(): Promise<void>;
}

export type SubjectFactory<T> = () => Promise<ContractSubject<T>>;

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function isStorageError(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StorageError && e.code === code && (message === undefined || message.test(e.message));
}

function alert(over: Partial<Alert> = {}): Alert {
  return {
    status: 'firing',
    labels: { alertname: 'HighLatency', service: 'checkout', severity: 'critical' },
    annotations: { summary: 'p99 above 2 s' },
    startsAtMs: T0,
    endsAtMs: 0,
    generatorUrl: 'http://prometheus/graph',
    fingerprint: '',
    tenant: 't1',
    source: 'alertmanager',
    ...over,
  };
}

export function runAlertStoreContract(name: string, make: SubjectFactory<AlertStore>): void {
  describe(`AlertStore contract: ${name}`, () => {
    it('walks an episode: new, duplicate, resolved, duplicate resolve, refired', async () => {
      const { store: s, close } = await make();
      const a = alert();
      const fp = alertFingerprint(a.labels);

      const r1 = await s.upsert(a, T0 + 1000);
      assert.equal(r1.change, 'new');
      assert.equal(r1.alert.fingerprint, fp, 'computed from the labels when not set');
      assert.deepEqual({ rec: r1.alert.receivedAtMs, upd: r1.alert.updatedAtMs, dup: r1.alert.duplicates, inc: r1.alert.incidentId }, { rec: T0 + 1000, upd: T0 + 1000, dup: 0, inc: undefined });

      const r2 = await s.upsert({ ...a, annotations: { summary: 'p99 above 3 s' }, endsAtMs: T0 + 5 * MIN }, T0 + MIN);
      assert.equal(r2.change, 'duplicate');
      assert.equal(r2.alert.duplicates, 1);
      assert.equal(r2.alert.receivedAtMs, T0 + 1000, 'the episode keeps its first receipt');
      assert.equal(r2.alert.updatedAtMs, T0 + MIN);
      assert.deepEqual(r2.alert.annotations, { summary: 'p99 above 3 s' }, 'annotations refreshed');
      await s.setIncident('t1', fp, 'inc-1');

      const r3 = await s.upsert({ ...a, status: 'resolved', endsAtMs: T0 + 2 * MIN }, T0 + 2 * MIN);
      assert.equal(r3.change, 'resolved');
      assert.equal(r3.alert.status, 'resolved');
      assert.equal(r3.alert.endsAtMs, T0 + 2 * MIN);
      assert.equal(r3.alert.incidentId, 'inc-1');

      const r4 = await s.upsert({ ...a, status: 'resolved', endsAtMs: T0 + 2 * MIN }, T0 + 3 * MIN);
      assert.equal(r4.change, 'duplicate');
      assert.equal(r4.alert.status, 'resolved');

      const r5 = await s.upsert({ ...a, startsAtMs: T0 + 10 * MIN }, T0 + 10 * MIN);
      assert.equal(r5.change, 'refired');
      assert.deepEqual({ st: r5.alert.status, rec: r5.alert.receivedAtMs, dup: r5.alert.duplicates, inc: r5.alert.incidentId, start: r5.alert.startsAtMs, end: r5.alert.endsAtMs }, { st: 'firing', rec: T0 + 10 * MIN, dup: 0, inc: undefined, start: T0 + 10 * MIN, end: 0 });
      assert.deepEqual(await s.get('t1', fp), r5.alert);
      await close();
    });

    it('ignores late copies of a closed episode in either direction', async () => {
      const { store: s, close } = await make();
      const a = alert();
      await s.upsert(a, T0);
      await s.upsert({ ...a, status: 'resolved', endsAtMs: T0 + MIN }, T0 + MIN);
      // The closed episode's firing message arrives again (same startsAt): not a new episode.
      const late = await s.upsert(a, T0 + 2 * MIN);
      assert.equal(late.change, 'duplicate');
      assert.equal(late.alert.status, 'resolved');
      // A new episode, then a late resolve of the old one (ended before this one started).
      await s.upsert({ ...a, startsAtMs: T0 + 5 * MIN }, T0 + 5 * MIN);
      const oldResolve = await s.upsert({ ...a, status: 'resolved', endsAtMs: T0 + MIN }, T0 + 6 * MIN);
      assert.equal(oldResolve.change, 'duplicate');
      assert.equal(oldResolve.alert.status, 'firing');
      await close();
    });

    it('stores a resolve for an unknown alert as resolved; endsAt defaults to now', async () => {
      const { store: s, close } = await make();
      const r = await s.upsert(alert({ status: 'resolved' }), T0 + MIN);
      assert.equal(r.change, 'resolved');
      assert.equal(r.alert.endsAtMs, T0 + MIN);
      await close();
    });

    it('keeps a source-provided fingerprint and isolates tenants', async () => {
      const { store: s, close } = await make();
      const fp = '0123456789abcdef';
      await s.upsert(alert({ fingerprint: fp }), T0);
      assert.equal((await s.upsert(alert({ fingerprint: fp, tenant: 't2' }), T0)).change, 'new');
      assert.equal((await s.get('t1', fp))?.tenant, 't1');
      assert.equal((await s.get('t2', fp))?.tenant, 't2');
      assert.equal(await s.get('t3', fp), undefined);
      assert.equal((await s.list('t2', {})).length, 1);
      await close();
    });

    it('lists most recently updated first, filtered by status, labels and time, limited', async () => {
      const { store: s, close } = await make();
      for (let i = 0; i < 6; i++) {
        await s.upsert(alert({ labels: { alertname: `A${i}`, service: i % 2 === 0 ? 'checkout' : 'cart', 'odd key': i % 3 === 0 ? 'x"y' : 'z' } }), T0 + i * 1000);
      }
      await s.upsert(alert({ status: 'resolved', labels: { alertname: 'A0', service: 'checkout', 'odd key': 'x"y' }, endsAtMs: T0 + MIN }), T0 + MIN);
      const names = (xs: Array<{ labels: Record<string, string> }>) => xs.map((x) => x.labels['alertname']);
      assert.deepEqual(names(await s.list('t1', {})), ['A0', 'A5', 'A4', 'A3', 'A2', 'A1']);
      assert.deepEqual(names(await s.list('t1', { status: 'firing' })), ['A5', 'A4', 'A3', 'A2', 'A1']);
      assert.deepEqual(names(await s.list('t1', { status: 'resolved' })), ['A0']);
      assert.deepEqual(names(await s.list('t1', { labels: { service: 'cart' } })), ['A5', 'A3', 'A1']);
      assert.deepEqual(names(await s.list('t1', { labels: { service: 'checkout', 'odd key': 'x"y' } })), ['A0']);
      assert.deepEqual(names(await s.list('t1', { labels: { nope: 'x' } })), []);
      assert.deepEqual(names(await s.list('t1', { sinceMs: T0 + 4000 })), ['A0', 'A5', 'A4']);
      assert.deepEqual(names(await s.list('t1', { limit: 2 })), ['A0', 'A5']);
      await assert.rejects(s.list('t1', { limit: 0 }), isStorageError('INVALID_ARGUMENT', /limit/));
      await assert.rejects(s.list('t1', { status: 'open' as never }), isStorageError('INVALID_ARGUMENT', /status/));
      await close();
    });

    it('refuses malformed alerts and unknown alerts for setIncident', async () => {
      const { store: s, close } = await make();
      await assert.rejects(s.upsert(alert({ startsAtMs: 0 }), T0), isStorageError('INVALID_ARGUMENT', /startsAtMs/));
      await assert.rejects(s.upsert(alert({ status: 'open' as never }), T0), isStorageError('INVALID_ARGUMENT', /status/));
      await assert.rejects(s.upsert(alert({ fingerprint: 'XYZ' }), T0), isStorageError('INVALID_ARGUMENT', /fingerprint/));
      await assert.rejects(s.upsert(alert({ labels: { a: 1 } as never }), T0), isStorageError('INVALID_ARGUMENT', /labels/));
      await assert.rejects(s.upsert(alert(), Number.NaN), isStorageError('INVALID_ARGUMENT', /nowMs/));
      await assert.rejects(s.setIncident('t1', '0123456789abcdef', 'inc'), isStorageError('NOT_FOUND'));
      assert.deepEqual(await s.list('t1', {}), []);
      await close();
    });
  });
}

function incident(over: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-1',
    tenant: 't1',
    title: 'Checkout latency',
    status: 'open',
    severity: 'critical',
    openedAtMs: T0,
    updatedAtMs: T0,
    resolvedAtMs: 0,
    representativeFingerprint: '0123456789abcdef',
    alertFingerprints: ['0123456789abcdef', 'fedcba9876543210'],
    services: ['checkout', 'payments'],
    commonLabels: { service: 'checkout', 'ü': 'ß' },
    rootCauses: [{ service: 'payments', component: 'db', metric: 'latency', probability: 0.8, rank: 1, method: 'granger+bayes', evidence: ['lag 2'], onsetMs: 1_700_000_000_000 }],
    ...over,
  };
}

export function runIncidentStoreContract(name: string, make: SubjectFactory<IncidentStore>): void {
  describe(`IncidentStore contract: ${name}`, () => {
    it('round-trips an incident and replaces it by id', async () => {
      const { store: s, close } = await make();
      const i = incident();
      await s.put(i);
      assert.deepEqual(await s.get('t1', 'inc-1'), i);
      await s.put(i);
      const next = incident({ status: 'resolved', updatedAtMs: T0 + MIN, resolvedAtMs: T0 + MIN, rootCauses: [] });
      await s.put(next);
      assert.deepEqual(await s.get('t1', 'inc-1'), next);
      assert.equal(await s.get('t1', 'nope'), undefined);
      assert.equal(await s.get('t2', 'inc-1'), undefined, 'tenants are isolated');
      await close();
    });

    it('ignores a put older than the stored version (out-of-order redelivery)', async () => {
      const { store: s, close } = await make();
      await s.put(incident({ status: 'acknowledged', updatedAtMs: T0 + MIN }));
      await s.put(incident({ status: 'open', updatedAtMs: T0 }));
      assert.equal((await s.get('t1', 'inc-1'))?.status, 'acknowledged');
      await close();
    });

    it('lists most recently updated first, filtered by status and time, limited', async () => {
      const { store: s, close } = await make();
      for (let k = 0; k < 5; k++) {
        await s.put(incident({ id: `inc-${k}`, status: k % 2 === 0 ? 'open' : 'resolved', updatedAtMs: T0 + k * 1000, resolvedAtMs: k % 2 === 0 ? 0 : T0 + k * 1000 }));
      }
      await s.put(incident({ id: 'other', tenant: 't2' }));
      const ids = (xs: Incident[]) => xs.map((x) => x.id);
      assert.deepEqual(ids(await s.list('t1', {})), ['inc-4', 'inc-3', 'inc-2', 'inc-1', 'inc-0']);
      assert.deepEqual(ids(await s.list('t1', { status: 'open' })), ['inc-4', 'inc-2', 'inc-0']);
      assert.deepEqual(ids(await s.list('t1', { sinceMs: T0 + 3000 })), ['inc-4', 'inc-3']);
      assert.deepEqual(ids(await s.list('t1', { limit: 1 })), ['inc-4']);
      assert.deepEqual(ids(await s.list('t2', {})), ['other']);
      await assert.rejects(s.list('t1', { status: 'closed' as never }), isStorageError('INVALID_ARGUMENT', /status/));
      await close();
    });

    it('refuses malformed incidents', async () => {
      const { store: s, close } = await make();
      await assert.rejects(s.put(incident({ id: '' })), isStorageError('INVALID_ARGUMENT', /id/));
      await assert.rejects(s.put(incident({ updatedAtMs: T0 - 1 })), isStorageError('INVALID_ARGUMENT', /updatedAtMs/));
      await assert.rejects(s.put(incident({ severity: 'huge' as never })), isStorageError('INVALID_ARGUMENT', /severity/));
      await assert.rejects(s.put(incident({ rootCauses: [{ service: 's', component: '', metric: '', probability: 2, rank: 1, method: 'm', evidence: [], onsetMs: 0 }] })), isStorageError('INVALID_ARGUMENT', /probability/));
      assert.deepEqual(await s.list('t1', {}), []);
      await close();
    });
  });
}
