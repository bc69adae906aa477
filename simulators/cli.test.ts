// The composed simulate CLI (what `npm run simulate` runs): a shipped scenario through `run`
// writes every export, the alert storm included, byte-identically for the same seed; the
// virtual-agents subcommand is registered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { HIDDEN_FAULT_LABEL } from './model/index.js';
import type { GroundTruth } from './model/index.js';
import { DEFAULT_EXTENSIONS, runSimulateCli } from './cli.js';

const SCENARIO = new URL('./scenarios/ob-concurrent-overlapping.yaml', import.meta.url).pathname;

async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

function io() {
  const text = { out: '', err: '' };
  return { text, io: { stdout: { write: (c: string) => (text.out += c) }, stderr: { write: (c: string) => (text.err += c) } } };
}

describe('simulate CLI (composed)', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('run writes topology, ground truth, NAB, RCAEval and the alert storm, identically for the same seed', async () => {
    const runs: Array<Map<string, string>> = [];
    for (let i = 0; i < 2; i++) {
      const d = await mkdtemp(join(tmpdir(), 'simcli-'));
      dirs.push(d);
      const { io: x, text } = io();
      const code = await runSimulateCli(['run', SCENARIO, '--out', d], x, DEFAULT_EXTENSIONS);
      assert.equal(code, 0, text.err);
      assert.match(text.err, /alert-storm: wrote 3 file/);
      runs.push(await tree(d));
    }
    const [a, b] = runs as [Map<string, string>, Map<string, string>];
    for (const f of ['topology.json', 'ground-truth.json', 'alerts/notifications.jsonl', 'alerts/alerts.jsonl', 'alerts/stats.json']) {
      assert.ok(a.has(f), `${f} written`);
    }
    assert.ok([...a.keys()].some((f) => f.startsWith('nab/')) && [...a.keys()].some((f) => f.startsWith('rcaeval/')), 'NAB and RCAEval exports');
    assert.deepEqual([...a.entries()].sort(), [...b.entries()].sort(), 'same seed, same bytes');

    // every alert names a fault of the ground truth or "none", and the faults got alerts
    const d = dirs[0]!;
    const truth = JSON.parse(await readFile(join(d, 'ground-truth.json'), 'utf8')) as GroundTruth;
    const ids = new Set(truth.faults.map((f) => f.id));
    assert.ok(ids.size >= 2, 'a concurrent scenario');
    const seen = new Set<string>();
    for (const line of (await readFile(join(d, 'alerts/notifications.jsonl'), 'utf8')).trim().split('\n')) {
      const n = JSON.parse(line) as { payload: { version: string; alerts: Array<{ labels: Record<string, string> }> } };
      assert.equal(n.payload.version, '4');
      for (const al of n.payload.alerts) {
        const f = al.labels[HIDDEN_FAULT_LABEL];
        assert.ok(f === 'none' || ids.has(f!), `unknown ${HIDDEN_FAULT_LABEL} ${f}`);
        seen.add(f!);
      }
    }
    assert.ok([...ids].some((id) => seen.has(id)), 'at least one injected fault produced alerts');
  });

  it('registers the virtual-agents subcommand with its help (as npm run simulate runs it)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('./cli.ts', import.meta.url).pathname, 'agents', '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--count/);
    assert.match(r.stdout, /--target/);
  });
});
