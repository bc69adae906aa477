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
import { freePort } from '../../../../edge-agent/src/testing/index.js';

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
});
