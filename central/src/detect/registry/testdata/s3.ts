// An S3-compatible store for the S3 artifact store tests, started by deploy/dev/s3.sh as a
// private instance: its own state folder (AIOPS_DEV_HOME) and a free port. A port that was free
// when picked can be taken before the server binds it, so the start is tried 3 times on fresh
// ports. When the script fails the suite is skipped with a loud line on stderr, except under
// CI=true where it fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../../../edge-agent/src/testing/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const ATTEMPTS = 3;

export interface S3Peer {
  ok: boolean;
  reason: string;
  endpoint: string;
  dispose(): Promise<void>;
}

export async function startS3(): Promise<S3Peer> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const port = await freePort();
    const home = mkdtempSync(join(tmpdir(), 'aiops-dev-s3-'));
    const env: NodeJS.ProcessEnv = { ...process.env, AIOPS_DEV_HOME: home, S3_PORT: String(port) };
    const script = (action: 'start' | 'stop') =>
      new Promise<boolean>((resolve) => {
        const child = spawn('bash', [`${REPO_ROOT}deploy/dev/s3.sh`, action], { cwd: REPO_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
        child.once('error', () => resolve(false));
        child.once('close', (code) => resolve(code === 0));
      });
    const dispose = async () => {
      await script('stop');
      rmSync(home, { recursive: true, force: true });
    };
    if (await script('start')) return { ok: true, reason: '', endpoint: `http://127.0.0.1:${port}`, dispose };
    await dispose();
    if (attempt < ATTEMPTS) process.stderr.write(`deploy/dev/s3.sh start failed on port ${port} (attempt ${attempt} of ${ATTEMPTS}): trying again on a fresh port\n`);
  }
  const reason = `deploy/dev/s3.sh start failed ${ATTEMPTS} times (its output is above)`;
  if (process.env['CI'] === 'true') throw new Error(`${reason} (CI=true: a missing real peer fails the test)`);
  process.stderr.write(`\n!!!!!!!! SKIPPING the S3 artifact store tests: ${reason}. They prove nothing without their peer. !!!!!!!!\n\n`);
  return { ok: false, reason, endpoint: '', dispose: async () => undefined };
}
