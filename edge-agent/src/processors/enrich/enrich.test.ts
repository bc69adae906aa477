import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordingMetrics, runLifecycleContract, testSettings } from '../../testing/index.js';
import { Enricher, collectHostFacts, enrichConfigSchema } from './index.js';
import type { HostFacts } from './index.js';

const facts: HostFacts = { host: 'web-1', os: 'Debian GNU/Linux 12', kernel: '6.1.0', machine_id: 'abc123', cpus: '4', arch: 'x64', k8s: { namespace: 'shop', pod: 'cart-7d9', node: 'node-3' } };

function setup(cfg: Record<string, unknown> = {}) {
  const sink = new RecordingMetrics();
  const e = new Enricher(testSettings('enrich'), enrichConfigSchema.parse(cfg), facts, sink);
  return { sink, e };
}

describe('enrich processor', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => setup().e);
  });

  it('adds host facts, Kubernetes identity and static tags; existing labels win', async () => {
    const { sink, e } = setup({ host_labels: ['host', 'machine_id'], tags: { env: 'prod', host: 'ignored' } });
    await e.consumeMetrics({ source: 't', samples: [{ name: 'm', labels: { env: 'staging' }, ts: 1, value: 1, kind: 'gauge' }] });
    const s = sink.samples[0]!;
    assert.deepEqual(s.labels, { host: 'ignored', machine_id: 'abc123', k8s_namespace: 'shop', k8s_pod: 'cart-7d9', k8s_node: 'node-3', env: 'staging' });
    assert.equal(s.key, 'm{env="staging",host="ignored",k8s_namespace="shop",k8s_node="node-3",k8s_pod="cart-7d9",machine_id="abc123"}');
  });

  it('override: enrichment wins when asked', async () => {
    const { sink, e } = setup({ tags: { env: 'prod' }, override: true, kubernetes: false });
    await e.consumeMetrics({ source: 't', samples: [{ name: 'm', labels: { env: 'staging' }, ts: 1, value: 1, kind: 'gauge' }] });
    assert.deepEqual(sink.samples[0]!.labels, { host: 'web-1', env: 'prod' });
  });

  it('maps series to services, first matching rule wins, only when no service label exists', async () => {
    const { sink, e } = setup({
      services: [
        { service: 'db', metric: '^pg_' },
        { service: 'web', labels: { job: '^nginx' } },
        { service: 'never', metric: '.*' },
      ],
      kubernetes: false,
      host_labels: [],
    });
    const labelsA = { job: 'nginx-1' };
    await e.consumeMetrics({
      source: 't',
      samples: [
        { name: 'pg_up', labels: {}, ts: 1, value: 1, kind: 'gauge' },
        { name: 'req', labels: labelsA, ts: 1, value: 1, kind: 'gauge' },
        { name: 'req', labels: labelsA, ts: 2, value: 1, kind: 'gauge' },
        { name: 'x', labels: { service: 'own' }, ts: 1, value: 1, kind: 'gauge' },
      ],
    });
    assert.deepEqual(sink.samples.map((s) => s.labels.service), ['db', 'web', 'web', 'own']);
    assert.strictEqual(sink.samples[1]!.labels, sink.samples[2]!.labels, 'label sets are cached per series');
  });

  it('rejects invalid regexes and label names in config, naming the path', () => {
    const r = enrichConfigSchema.safeParse({ services: [{ service: 'x', metric: '(' }], tags: { 'bad name': 'v' } });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    assert.ok(paths.includes('services.0.metric'), paths.join(' '));
    assert.ok(paths.some((p) => p.startsWith('tags')), paths.join(' '));
  });

  it('collects host facts from injected sources, including the downward API', () => {
    const f = collectHostFacts({
      env: { POD_NAMESPACE: 'ns', POD_NAME: 'p', NODE_NAME: 'n' },
      readText: (p) => (p === '/etc/os-release' ? 'NAME="X"\nPRETTY_NAME="Test OS 1"\n' : p === '/etc/machine-id' ? 'm-id\n' : undefined),
      hostname: () => 'h',
    });
    assert.equal(f.host, 'h');
    assert.equal(f.os, 'Test OS 1');
    assert.equal(f.machine_id, 'm-id');
    assert.deepEqual(f.k8s, { namespace: 'ns', pod: 'p', node: 'n' });
    assert.ok(Number(f.cpus) >= 1);
  });
});
