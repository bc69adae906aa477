// The incident webhook against a real local HTTP server: payloads in order with the bearer
// token from the environment, only significant changes by default, retries on 5xx, no retry
// on 4xx, a bounded queue, shutdown that does not hang, and config refusals.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Incident } from '../../../shared-schemas/src/index.js';
import { systemClock } from '../../../shared-schemas/src/runtime/index.js';
import { runLifecycleContract } from '../../../edge-agent/src/testing/index.js';
import { metricValue, testSettings } from '../detect/dynamic-xy/testdata/helpers.js';
import type { IncidentChange } from '../correlate/index.js';
import { notifyConfigSchema, safeUrl, webhookConfigSchema, WebhookNotifier } from './index.js';

const T = Date.UTC(2026, 2, 4, 8);
const incident = (id: string, status: Incident['status'] = 'open'): Incident => ({ id, tenant: 'acme', title: `t ${id}`, status, severity: 'critical', openedAtMs: T, updatedAtMs: T, resolvedAtMs: status === 'resolved' ? T : 0, representativeFingerprint: '0123456789abcdef', alertFingerprints: ['0123456789abcdef'], services: ['cart'], commonLabels: {}, rootCauses: [] });
const change = (id: string, kind: IncidentChange['kind'], types: string[], status: Incident['status'] = 'open'): IncidentChange => ({ kind, incident: incident(id, status), events: types.map((type) => ({ atMs: T, type, fingerprint: '', related: '', actor: 'correlation', text: type })) });

describe('WebhookNotifier', () => {
  let server: Server;
  let url = '';
  const got: Array<{ auth: string | undefined; body: any }> = [];
  let answers: number[] = [];
  let hang = false;
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (hang) return;
        const status = answers.shift() ?? 200;
        if (status === 200) got.push({ auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=secret`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    got.length = 0;
    answers = [];
    hang = false;
  });
  const make = (o: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) => {
    const settings = testSettings('notify/ops', systemClock);
    return { n: new WebhookNotifier(settings, webhookConfigSchema.parse({ name: 'ops', url, ...o }), env), settings };
  };

  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => make().n);
  });

  it('posts new and significant changes in order, with the token from the environment', async () => {
    const { n, settings } = make({ bearer_token_env: 'OPS_TOKEN' }, { OPS_TOKEN: 's3cret' });
    await n.start();
    await n.consumeIncidents([change('inc-1', 'new', ['opened']), change('inc-1', 'changed', ['alert_added']), change('inc-1', 'changed', ['alert_added', 'representative_changed'])]);
    await n.consumeIncidents([change('inc-1', 'changed', ['resolved'], 'resolved')]);
    await n.idle();
    assert.deepEqual(got.map((g) => [g.body.kind, g.body.incident.status, g.body.events.map((e: any) => e.type).join('+')]), [
      ['new', 'open', 'opened'],
      ['changed', 'open', 'alert_added+representative_changed'],
      ['changed', 'resolved', 'resolved'],
    ]);
    assert.ok(got.every((g) => g.auth === 'Bearer s3cret' && g.body.version === '1'));
    assert.equal(got[0]!.body.incident.id, 'inc-1');
    assert.equal(await metricValue(settings, 'aiops_central_notifications_sent_total', { webhook: 'ops' }), 3);
    await n.shutdown();
  });

  it('sends every change with changes: all, and no resolved ones without send_resolved', async () => {
    const { n } = make({ changes: 'all', send_resolved: false });
    await n.consumeIncidents([change('inc-2', 'changed', ['alert_added']), change('inc-2', 'changed', ['resolved'], 'resolved')]);
    await n.idle();
    assert.deepEqual(got.map((g) => g.body.events[0].type), ['alert_added']);
    await n.shutdown();
  });

  it('retries 5xx with backoff, gives up on 4xx at once', async () => {
    const { n, settings } = make({ max_retries: 3 });
    answers = [503, 502, 200, 400];
    await n.consumeIncidents([change('a', 'new', ['opened']), change('b', 'new', ['opened'])]);
    await n.idle();
    assert.deepEqual(got.map((g) => g.body.incident.id), ['a']);
    assert.equal(await metricValue(settings, 'aiops_central_notification_retries_total', { webhook: 'ops' }), 2);
    assert.equal(await metricValue(settings, 'aiops_central_notifications_failed_total', { webhook: 'ops' }), 1);
    await n.shutdown();
  });

  it('drops the oldest when the queue is full, and shuts down while the receiver hangs', async () => {
    hang = true;
    const { n, settings } = make({ queue: 2, timeout: '200ms', max_retries: 1 });
    await n.consumeIncidents([change('a', 'new', ['opened']), change('b', 'new', ['opened']), change('c', 'new', ['opened']), change('d', 'new', ['opened'])]);
    assert.ok((await metricValue(settings, 'aiops_central_notifications_dropped_total', { webhook: 'ops' })) >= 1);
    const t0 = Date.now();
    await n.shutdown();
    assert.ok(Date.now() - t0 < 60_000);
    await n.consumeIncidents([change('e', 'new', ['opened'])]);
    assert.equal(got.length, 0);
  });

  it('refuses URLs with credentials, bad names and duplicates; logs URLs without secrets', () => {
    assert.throws(() => webhookConfigSchema.parse({ name: 'x', url: 'https://user:pw@example.com/hook' }), /without credentials/);
    assert.throws(() => webhookConfigSchema.parse({ name: 'x', url: 'ftp://example.com/' }), /http\(s\) URL/);
    assert.throws(() => webhookConfigSchema.parse({ name: 'bad name', url: 'https://example.com/' }), /must match/);
    assert.throws(() => notifyConfigSchema.parse({ webhooks: [{ name: 'a', url: 'https://e.com/' }, { name: 'a', url: 'https://f.com/' }] }), /duplicate webhook name/);
    assert.equal(safeUrl('https://example.com:8443/hooks/x?token=abc#frag'), 'https://example.com:8443/hooks/x');
  });
});
