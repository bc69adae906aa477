// Test and benchmark helpers: an alert stream fed to a running central through its REST API
// in the replay's event order, and each input alert's incident read back from what central
// stored, so the online path and `npm run correlate` can be compared alert by alert.
import type { IncidentStore } from '../../storage/index.js';
import { eventOrder } from '../replay.js';
import type { ReplayAlert } from '../replay.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** PUT /api/v1/config/topology (an admin key); throws unless central took it. */
export async function declareTopology(api: string, token: string, doc: unknown): Promise<void> {
  const res = await fetch(`${api}/api/v1/config/topology`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  if (res.status !== 200) throw new Error(`PUT /api/v1/config/topology answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/**
 * POSTs the alerts to /api/v1/alerts/ingest (generic form) as their events happen: a firing
 * alert at its startsAt, its resolution at its endsAt, in eventOrder, `batch` events per
 * request (central handles a request's alerts in order). Resolves when central took them all.
 */
export async function feedCentral(api: string, token: string, alerts: readonly ReplayAlert[], batch = 500): Promise<{ requests: number }> {
  const order = eventOrder(alerts);
  let requests = 0;
  for (let i = 0; i < order.length; ) {
    const body: unknown[] = [];
    while (i < order.length && body.length < batch) {
      const kind = order[i]!.kind;
      const a = alerts[order[i]!.i]!;
      body.push({ labels: a.labels, annotations: a.annotations, startsAt: iso(a.startsAtMs), ...(kind === 'resolve' ? { endsAt: iso(a.endsAtMs) } : {}), status: kind === 'resolve' ? 'resolved' : 'firing' });
      i++;
    }
    const res = await fetch(`${api}/api/v1/alerts/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ alerts: body }) });
    if (res.status !== 200) throw new Error(`POST /api/v1/alerts/ingest answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    requests++;
  }
  return { requests };
}

/**
 * Each input alert's incident as central stored it: the incident whose timeline has the alert
 * joining (opened, alert_added, alert_refired) at its startsAt, followed through merges. An
 * alert without such an entry either arrived while its fingerprint was still firing (central's
 * alert store took it as a duplicate: it belongs where that firing one went) or was left
 * unassigned (null). The stream's own events say which, replayed in eventOrder.
 */
export async function storedAssignments(incidents: IncidentStore, tenant: string, alerts: readonly ReplayAlert[]): Promise<Array<string | null>> {
  const all = [];
  for (let offset = 0; ; offset += 10_000) {
    const page = await incidents.list(tenant, { limit: 10_000, offset });
    all.push(...page);
    if (page.length < 10_000) break;
  }
  const joined = new Map<string, string>();
  const mergedInto = new Map<string, string>();
  for (const inc of all) {
    for (const e of await incidents.timeline(tenant, inc.id, 10_000)) {
      if (e.type === 'opened' || e.type === 'alert_added' || e.type === 'alert_refired') joined.set(`${e.fingerprint}@${e.atMs}`, inc.id);
      if (e.type === 'merged_into') mergedInto.set(inc.id, e.related);
    }
  }
  const final = (id: string | null): string | null => {
    let x = id;
    for (let n = 0; x !== null && mergedInto.has(x) && n < 100_000; n++) x = mergedInto.get(x)!;
    return x;
  };
  const out: Array<string | null> = new Array(alerts.length).fill(null);
  const firing = new Map<string, string | null>();
  for (const ev of eventOrder(alerts)) {
    const a = alerts[ev.i]!;
    if (ev.kind === 'resolve') {
      firing.delete(a.fingerprint);
      continue;
    }
    const direct = joined.get(`${a.fingerprint}@${a.startsAtMs}`);
    const id = direct ?? (firing.has(a.fingerprint) ? firing.get(a.fingerprint)! : null);
    if (!firing.has(a.fingerprint) || direct !== undefined) firing.set(a.fingerprint, id);
    out[ev.i] = id;
  }
  return out.map(final);
}
