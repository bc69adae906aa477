// Incidents through a running central: alerts POSTed to the REST API become incidents (with the
// declared topology); list filters and paging, one incident with alerts and timeline,
// acknowledge and resolve with scopes and audit, bad queries, and `aiops incidents` on top.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { until } from '../../../edge-agent/src/testing/index.js';
import { aiopsMain } from '../cli/aiops.js';
import type { CentralService } from '../service/service.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('incidents API and CLI (a running central)', () => {
  let tc: TestCentral;
  let central: CentralService;
  let api = '';
  const tokens: Record<string, string> = {};
  const keyIds: Record<string, string> = {};
  const T = Date.now() - 10 * 60_000;
  let hook: Server;
  const notified: any[] = [];

  const call = async (method: string, path: string, scope: 'read' | 'write' | 'admin', body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${tokens[scope]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  };
  const cli = async (argv: string[], scope: 'read' | 'write' = 'read') => {
    let out = '';
    let err = '';
    const code = await aiopsMain(argv, { out: (s) => void (out += s), err: (s) => void (err += s), env: { AIOPS_URL: api, AIOPS_API_KEY: tokens[scope] } });
    return { code, out, err };
  };

  before(async () => {
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        notified.push({ auth: req.headers.authorization, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/incidents`;
    process.env['AIOPS_TEST_HOOK_TOKEN'] = 'hook-secret';
    tc = await startTestCentral({ api: { rate_per_second: 1000, burst: 1000 }, notify: { webhooks: [{ name: 'oncall', url: hookUrl, bearer_token_env: 'AIOPS_TEST_HOOK_TOKEN' }] } }, 'aiops-incidents-');
    ({ central, api } = tc);
    for (const scope of ['read', 'write', 'admin'] as const) {
      const k = await tc.key(scope, [scope]);
      tokens[scope] = k.token;
      keyIds[scope] = k.id;
    }
    const topo = {
      version: 1,
      name: 'shop',
      nodes: [
        { id: 'service:checkout', kind: 'Service', name: 'checkout' },
        { id: 'service:payment', kind: 'Service', name: 'payment' },
        { id: 'database:orders', kind: 'Database', name: 'orders' },
        { id: 'service:search', kind: 'Service', name: 'search' },
      ],
      edges: [
        { kind: 'CALLS', from: 'service:checkout', to: 'service:payment' },
        { kind: 'CALLS', from: 'service:payment', to: 'database:orders' },
      ],
    };
    assert.equal((await call('PUT', '/api/v1/config/topology', 'admin', topo)).status, 200);
    const alert = (name: string, service: string, at: number, severity = 'critical') => ({ labels: { alertname: name, service, severity }, annotations: { summary: `${name} on ${service}` }, startsAt: iso(at), status: 'firing' });
    const r = await call('POST', '/api/v1/alerts/ingest', 'write', {
      alerts: [alert('HighErrorRate', 'payment', T), alert('HighErrorRate', 'orders', T + 30_000), alert('HighErrorRate', 'checkout', T + 60_000), alert('SlowQueries', 'search', T + 90_000, 'warning')],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(async () => {
    await tc?.stop();
    hook.closeAllConnections();
    await new Promise<void>((r) => hook.close(() => r()));
    delete process.env['AIOPS_TEST_HOOK_TOKEN'];
  });

  it('notifies the webhook once per new incident, never per child alert', async () => {
    await until(() => notified.filter((n) => n.kind === 'new').length === 2, 'two new-incident notifications', 30_000, 50);
    const news = notified.filter((n) => n.kind === 'new');
    // The four alerts came in one request: each incident's first notification carries all it got.
    assert.deepEqual(news.map((n) => n.incident.services.join(',')).sort(), ['checkout,orders,payment', 'search']);
    const big = news.find((n) => n.incident.services.length === 3);
    assert.deepEqual(big.events.map((e: any) => e.type).filter((t: string) => t !== 'representative_changed'), ['opened', 'alert_added', 'alert_added']);
    assert.equal(big.incident.alertFingerprints.length, 3);
    assert.ok(notified.every((n) => n.auth === 'Bearer hook-secret' && n.version === '1'));
  });

  it('lists incidents with filters and paging', async () => {
    const all = await call('GET', '/api/v1/incidents', 'read');
    assert.equal(all.status, 200);
    assert.equal(all.body.incidents.length, 2);
    const big = all.body.incidents.find((i: any) => i.alertFingerprints.length === 3);
    assert.deepEqual(big.services, ['checkout', 'orders', 'payment']);
    assert.equal(big.severity, 'critical');
    assert.match(big.title, /^HighErrorRate \(service=orders\) and 2 related alerts on 3 services$/, 'the database everything depends on represents it');
    const bySvc = await call('GET', '/api/v1/incidents?service=search', 'read');
    assert.deepEqual(bySvc.body.incidents.map((i: any) => i.services), [['search']]);
    assert.equal((await call('GET', '/api/v1/incidents?severity=warning', 'read')).body.incidents.length, 1);
    const page1 = await call('GET', '/api/v1/incidents?limit=1', 'read');
    assert.equal(page1.body.incidents.length, 1);
    assert.equal(page1.body.next, 1);
    const page2 = await call('GET', `/api/v1/incidents?limit=1&offset=${page1.body.next}`, 'read');
    assert.equal(page2.body.incidents.length, 1);
    assert.notEqual(page2.body.incidents[0].id, page1.body.incidents[0].id);
    for (const bad of ['severity=bogus', 'offset=-1', 'limit=0', 'status=done', 'nonsense=1']) {
      const r = await call('GET', `/api/v1/incidents?${bad}`, 'read');
      assert.equal(r.status, 400, bad);
    }
  });

  it('shows one incident with its alerts and timeline; 404 for an unknown id', async () => {
    const list = (await call('GET', '/api/v1/incidents?service=payment', 'read')).body.incidents;
    const one = await call('GET', `/api/v1/incidents/${list[0].id}`, 'read');
    assert.equal(one.status, 200);
    assert.equal(one.body.alerts.length, 3);
    assert.ok(one.body.alerts.every((a: any) => a.incidentId === list[0].id));
    assert.deepEqual(one.body.timeline.map((e: any) => e.type).slice(0, 2), ['opened', 'alert_added']);
    assert.equal((await call('GET', '/api/v1/incidents/inc-nope', 'read')).status, 404);
    const shown = await cli(['incidents', 'show', list[0].id]);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /services:\s+checkout, orders, payment/);
    assert.match(shown.out, /timeline:\n.*opened/);
    const listed = await cli(['incidents', 'list', '--service', 'payment']);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, new RegExp(`${list[0].id}\\s+open\\s+critical\\s+3\\s+checkout,orders,payment`));
  });

  it('acknowledges and resolves with the write scope, on the timeline and in the audit log', async () => {
    const id = (await call('GET', '/api/v1/incidents?service=search', 'read')).body.incidents[0].id as string;
    assert.equal((await call('POST', `/api/v1/incidents/${id}/ack`, 'read', {})).status, 403, 'read cannot acknowledge');
    assert.equal((await call('POST', `/api/v1/incidents/${id}/ack`, 'write', { comment: 'x'.repeat(2000) })).status, 400, 'comment too long');
    assert.equal((await call('POST', '/api/v1/incidents/inc-nope/ack', 'write', {})).status, 404);
    const ack = await cli(['incidents', 'ack', id, '--comment', 'looking at the slow queries'], 'write');
    assert.equal(ack.code, 0, ack.err);
    assert.match(ack.out, /acknowledged \(status acknowledged\)/);
    // a new related alert keeps the acknowledgement
    await call('POST', '/api/v1/alerts/ingest', 'write', { alerts: [{ labels: { alertname: 'SearchErrors', service: 'search', severity: 'critical' }, startsAt: iso(T + 120_000), status: 'firing' }] });
    const grown = (await call('GET', `/api/v1/incidents/${id}`, 'read')).body;
    assert.equal(grown.status, 'acknowledged');
    assert.equal(grown.alertFingerprints.length, 2);
    const res = await call('POST', `/api/v1/incidents/${id}/resolve`, 'write', { comment: 'index rebuilt' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'resolved');
    const tl = (await call('GET', `/api/v1/incidents/${id}`, 'read')).body.timeline as Array<{ type: string; actor: string; text: string }>;
    const people = tl.filter((e) => e.actor !== 'correlation');
    assert.deepEqual(people.map((e) => [e.type, e.actor]), [['acknowledged', keyIds['write']], ['resolved', keyIds['write']]]);
    assert.match(people[0]!.text, /looking at the slow queries/);
    const audit = await central.stores.audit.list({ limit: 100 });
    assert.ok(audit.some((a) => a.action === 'incident.ack' && a.target === id && a.actor === keyIds['write']));
    assert.ok(audit.some((a) => a.action === 'incident.resolve' && a.target === id));
    // after a manual resolve, a new alert on search opens a new incident
    await call('POST', '/api/v1/alerts/ingest', 'write', { alerts: [{ labels: { alertname: 'SearchDown', service: 'search', severity: 'critical' }, startsAt: iso(T + 180_000), status: 'firing' }] });
    const open = (await call('GET', '/api/v1/incidents?service=search&status=open', 'read')).body.incidents;
    assert.equal(open.length, 1);
    assert.notEqual(open[0].id, id);
  });
});
