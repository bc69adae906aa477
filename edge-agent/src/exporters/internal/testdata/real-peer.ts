// Starts and stops a real peer through its deploy/dev script. When the script fails the suite
// is skipped with a loud line on stderr, except under CI=true where it fails.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

export interface Peer {
  ok: boolean;
  reason: string;
}

export function devScript(name: string, action: 'start' | 'stop' | 'status'): boolean {
  const r = spawnSync('bash', [`${REPO_ROOT}deploy/dev/${name}.sh`, action], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  return r.status === 0;
}

/** Runs `<name>.sh start`; throws under CI=true when it fails, else returns a skip reason. */
export function startPeer(name: string): Peer {
  if (devScript(name, 'start')) return { ok: true, reason: '' };
  const reason = `deploy/dev/${name}.sh start failed`;
  if (process.env['CI'] === 'true') throw new Error(`${reason} (CI=true: a missing real peer fails the test)`);
  process.stderr.write(`\n!!!!!!!! SKIPPING the ${name} tests: ${reason}. They prove nothing without their peer. !!!!!!!!\n\n`);
  return { ok: false, reason };
}
