// Test-only: starts and stops a real Prometheus Alertmanager through deploy/dev/alertmanager.sh
// for the compatibility test. When the script fails, the tests FAIL under CI=true and are
// skipped (with a loud line on stderr) elsewhere: they prove nothing without their peer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

const SCRIPT = fileURLToPath(new URL('../../../deploy/dev/alertmanager.sh', import.meta.url));

export interface AlertmanagerPeer {
  port: number;
  /** http://127.0.0.1:<port> (also its external URL). */
  url: string;
  /** Why the peer is not there (the script failed), or undefined when it runs. */
  failure: string | undefined;
}

export interface AlertmanagerSettings {
  port: number;
  webhookUrl: string;
  groupBy: readonly string[];
  groupWait?: string;
  groupInterval?: string;
  /** A file holding the bearer token the webhook sends (e.g. a central API key). */
  credentialsFile?: string;
}

function env(s: AlertmanagerSettings): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ALERTMANAGER_PORT: String(s.port),
    ALERTMANAGER_WEBHOOK_URL: s.webhookUrl,
    ALERTMANAGER_GROUP_BY: s.groupBy.join(','),
    ALERTMANAGER_GROUP_WAIT: s.groupWait ?? '1s',
    ALERTMANAGER_GROUP_INTERVAL: s.groupInterval ?? '1s',
    ALERTMANAGER_WEBHOOK_CREDENTIALS_FILE: s.credentialsFile ?? '',
  };
}

function run(cmd: 'start' | 'stop', s: AlertmanagerSettings) {
  return spawnSync('bash', [SCRIPT, cmd], { env: env(s), stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 /* apt install on a fresh machine */ });
}

/**
 * Starts Alertmanager with this webhook and route (a running instance with another config is
 * restarted by the script, with empty state). Call in before().
 */
export function startAlertmanager(s: AlertmanagerSettings): AlertmanagerPeer {
  const url = `http://127.0.0.1:${s.port}`;
  const res = run('start', s);
  let failure: string | undefined;
  if (res.error || res.status !== 0) {
    failure = `deploy/dev/alertmanager.sh start failed (exit ${res.status}${res.error ? `, ${res.error.message}` : ''})`;
    const what = process.env['CI'] === 'true' ? 'CI=true: the tests FAIL.' : 'The Alertmanager compatibility tests are SKIPPED.';
    process.stderr.write(`\n!!!!! Alertmanager peer NOT AVAILABLE on port ${s.port}: ${failure}. ${what} !!!!!\n\n`);
  }
  return { port: s.port, url, failure };
}

/** Call in after(): stops the instance this test configured. */
export function stopAlertmanager(peer: AlertmanagerPeer, s: AlertmanagerSettings): void {
  if (!peer.failure) run('stop', s);
}

/** At the top of each real-peer test: true = go on; false = skipped. Throws under CI=true. */
export function peerReady(t: TestContext, peer: AlertmanagerPeer): boolean {
  if (!peer.failure) return true;
  if (process.env['CI'] === 'true') assert.fail(`real peer Alertmanager is required under CI=true: ${peer.failure}`);
  t.skip(`Alertmanager not available: ${peer.failure}`);
  return false;
}
