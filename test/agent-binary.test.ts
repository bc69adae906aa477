// The agent as an operator gets it: dist/aiops-agent, built by `npm run build:agent`, run from a
// folder with no node_modules. Checks the CLI, then runs the real pipeline (host metrics and a
// log file -> normalize, enrich, Tier-1 -> feature frames over gRPC to a test ingest server),
// and finally kills it with SIGKILL during a central outage: the restarted agent delivers what
// its buffer held.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestIngestServer } from '../edge-agent/src/exporters/grpc/testdata/ingest-server.js';
import { IngestRecorder } from '../edge-agent/src/exporters/internal/testdata/ingest-recorder.js';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dist/aiops-agent (single executable)', () => {
  let dir: string;
  let exe: string;

  before(() => {
    const b = spawnSync('npm', ['run', 'build:agent'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
    assert.equal(b.status, 0, `npm run build:agent failed:\n${b.stdout}\n${b.stderr}`);
    dir = mkdtempSync(join(tmpdir(), 'agent-bin-')); // no node_modules anywhere above it
    exe = join(dir, 'aiops-agent');
    copyFileSync(join(root, 'dist', 'aiops-agent'), exe);
    spawnSync('chmod', ['755', exe]);
    copyFileSync(join(root, 'deploy', 'agent.example.yaml'), join(dir, 'agent.example.yaml'));
  });

  it('checks the example config, prints its version, refuses a bad config naming the path', () => {
    const ok = spawnSync(exe, ['--check-config', '--config', 'agent.example.yaml'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /configuration OK: .*5 receiver\(s\), 3 processor\(s\), 1 exporter\(s\)/);
    assert.equal(ok.stderr, '', 'no warnings from the executable');
    // The form the README and issue #3 use: the file named by --check-config itself.
    mkdirSync(join(dir, 'deploy'), { recursive: true });
    copyFileSync(join(dir, 'agent.example.yaml'), join(dir, 'deploy', 'agent.example.yaml'));
    const named = spawnSync(exe, ['--check-config', 'deploy/agent.example.yaml'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(named.status, 0, named.stderr);
    assert.match(named.stdout, /configuration OK/);
    const two = spawnSync(exe, ['--check-config', 'deploy/agent.example.yaml', '--config', 'other.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(two.status, 2);
    assert.match(two.stderr, /two config files named/);
    const v = spawnSync(exe, ['--version'], { cwd: dir, encoding: 'utf8' });
    assert.equal(v.stdout.trim(), pkg.version);
    writeFileSync(join(dir, 'bad.yaml'), 'receivers:\n  hostmetrics: { interval: 0s }\nexporters:\n  grpc: { endpoint: "nohost" }\npipelines:\n  metrics: { receivers: [hostmetrics], exporters: [grpc] }\n');
    const bad = spawnSync(exe, ['--check-config', '--config', 'bad.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /receivers\.hostmetrics\.interval must be >= 1000 ms \(got "0s"\)/);
    assert.match(bad.stderr, /exporters\.grpc\.endpoint must be host:port \(got "nohost"\)/);
    const help = spawnSync(exe, ['--help'], { cwd: dir, encoding: 'utf8' });
    assert.match(help.stdout, /--check-config/);
  });

  it('prints the resolved config with secrets hidden', () => {
    writeFileSync(join(dir, 'secret.yaml'), 'receivers:\n  hostmetrics: {}\nexporters:\n  mqtt: { url: "mqtt://127.0.0.1:1883", username: u, password: hunter2 }\npipelines:\n  metrics: { receivers: [hostmetrics], exporters: [mqtt] }\n');
    const p = spawnSync(exe, ['--print-config', '--config', 'secret.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    assert.doesNotMatch(p.stdout, /hunter2/);
    assert.match(p.stdout, /password: "?\[redacted\]"?/);
    assert.match(p.stdout, /max_samples: 20000/, "defaults applied");
  });

  describe('running', () => {
    const recorder = new IngestRecorder();
    let server: TestIngestServer;
    let agent: ChildProcess | undefined;
    const log = () => join(dir, 'app.log');
    const statusPort = 19471;

    const startAgent = (): ChildProcess => {
      const c = spawn(exe, ['--config', 'run.yaml'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr!.on('data', (d: Buffer) => process.stderr.write(`[agent] ${d}`));
      return c;
    };

    before(async () => {
      server = new TestIngestServer({ recorder });
      const port = await server.start();
      writeFileSync(log(), '');
      writeFileSync(
        join(dir, 'run.yaml'),
        `agent: { id: bin-test, tenant: t, data_dir: ${JSON.stringify(join(dir, 'data'))} }
telemetry: { listen: "127.0.0.1:${statusPort}", log_level: warn }
features: { window: 2s, grace: 500ms }
receivers:
  hostmetrics: { interval: 1s }
  filelog/app: { include: [${JSON.stringify(log())}], start_at: beginning, poll_interval: 200ms, interval: 1s }
processors:
  normalize: {}
  enrich: { tags: { env: test } }
  tier1: { snapshot_interval: 1s, detector: { warmup: 5 } }
exporters:
  grpc: { endpoint: "127.0.0.1:${port}", tls: { insecure: true }, buffer: { flush_interval: 300ms }, retry: { initial_interval: 200ms, max_interval: 1s } }
pipelines:
  metrics: { receivers: [hostmetrics, filelog/app], processors: [normalize, enrich, tier1], exporters: [grpc] }
`,
      );
      agent = startAgent();
    });

    after(async () => {
      agent?.kill('SIGKILL');
      await server?.stop();
    });

    it('sends feature frames with host metrics, log counts and Tier-1 scores, and serves /healthz', async () => {
      const writer = setInterval(() => appendFileSync(log(), `2026-01-01 INFO request served in ${Math.floor(Math.random() * 90)} ms\nERROR upstream timeout after 30s\n`), 100);
      try {
        await recorder.waitFor(
          (r) => {
            const names = new Set<string>();
            for (const f of r.frames.values()) for (const l of f.labels) names.add(l.__name__ ?? '');
            return names.has('node_cpu_seconds_total:rate') && names.has('log_lines_total:rate') && names.has('node_memory_MemAvailable_bytes');
          },
          'host metric and log series',
          60_000,
        );
      } finally {
        clearInterval(writer);
      }
      const frames = [...recorder.frames.values()];
      const rows = frames.flatMap((f) => f.frame.rows.map((row, i) => ({ row, labels: f.labels[i]! })));
      const err = rows.find((r) => r.labels.__name__ === 'log_lines_total:rate' && r.labels.level === 'error');
      assert.ok(err, 'per-level log line rates');
      assert.equal(err.labels.env, 'test', 'enriched');
      assert.ok(err.labels.host, 'host label');
      assert.ok(rows.some((r) => Number.isFinite(r.row.tier1MaxScore)), 'Tier-1 scores in the frames');
      const h = await fetch(`http://127.0.0.1:${statusPort}/healthz`);
      assert.equal(h.status, 200);
      const m = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
      assert.match(m, /aiops_agent_exporter_frames_acked_total\{component="grpc"\} [1-9]/);
      assert.match(m, /process_resident_memory_bytes/);
      assert.equal(recorder.duplicates, 0);
      assert.ok(recorder.inOrder);
    });

    it('survives SIGKILL during a central outage: the restarted agent delivers its buffer, in order', async () => {
      const port = server.port;
      await server.stop();
      const outageStart = Date.now();
      await sleep(7000); // ~3 windows of 2 s buffered, flushed every 300 ms
      agent!.kill('SIGKILL');
      await new Promise((r) => agent!.once('exit', r));
      const killedAt = Date.now();
      server = new TestIngestServer({ recorder }); // central back, same durable recorder
      await server.start(port);
      agent = startAgent();
      await recorder.waitFor(
        (r) => [...r.frames.values()].some((f) => f.frame.windowStartMs >= killedAt),
        'a frame from after the restart',
        60_000,
      );
      const outageWindows = [...recorder.frames.values()].filter((f) => f.frame.windowStartMs >= outageStart && f.frame.windowEndMs <= killedAt - 1000);
      assert.ok(outageWindows.length >= 2, `windows produced during the outage and buffered before the kill arrived (${outageWindows.length})`);
      const seqs = recorder.unique;
      assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'sequences increase: replay in order, none reused after the restart');
    });
  });
});
