// The exporter and the query adapter against a real VictoriaMetrics 1.79 (Debian package),
// started by deploy/dev/victoria-metrics.sh on its own loopback port; this file also stops and
// restarts it mid-run (the exporter retries, then delivers). Without it the tests FAIL under
// CI=true and are skipped loudly elsewhere.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { runTsdbSuite } from './testdata/peer-suite.js';
import { runScript, startPeer, stopPeer } from './testdata/peers.js';
import type { TsdbPeer } from './testdata/peers.js';

let peer: TsdbPeer;
before(() => {
  peer = startPeer('victoria-metrics', 'AIOPS_TEST_VICTORIA_METRICS_PORT', 18428);
});
after(() => {
  if (peer) stopPeer(peer);
});

runTsdbSuite('tsdb exporter and adapter with a real VictoriaMetrics 1.79', () => peer, {
  refusesOutOfOrder: false,
  exactFloats: false,
  // New series become searchable by multi-label selectors ~8-10 s after ingestion on 1.79;
  // VictoriaMetrics' own flush endpoint keeps the tests quick (the adapter never calls it).
  afterWrite: async () => {
    const r = await fetch(`${peer.base}/internal/force_flush`);
    assert.equal(r.status, 200, 'force_flush');
  },
  restart: {
    stop: () => assert.ok(runScript(peer, 'stop').ok, 'victoria-metrics.sh stop'),
    start: () => assert.ok(runScript(peer, 'start').ok, 'victoria-metrics.sh start'),
  },
});
