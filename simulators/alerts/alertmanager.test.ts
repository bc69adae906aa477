// Compatibility with a real Prometheus Alertmanager (Debian package, started by
// deploy/dev/alertmanager.sh): the alerts of a generated storm are POSTed to its API v2, and
// the webhook notifications it sends must be exactly what the simulator would write for the
// same alerts - same fields in the same order, labels (sim_fault included), annotations,
// startsAt/endsAt text, status, fingerprints, group keys and alert order.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { alertFingerprint } from '../../shared-schemas/src/index.js';
import { generateAlertStorm } from './index.js';
import type { StormAlert, WebhookV4 } from './index.js';
import { peerReady, startAlertmanager, stopAlertmanager } from './testdata/alertmanager-peer.js';
import type { AlertmanagerPeer, AlertmanagerSettings } from './testdata/alertmanager-peer.js';
import { shopFixture } from './testdata/fixtures.js';
import { buildWebhookPayload, goTime } from './webhook.js';
import type { NotifiedAlert } from './webhook.js';

const PORT = Number(process.env['ALERTMANAGER_PORT'] ?? 19093);
const GROUP_BY = ['alertname'];
/** Generous: Alertmanager flushes every second here, the deadline only bounds a broken run. */
const DEADLINE_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Alertmanager compatibility (real Alertmanager 0.25 via deploy/dev/alertmanager.sh)', () => {
  const received: WebhookV4[] = [];
  let hook: Server;
  let peer: AlertmanagerPeer = { port: PORT, url: '', failure: 'not started' };
  let settings: AlertmanagerSettings;

  before(async () => {
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookV4);
          res.writeHead(200).end('ok');
        } catch {
          res.writeHead(400).end('bad json');
        }
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookPort = (hook.address() as AddressInfo).port;
    settings = { port: PORT, webhookUrl: `http://127.0.0.1:${hookPort}/hook`, groupBy: GROUP_BY };
    peer = startAlertmanager(settings);
  });

  after(async () => {
    stopAlertmanager(peer, settings);
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  it('forwards the storm alerts to a webhook exactly as the simulator writes them', { timeout: 4 * DEADLINE_MS }, async (t) => {
    if (!peerReady(t, peer)) return;
    const { topology, metrics, truth } = shopFixture();
    const endMs = metrics.startMs + (metrics.length - 1) * metrics.stepMs;
    const storm = generateAlertStorm(metrics, truth, topology, {
      seed: 11,
      noise: { level: 1, unrelated: { ratePerHour: 8 }, flapping: { ratePerHour: 3 } },
      route: { receiver: 'aiops-webhook', groupBy: GROUP_BY },
      externalURL: peer.url,
    });
    // One alert per fingerprint (the last episode): Alertmanager holds one alert per label set.
    const byFp = new Map<string, StormAlert>();
    for (const a of storm.alerts) byFp.set(a.fingerprint, a);
    const alerts = [...byFp.values()];
    assert.ok(alerts.length >= 10, `storm too small for a useful check (${alerts.length} alerts)`);
    assert.ok(new Set(alerts.map((a) => a.faultId)).size >= 3, 'fault-caused and noise alerts both present');
    const endOf = (a: StormAlert) => a.endsAtMs ?? endMs;

    const post = async (withEnds: boolean): Promise<void> => {
      const body = alerts.map((a) => ({
        labels: a.labels,
        annotations: a.annotations,
        startsAt: goTime(a.startsAtMs),
        ...(withEnds ? { endsAt: goTime(endOf(a)) } : {}),
        generatorURL: a.generatorURL,
      }));
      const res = await fetch(`${peer.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, `POST /api/v2/alerts answered ${res.status}: ${await res.text()}`);
    };
    /** Posts, then re-posts every 5 s (idempotent) until every fingerprint was seen with `status`. */
    const until = async (status: 'firing' | 'resolved', withEnds: boolean): Promise<void> => {
      const deadline = Date.now() + DEADLINE_MS;
      let lastPost = 0;
      for (;;) {
        if (Date.now() - lastPost > 5000) {
          await post(withEnds);
          lastPost = Date.now();
        }
        const seen = new Set(received.flatMap((p) => p.alerts.filter((a) => a.status === status).map((a) => a.fingerprint)));
        const missing = alerts.filter((a) => !seen.has(a.fingerprint));
        if (missing.length === 0) return;
        if (Date.now() > deadline) {
          assert.fail(`${missing.length} of ${alerts.length} alerts never reached the webhook as ${status} within ${DEADLINE_MS} ms (e.g. ${JSON.stringify(missing[0]?.labels)})`);
        }
        await sleep(200);
      }
    };

    /** Rebuilds a received payload with the simulator from what was sent, and compares text. */
    const checkPayloads = (payloads: WebhookV4[]): void => {
      for (const real of payloads) {
        const mine: NotifiedAlert[] = real.alerts.map((ra) => {
          const sent = byFp.get(ra.fingerprint);
          assert.ok(sent, `webhook alert with an unknown fingerprint ${ra.fingerprint}: ${JSON.stringify(ra.labels)}`);
          // Alertmanager's fingerprint is the simulator's (shared-schemas alertFingerprint).
          assert.equal(ra.fingerprint, alertFingerprint(ra.labels));
          assert.equal(ra.labels['sim_fault'], sent.faultId);
          return {
            labels: sent.labels,
            annotations: sent.annotations,
            startsAtMs: sent.startsAtMs,
            endsAtMs: ra.status === 'firing' ? undefined : endOf(sent),
            generatorURL: sent.generatorURL,
          };
        });
        const expected = buildWebhookPayload({ receiver: storm.notifications[0]?.payload.receiver ?? 'aiops-webhook', groupLabels: real.groupLabels, externalURL: peer.url }, mine, Date.now());
        assert.equal(JSON.stringify(real), JSON.stringify(expected), 'Alertmanager payload differs from the simulator for the same alerts');
      }
    };

    // Phase 1: all alerts firing (no endsAt: Alertmanager applies its resolve_timeout).
    await until('firing', false);
    const firingPayloads = received.splice(0);
    assert.ok(firingPayloads.length > 0);
    checkPayloads(firingPayloads);
    for (const p of firingPayloads) {
      assert.equal(p.version, '4');
      assert.equal(p.truncatedAlerts, 0);
      for (const a of p.alerts) assert.equal(a.endsAt, '0001-01-01T00:00:00Z');
    }
    // The same alert (fingerprint and startsAt) looks the same in the storm's own notifications.
    // (A flapping alert's last cycle may be in none: like Alertmanager, the simulator does not
    // notify a re-fire of a fingerprint that was still firing at the last notification.)
    const simAlerts = new Map(storm.notifications.flatMap((n) => n.payload.alerts.map((a) => [`${a.fingerprint}@${a.startsAt}`, a] as const)));
    let compared = 0;
    for (const p of firingPayloads) {
      for (const ra of p.alerts) {
        const sim = simAlerts.get(`${ra.fingerprint}@${ra.startsAt}`);
        if (!sim) continue;
        compared++;
        assert.deepEqual([sim.labels, sim.annotations, sim.startsAt, sim.generatorURL], [ra.labels, ra.annotations, ra.startsAt, ra.generatorURL]);
      }
    }
    assert.ok(compared >= alerts.length / 2, `only ${compared} alerts compared with the storm's own notifications`);
    // Group keys: one per alertname, as the simulator computes them.
    const simKeys = new Set(storm.notifications.map((n) => n.payload.groupKey));
    for (const p of firingPayloads) assert.ok(simKeys.has(p.groupKey), `group key ${p.groupKey} not among the simulator's`);

    // Alertmanager's own view: the same fingerprints through GET /api/v2/alerts.
    const listed = (await (await fetch(`${peer.url}/api/v2/alerts`)).json()) as Array<{ fingerprint: string; labels: Record<string, string> }>;
    assert.deepEqual(new Set(listed.map((a) => a.fingerprint)), new Set(alerts.map((a) => a.fingerprint)));

    // Phase 2: the same alerts with an endsAt in the past are resolved.
    await until('resolved', true);
    const resolvedPayloads = received.splice(0);
    checkPayloads(resolvedPayloads);
    const resolvedSeen = resolvedPayloads.flatMap((p) => p.alerts.filter((a) => a.status === 'resolved'));
    for (const a of resolvedSeen) assert.equal(a.endsAt, goTime(endOf(byFp.get(a.fingerprint)!)));
    assert.ok(resolvedPayloads.some((p) => p.status === 'resolved'), 'an all-resolved notification arrived');
    t.diagnostic(
      `${alerts.length} alerts (${alerts.filter((a) => a.faultId !== 'none').length} fault-caused) in ${new Set(firingPayloads.map((p) => p.groupKey)).size} groups; ` +
        `${firingPayloads.length} firing and ${resolvedPayloads.length} resolving notifications matched the simulator; ${compared} alerts matched its own notifications`,
    );
  });
});
