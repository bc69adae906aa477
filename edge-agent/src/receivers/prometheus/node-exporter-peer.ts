// Test-only: starts and stops a real prometheus-node-exporter through deploy/dev/node-exporter.sh
// for the receivers' real-peer tests. Not imported by the agent. When the script fails, tests
// FAIL under CI=true and are skipped (with a loud line on stderr) elsewhere.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

const SCRIPT = fileURLToPath(new URL('../../../../deploy/dev/node-exporter.sh', import.meta.url));

export interface NodeExporterPeer {
  port: number;
  url: string;
  /** Why the peer is not there (script failed), or undefined when it runs. */
  failure: string | undefined;
  /** We started it, so we stop it (a peer someone else started is left running). */
  startedByUs: boolean;
}

function run(cmd: 'start' | 'stop' | 'status', port: number) {
  return spawnSync('bash', [SCRIPT, cmd], {
    env: { ...process.env, NODE_EXPORTER_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 300_000, // apt install on a fresh machine
  });
}

/** Port from `envVar` (default `fallback`); starts the exporter there. Call in before(). */
export function startNodeExporter(envVar: string, fallback: number): NodeExporterPeer {
  const port = Number(process.env[envVar] ?? fallback);
  const url = `http://127.0.0.1:${port}/metrics`;
  const already = run('status', port).status === 0;
  const res = already ? { status: 0, error: undefined } : run('start', port);
  let failure: string | undefined;
  if (res.error || res.status !== 0) {
    failure = `deploy/dev/node-exporter.sh start failed (exit ${res.status}${res.error ? `, ${res.error.message}` : ''})`;
    process.stderr.write(`\n!!!!! node_exporter peer NOT AVAILABLE on port ${port}: ${failure}. ${process.env.CI === 'true' ? 'CI=true: the tests FAIL.' : 'Real-peer tests are SKIPPED.'} !!!!!\n\n`);
  }
  return { port, url, failure, startedByUs: !already && !failure };
}

/** Call in after(). */
export function stopNodeExporter(peer: NodeExporterPeer): void {
  if (peer.startedByUs) run('stop', peer.port);
}

/** At the top of each real-peer test: true = go on; false = skipped. Throws under CI=true. */
export function peerReady(t: TestContext, peer: NodeExporterPeer): boolean {
  if (!peer.failure) return true;
  if (process.env.CI === 'true') assert.fail(`real peer node_exporter is required under CI=true: ${peer.failure}`);
  t.skip(`node_exporter not available: ${peer.failure}`);
  return false;
}
