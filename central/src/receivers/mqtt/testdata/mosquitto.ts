// A real Mosquitto for the external-mode tests, started by deploy/dev/mosquitto.sh (password
// file, ACL by client id, persistence) like the agent's mosquitto.test.ts, but as a private
// instance: its own state folder (AIOPS_DEV_HOME) and a free port, so stopping it never
// disturbs another suite using the shared one. When the script fails the suite is skipped with
// a loud line on stderr, except under CI=true where it fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../../../edge-agent/src/testing/index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

export interface Mosquitto {
  ok: boolean;
  reason: string;
  port: number;
  url: string;
  centralPassword: string;
  agentPassword: string;
  /** `start` or `stop` again (the outage tests). */
  script(action: 'start' | 'stop'): boolean;
}


export async function startMosquitto(): Promise<Mosquitto> {
  const port = await freePort();
  const env = {
    ...process.env,
    AIOPS_DEV_HOME: mkdtempSync(join(tmpdir(), 'aiops-dev-mqtt-ingest-')),
    MOSQUITTO_PORT: String(port),
    MOSQUITTO_CENTRAL_PASSWORD: 'central-secret',
    MOSQUITTO_AGENT_PASSWORD: 'agent-secret',
  };
  const script = (action: 'start' | 'stop') =>
    spawnSync('bash', [`${REPO_ROOT}deploy/dev/mosquitto.sh`, action], { cwd: REPO_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 }).status === 0;
  const base = { port, url: `mqtt://127.0.0.1:${port}`, centralPassword: 'central-secret', agentPassword: 'agent-secret', script };
  if (script('start')) return { ok: true, reason: '', ...base };
  const reason = 'deploy/dev/mosquitto.sh start failed';
  if (process.env['CI'] === 'true') throw new Error(`${reason} (CI=true: a missing real peer fails the test)`);
  process.stderr.write(`\n!!!!!!!! SKIPPING the mosquitto (external mode) tests: ${reason}. They prove nothing without their peer. !!!!!!!!\n\n`);
  return { ok: false, reason, ...base };
}
