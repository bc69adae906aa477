// The model registry's S3 artifact store against an S3-compatible server (deploy/dev/s3.sh, a
// private instance): the artifact store contract it shares with the filesystem store, plus what
// only S3 shows - a prefix that confines the registry inside a shared bucket, a missing bucket
// and an unreachable endpoint named with what to do, and options refused before any request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ArtifactError, ModelRegistry, S3ArtifactStore } from './index.js';
import type { S3ArtifactStoreOptions } from './index.js';
import { runArtifactStoreContract } from './testing/index.js';
import { startS3 } from './testdata/s3.js';
import { freePort, until } from '../../../../edge-agent/src/testing/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCentralConfig } from '../../config/config.js';
import { startTestCentral } from '../../service/testing/index.js';
import type { TestCentral } from '../../service/testing/index.js';
import { AGILE_DEFAULTS, agileGraph } from '../agile/index.js';
import { encodeOnnxModel } from '../onnx/index.js';

const peer = await startS3();
const BUCKET = 'aiops-models';
const credentials = { accessKeyId: 'test-key', secretAccessKey: 'test-secret' };
const stores: S3ArtifactStore[] = [];
const store = (o: Partial<S3ArtifactStoreOptions> = {}) => {
  const s = new S3ArtifactStore({ bucket: BUCKET, prefix: '', region: 'us-east-1', endpoint: peer.endpoint, forcePathStyle: true, credentials, ...o });
  stores.push(s);
  return s;
};
before(async () => {
  if (!peer.ok) return;
  const c = new S3Client({ region: 'us-east-1', endpoint: peer.endpoint, forcePathStyle: true, credentials });
  await c.send(new CreateBucketCommand({ Bucket: BUCKET }));
  c.destroy();
});
after(async () => {
  for (const s of stores) s.destroy();
  await peer.dispose();
});
const skip = peer.ok ? undefined : peer.reason;

runArtifactStoreContract('s3', (space) => store({ prefix: `registry/${space}` }), skip ? { skip } : {});

