// A private instance of a real server for a test suite, started by one of deploy/dev/*.sh with
// its own state folder (AIOPS_DEV_HOME) and a free loopback port, so stopping it (outage tests
// do) never disturbs another suite. A port that was free when picked can be taken before the
// server binds it (by another suite's server, or as the ephemeral port of any outgoing
// connection): the script then fails within seconds, and the start is tried again on fresh
// ports, 3 times in all. When every try fails the suite is skipped with a loud line on stderr,
// except under CI=true, where a missing real peer fails the run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './index.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ATTEMPTS = 3;

export interface DevPeerOptions {
  /** The script under deploy/dev, e.g. `kafka.sh`. */
  script: string;
  /** What the suites prove with it (for the skip line), e.g. "the Kafka bus tests". */
  suites: string;
  /** The script's environment for a port (e.g. `{ KAFKA_PORT: "12345" }`), beside AIOPS_DEV_HOME. */
  env(port: number): Record<string, string>;
  /** Variables removed from the inherited environment (a fixed port of another instance). */
  unset?: readonly string[];
}

export interface DevPeer {
  ok: boolean;
  /** Why it is not running (empty when ok). */
  reason: string;
  port: number;
  /** Its state folder (AIOPS_DEV_HOME of the script). */
  home: string;
  /** Runs the script again (`start`, `stop`, `status`); true when it succeeded. */
  script(action: 'start' | 'stop' | 'status'): Promise<boolean>;
  /** Stops it and removes its state folder. */
  dispose(): Promise<void>;
}

async function startOnce(o: DevPeerOptions): Promise<DevPeer> {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), `aiops-dev-${o.script.replace(/\.sh$/, '')}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, AIOPS_DEV_HOME: home, ...o.env(port) };
  for (const k of o.unset ?? []) delete env[k];
  // Asynchronous, so a test's clients keep running while the server stops or starts.
  const script = (action: 'start' | 'stop' | 'status') =>
    new Promise<boolean>((resolve) => {
      const child = spawn('bash', [join(REPO_ROOT, 'deploy', 'dev', o.script), action], { cwd: REPO_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
      child.once('error', () => resolve(false));
      child.once('close', (code) => resolve(code === 0));
    });
  const dispose = async () => {
    await script('stop');
    rmSync(home, { recursive: true, force: true });
  };
  if (await script('start')) return { ok: true, reason: '', port, home, script, dispose };
  await dispose();
  return { ok: false, reason: `deploy/dev/${o.script} start failed`, port, home, script, dispose: async () => undefined };
}

export async function startDevPeer(o: DevPeerOptions): Promise<DevPeer> {
  for (let attempt = 1; ; attempt++) {
    const peer = await startOnce(o);
    if (peer.ok) return peer;
    if (attempt < ATTEMPTS) {
      process.stderr.write(`deploy/dev/${o.script} start failed on port ${peer.port} (attempt ${attempt} of ${ATTEMPTS}): trying again on a fresh port\n`);
      continue;
    }
    const reason = `deploy/dev/${o.script} start failed ${ATTEMPTS} times, each on a fresh port (its output is above)`;
    if (process.env['CI'] === 'true') throw new Error(`${reason} (CI=true: a missing real peer fails the test)`);
    process.stderr.write(`\n!!!!!!!! SKIPPING ${o.suites}: ${reason}. They prove nothing without their peer. !!!!!!!!\n\n`);
    return { ...peer, reason };
  }
}
