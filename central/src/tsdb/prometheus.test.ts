// The exporter and the query adapter against a real Prometheus 2.42 (Debian package) with its
// remote-write receiver on, started by deploy/dev/prometheus.sh on its own loopback port. Without
// it the tests FAIL under CI=true and are skipped loudly elsewhere.
import { after, before } from 'node:test';
import { runTsdbSuite } from './testdata/peer-suite.js';
import { startPeer, stopPeer } from './testdata/peers.js';
import type { TsdbPeer } from './testdata/peers.js';

let peer: TsdbPeer;
before(() => {
  peer = startPeer('prometheus', 'AIOPS_TEST_PROMETHEUS_RW_PORT', 19091);
});
after(() => {
  if (peer) stopPeer(peer);
});

runTsdbSuite('tsdb exporter and adapter with a real Prometheus 2.42', () => peer, { refusesOutOfOrder: true, exactFloats: true });