describe('S3 artifact store', { skip }, () => {
  it('a prefix confines the registry: two registries in one bucket never see each other', async () => {
    const a = new ModelRegistry(store({ prefix: 'team-a/models' }));
    const b = new ModelRegistry(store({ prefix: 'team-b/models' }));
    const meta = { inputs: [], outputs: [], params: {}, training: { dataDigest: 'sha256:x', series: 1, rows: 1, seed: 1, options: {}, sources: [] }, metrics: {} };
    assert.equal((await a.register('agile', new Uint8Array([1]), meta, 't')).version, 1);
    assert.equal((await a.register('agile', new Uint8Array([2]), meta, 't')).version, 2);
    assert.equal((await b.register('agile', new Uint8Array([3]), meta, 't')).version, 1);
    assert.deepEqual((await b.list('agile')).map((v) => v.version), [1]);
    assert.deepEqual(await store({ prefix: 'team-a/models' }).list('agile/1/'), ['agile/1/metadata.json', 'agile/1/model.onnx']);
  });

  it('a missing bucket and an unreachable endpoint are IO errors that say what to do', async () => {
    const none = store({ bucket: 'no-such-bucket' });
    await assert.rejects(none.read('agile/state.json'), (err: unknown) => err instanceof ArtifactError && err.code === 'IO' && /create the bucket no-such-bucket first/.test(err.message));
    await assert.rejects(none.write('agile/state.json', new Uint8Array([1]), null), (err: unknown) => err instanceof ArtifactError && err.code === 'IO' && /s3:\/\/no-such-bucket\/agile\/state.json/.test(err.message));
    const port = await freePort();
    const down = store({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    await assert.rejects(down.read('agile/state.json'), (err: unknown) => err instanceof ArtifactError && err.code === 'IO' && err.retryable);
  });

  it('refuses bad options before any request, naming the setting', () => {
    assert.throws(() => store({ bucket: 'A_Bucket' }), /models.registry.s3.bucket "A_Bucket" is not an S3 bucket name/);
    assert.throws(() => store({ prefix: '/models/' }), /models.registry.s3.prefix/);
    assert.throws(() => store({ prefix: '../x' }), /models.registry.s3.prefix/);
    assert.throws(() => store({ endpoint: 'ftp://x' }), /models.registry.s3.endpoint "ftp:\/\/x" must be an http\(s\) URL/);
  });

  it('central with models.registry.kind s3: a version registered by a training job elsewhere, promoted over the API, is served (hot reload)', async () => {
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    // Central takes credentials from the SDK's default chain, here the environment.
    process.env['AWS_ACCESS_KEY_ID'] = credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = credentials.secretAccessKey;
    let tc: TestCentral | undefined;
    try {
      tc = await startTestCentral(
        { api: { rate_per_second: 1000, burst: 1000 }, models: { reload_interval: '200ms', onnx: { execution_providers: ['cpu'] }, registry: { kind: 's3', s3: { bucket: BUCKET, prefix: 'central-e2e', endpoint: peer.endpoint, force_path_style: true } } } },
        'aiops-s3-central-',
      );
      const { central, api } = tc;
      const admin = (await tc.key('admin', ['admin'])).token;
      // The training job: another process, the same bucket and prefix.
      const trainer = new ModelRegistry(store({ prefix: 'central-e2e' }));
      const params = { ...AGILE_DEFAULTS, k: 7 };
      const spec = agileGraph(params);
      const v = await trainer.register('agile', encodeOnnxModel(spec), { inputs: spec.inputs.map((i) => ({ name: i.name, dims: [...i.dims] })), outputs: spec.outputs.map((o) => ({ name: o.name, dims: [...o.dims] })), params: { ...params }, training: { dataDigest: 'sha256:x', series: 1, rows: 1, seed: 1, options: {}, sources: [] }, metrics: {} }, 'trainer');
      const res = await fetch(`${api}/api/v1/models/agile/${v.version}/promote`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: 'production' }) });
      assert.equal(res.status, 200, await res.text());
      await until(() => central.modelServer!.model('agile')?.version === v.version, 'the promoted version served from the bucket', 30_000);
      assert.equal((await trainer.get('agile', v.version)).stage, 'production', 'the promotion is in the bucket, seen by the trainer');
    } finally {
      await tc?.stop();
      if (saved.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
      else process.env['AWS_ACCESS_KEY_ID'] = saved.id;
      if (saved.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
      else process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
    }
  });

  it('the training job writes straight into an s3:// registry (npm run train -- ... --out s3://bucket/prefix)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { writeFile, mkdir } = await import('node:fs/promises');
    const dir = await mkdtemp(join(tmpdir(), 'aiops-s3-train-'));
    try {
      await mkdir(join(dir, 'nab'));
      const rows = Array.from({ length: 4000 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ')},${40 + 5 * Math.sin((2 * Math.PI * i) / 96) + ((i * 7919) % 101) / 50}`);
      await writeFile(join(dir, 'nab', 's.csv'), ['timestamp,value', ...rows].join('\n') + '\n');
      const root = new URL('../../../../', import.meta.url).pathname;
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'simulators/train/cli.ts', 'agile', '--data', join(dir, 'nab'), '--out', `s3://${BUCKET}/trained`, '--s3-endpoint', peer.endpoint, '--s3-path-style', '--quiet'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: 'us-east-1' },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /registered agile version 1 \(stage shadow\) in s3:\/\/aiops-models\/trained/);
      assert.doesNotMatch(r.stdout + r.stderr, /test-secret/, 'the secret is never printed');
      const v = await new ModelRegistry(store({ prefix: 'trained' })).get('agile', 1);
      assert.equal(v.stage, 'shadow');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('config: kind s3 needs a bucket, named in the error', () => {
    assert.throws(() => resolveCentralConfig({ models: { registry: { kind: 's3' } } }), /models\.registry\.s3.*bucket/s);
    assert.throws(() => resolveCentralConfig({ models: { registry: { kind: 'gcs' } } }), /models\.registry\.kind/);
  });
});
