// The model registry over the filesystem artifact store: the artifact store contract (shared
// with the S3 store, s3.test.ts), plus what only a folder shows - files that stay inside it,
// owner-only permissions, and a stale lock left by a crashed writer.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FilesystemArtifactStore } from './index.js';
import { runArtifactStoreContract } from './testing/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiops-registry-'));
});
after(() => rm(dir, { recursive: true, force: true }));

runArtifactStoreContract('filesystem', (space) => new FilesystemArtifactStore(join(dir, space)));

describe('filesystem artifact store', () => {
  it('writes owner-only files inside its folder', async () => {
    const s = new FilesystemArtifactStore(join(dir, 'perm'));
    await s.write('agile/1/model.onnx', new Uint8Array([1, 2, 3]));
    const st = await stat(join(dir, 'perm', 'agile', '1', 'model.onnx'));
    assert.equal(st.mode & 0o077, 0, 'no group or other access');
    assert.deepEqual(await s.list(''), ['agile/1/model.onnx']);
  });

  it('breaks a stale lock left by a crashed writer; a fresh one makes the writer wait', async () => {
    const s = new FilesystemArtifactStore(join(dir, 'lock'));
    const e = await s.write('t/state.json', new Uint8Array([1]), null);
    const lock = join(dir, 'lock', 't', 'state.json.lock');
    await writeFile(lock, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const e2 = await s.write('t/state.json', new Uint8Array([2]), e);
    assert.notEqual(e2, e);
    assert.deepEqual(await s.list('t/'), ['t/state.json'], 'locks and temporary files are not listed');
  });
});
