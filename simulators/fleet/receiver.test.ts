// The simulator receiver: the agent's lifecycle contract, feeds wired through the factory, pushes
// refused (not thrown) while no receiver runs, and the registry it joins.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry } from '../../edge-agent/src/components.js';
import { resolveConfig } from '../../edge-agent/src/config/config.js';
import type { MetricSample } from '../../edge-agent/src/pdata.js';
import { RecordingMetrics, metricValue, runLifecycleContract, testSettings } from '../../edge-agent/src/testing/index.js';
import { FleetError, SimulatorFeeds, simulatorReceiverConfigSchema, simulatorReceiverFactory } from './index.js';

const sample = (ts: number, value: number): MetricSample => ({ name: 'sim_service_cpu_cores', labels: { service: 'cart', host: 'node-1' }, ts, value, kind: 'gauge' });

describe('simulator receiver', () => {
  it('passes the lifecycle contract', async () => {
    const feeds = new SimulatorFeeds();
    feeds.open('a');
    const factory = simulatorReceiverFactory(feeds);
    await runLifecycleContract(() => factory.create(testSettings('simulator'), { feed: 'a' }, new RecordingMetrics()));
    assert.equal(feeds.get('a')!.attached, false, 'detached after shutdown');
  });

  it('hands pushed samples to next while running, and refuses them (counted) otherwise', async () => {
    const feeds = new SimulatorFeeds();
    const feed = feeds.open('sim-node-1');
    const next = new RecordingMetrics();
    const s = testSettings('simulator');
    const r = simulatorReceiverFactory(feeds).create(s, { feed: 'sim-node-1' }, next);

    assert.deepEqual(await feed.push([sample(1000, 1)]), { kind: 'dropped', samples: 1, reason: 'not_running' });
    await r.start();
    assert.equal(feed.attached, true);
    assert.deepEqual(await feed.push([sample(2000, 2), sample(3000, 3)]), { kind: 'accepted', samples: 2 });
    assert.deepEqual(next.batches.map((b) => b.source), ['simulator']);
    assert.deepEqual(next.samples.map((x) => x.value), [2, 3]);
    assert.equal(await metricValue(s, 'aiops_agent_simulator_samples_total'), 2);

    next.failWith = new Error('downstream is full');
    const failed = await feed.push([sample(4000, 4)]);
    assert.equal(failed.kind, 'failed');
    assert.match(failed.kind === 'failed' ? failed.error.message : '', /downstream is full/);
    assert.equal(await metricValue(s, 'aiops_agent_simulator_push_errors_total'), 1);

    await r.shutdown();
    assert.deepEqual(await feed.push([sample(5000, 5)]), { kind: 'dropped', samples: 1, reason: 'not_running' });
    assert.equal(feed.dropped, 2);
  });

  it('refuses a feed that is not open, and a second reader of one feed', async () => {
    const feeds = new SimulatorFeeds();
    feeds.open('a');
    const factory = simulatorReceiverFactory(feeds);
    assert.throws(
      () => factory.create(testSettings('simulator'), { feed: 'b' }, new RecordingMetrics()),
      (e: unknown) => e instanceof FleetError && e.code === 'START_FAILED' && /receivers\.simulator\.feed refers to simulator feed "b", which is not open \(open: a\)/.test(e.message),
    );
    const one = factory.create(testSettings('simulator'), { feed: 'a' }, new RecordingMetrics());
    const two = factory.create(testSettings('simulator/two'), { feed: 'a' }, new RecordingMetrics());
    await one.start();
    await assert.rejects(two.start(), (e: unknown) => e instanceof FleetError && /feed "a" is already read by receiver "simulator"/.test(e.message));
    await one.shutdown();
    assert.throws(() => feeds.open('a'), /already open/);
  });

  it('validates its config and joins the agent registry under type "simulator"', () => {
    assert.equal(simulatorReceiverConfigSchema.safeParse({}).success, false);
    assert.equal(simulatorReceiverConfigSchema.safeParse({ feed: 'x', extra: 1 }).success, false);
    const feeds = new SimulatorFeeds();
    const base = buildRegistry();
    const registry = { ...base, receivers: new Map([...base.receivers, ['simulator', simulatorReceiverFactory(feeds)]]) };
    const cfg = resolveConfig(
      {
        agent: { id: 'sim-node-1', data_dir: '/tmp/unused' },
        receivers: { simulator: { feed: 'sim-node-1' } },
        exporters: { mqtt: { url: 'mqtt://127.0.0.1:1883' } },
        pipelines: { metrics: { receivers: ['simulator'], exporters: ['mqtt'] } },
      },
      registry,
      {},
    );
    assert.equal(cfg.components.get('simulator')!.kind, 'receiver');
    assert.throws(
      () =>
        resolveConfig(
          { receivers: { simulator: {} }, exporters: { mqtt: { url: 'mqtt://127.0.0.1:1883' } }, pipelines: { metrics: { receivers: ['simulator'], exporters: ['mqtt'] } } },
          registry,
          {},
        ),
      /receivers\.simulator\.feed/,
    );
  });
});
