// Test-only: the real TSDBs of the tsdb tests and benchmark, started and stopped through the
// project's scripts: deploy/dev/prometheus.sh (remote-write receiver on) and
// deploy/dev/victoria-metrics.sh. When a script fails, the tests FAIL under CI=true and are
// skipped elsewhere with a loud line on stderr: they prove nothing without their peer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export type TsdbKind = 'prometheus' | 'victoria-metrics';

export interface TsdbPeer {
  kind: TsdbKind;
  port: number;
  /** http://127.0.0.1:<port>: the query API base. */
  base: string;
  /** Its remote-write endpoint. */
  writeUrl: string;
  /** Why the peer is not there (the script failed), or undefined when it runs. */
  failure: string | undefined;
  /** We started it, so we stop it (a peer someone else started is left running). */
  startedByUs: boolean;
  /** Extra environment of the script (e.g. AIOPS_DEV_HOME for a throw-away state folder). */
  env: NodeJS.ProcessEnv;
}

const SCRIPTS: Record<TsdbKind, string> = {
  prometheus: fileURLToPath(new URL('../../../../deploy/dev/prometheus.sh', import.meta.url)),
  'victoria-metrics': fileURLToPath(new URL('../../../../deploy/dev/victoria-metrics.sh', import.meta.url)),
};

const LABEL: Record<TsdbKind, string> = { prometheus: 'Prometheus (remote-write receiver on)', 'victoria-metrics': 'VictoriaMetrics' };

function scriptEnv(kind: TsdbKind, port: number, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return kind === 'prometheus'
    ? { ...process.env, ...extra, PROMETHEUS_PORT: String(port), PROMETHEUS_REMOTE_WRITE_RECEIVER: '1', PROMETHEUS_REMOTE_WRITE_URL: '' }
    : { ...process.env, ...extra, VICTORIA_METRICS_PORT: String(port) };
}

/** Runs the peer's script: start, stop or status. Synchronous (before()/after() and the restart test). */
export function runScript(peer: Pick<TsdbPeer, 'kind' | 'port' | 'env'>, cmd: 'start' | 'stop' | 'status'): { ok: boolean; why: string } {
  const res = spawnSync('bash', [SCRIPTS[peer.kind], cmd], {
    env: scriptEnv(peer.kind, peer.port, peer.env),
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000, // apt install on a fresh machine
  });
  if (res.error) return { ok: false, why: `deploy/dev/${peer.kind}.sh ${cmd}: ${res.error.message}` };
  return res.status === 0 ? { ok: true, why: '' } : { ok: false, why: `deploy/dev/${peer.kind}.sh ${cmd} exited with ${res.status}` };
}

/** Port from `envVar` (default `fallback`); starts the TSDB there. Call in before(). */
export function startPeer(kind: TsdbKind, envVar: string, fallback: number, env: NodeJS.ProcessEnv = {}): TsdbPeer {
  const port = Number(process.env[envVar] ?? fallback);
  const base = `http://127.0.0.1:${port}`;
  const peer: TsdbPeer = { kind, port, base, writeUrl: `${base}/api/v1/write`, failure: undefined, startedByUs: false, env };
  const already = runScript(peer, 'status').ok;
  const res = already ? { ok: true, why: '' } : runScript(peer, 'start');
  if (!res.ok) {
    peer.failure = res.why;
    const what = process.env['CI'] === 'true' ? 'CI=true: the tests FAIL.' : 'Its real-peer tests are SKIPPED.';
    process.stderr.write(`\n!!!!! ${LABEL[kind]} peer NOT AVAILABLE on port ${port}: ${res.why}. ${what} !!!!!\n\n`);
  }
  peer.startedByUs = !already && res.ok;
  return peer;
}

/** Call in after(). */
export function stopPeer(peer: TsdbPeer): void {
  if (peer.startedByUs) runScript(peer, 'stop');
}

/** At the top of each real-peer test: true = go on; false = skipped. Throws under CI=true. */
export function peerReady(t: TestContext, peer: TsdbPeer): boolean {
  if (!peer.failure) return true;
  if (process.env['CI'] === 'true') assert.fail(`real peer ${LABEL[peer.kind]} is required under CI=true: ${peer.failure}`);
  t.skip(`${LABEL[peer.kind]} not available: ${peer.failure}`);
  return false;
}
