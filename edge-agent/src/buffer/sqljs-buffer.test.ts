import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { metricValue, testSettings } from '../testing/index.js';
import { runBufferContract } from './contract.js';
import { bufferConfigSchema } from './config.js';
import { bufferFileName, SqlJsFrameBuffer } from './sqljs-buffer.js';

runBufferContract('sql.js', (ctx) => new SqlJsFrameBuffer(ctx.settings, { path: ctx.path, maxBytes: ctx.maxBytes, flushIntervalMs: ctx.flushIntervalMs }));

describe('SqlJsFrameBuffer', () => {
  it('shrinks the persisted file once frames are acknowledged (incremental vacuum)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiops-buffer-'));
    const path = join(dir, 'x.buffer.sqlite');
    const b = new SqlJsFrameBuffer(testSettings('grpc', { dataDir: dir }), { path, maxBytes: 16 << 20, flushIntervalMs: 60_000 });
    await b.start();
    const blob = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff);
    for (let s = 1; s <= 300; s++) b.put(s, s, blob);
    await b.flush();
    const full = statSync(path).size;
    for (let s = 1; s <= 290; s++) b.ack(s);
    await b.flush();
    const drained = statSync(path).size;
    assert.ok(full > 6_000_000, `full file ${full}`);
    assert.ok(drained < full / 10, `drained file ${drained} vs full ${full}`);
    await b.shutdown();
  });

  it('leaves no temporary files behind and writes the file owner-only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiops-buffer-'));
    const path = join(dir, 'x.buffer.sqlite');
    const b = new SqlJsFrameBuffer(testSettings('grpc', { dataDir: dir }), { path, maxBytes: 1 << 20, flushIntervalMs: 60_000 });
    await b.start();
    b.put(1, 1, new Uint8Array(10));
    await b.flush();
    await b.shutdown();
    assert.deepEqual(readdirSync(dir), ['x.buffer.sqlite']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('counts a failing disk write, keeps the frames in memory and succeeds once the disk is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiops-buffer-'));
    const settings = testSettings('grpc', { dataDir: dir });
    const path = join(dir, 'x.buffer.sqlite');
    const b = new SqlJsFrameBuffer(settings, { path, maxBytes: 1 << 20, flushIntervalMs: 60_000 });
    await b.start();
    b.put(1, 1, new Uint8Array(10));
    // Root ignores folder permissions; a folder where the temporary file should go does not.
    mkdirSync(`${path}.tmp-${process.pid}`);
    await b.flush();
    await b.flush();
    assert.equal(await metricValue(settings, 'aiops_agent_buffer_flushes_total', { result: 'error' }), 2);
    assert.equal(b.size, 1);
    rmdirSync(`${path}.tmp-${process.pid}`);
    await b.flush();
    assert.equal(await metricValue(settings, 'aiops_agent_buffer_flushes_total', { result: 'ok' }), 1);
    await b.shutdown();
    const again = new SqlJsFrameBuffer(testSettings('grpc', { dataDir: dir }), { path, maxBytes: 1 << 20, flushIntervalMs: 60_000 });
    await again.start();
    assert.deepEqual(again.peek(5).map((f) => f.seq), [1]);
    await again.shutdown();
  });

  it('names its file after the component id', () => {
    assert.equal(bufferFileName('grpc'), 'grpc.buffer.sqlite');
    assert.equal(bufferFileName('mqtt/central-eu'), 'mqtt_central-eu.buffer.sqlite');
    assert.equal(bufferFileName('grpc/../../etc'), 'grpc_.._.._etc.buffer.sqlite');
  });

  it('validates its config: defaults, sizes and durations, unknown keys', () => {
    assert.deepEqual(bufferConfigSchema.parse({}), { max_bytes: 64 * 1024 * 1024, flush_interval: 1000 });
    assert.deepEqual(bufferConfigSchema.parse({ max_bytes: '8MiB', flush_interval: '250ms' }), { max_bytes: 8 * 1024 * 1024, flush_interval: 250 });
    assert.equal(bufferConfigSchema.safeParse({ max_bytes: '1KiB' }).success, false);
    assert.equal(bufferConfigSchema.safeParse({ flush_interval: '0s' }).success, false);
    assert.equal(bufferConfigSchema.safeParse({ maxBytes: 1 }).success, false);
  });
});
