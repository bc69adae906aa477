// The model registry over the filesystem artifact store: versions numbered once even with two
// writers, stages move forward only, rollback follows the production line, a tampered model is
// refused, and artifact keys cannot leave the registry folder.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactError, FilesystemArtifactStore, ModelRegistry, RegistryError } from './index.js';
import type { ModelMetadata } from './index.js';

const meta = (n: number): ModelMetadata => ({ inputs: [{ name: 'x', dims: ['batch', 4] }], outputs: [{ name: 'score', dims: ['batch'] }], params: { n }, training: { dataDigest: `sha256:${n}`, series: 1, rows: 10, seed: 1, options: {}, sources: ['a.csv'] }, metrics: { mae: n } });
const bytes = (n: number) => new Uint8Array([8, 8, n]);

describe('model registry (filesystem)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-registry-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('numbers versions once, even when two writers register at the same time', async () => {
    const root = join(dir, 'concurrent');
    const a = new ModelRegistry(new FilesystemArtifactStore(root));
    const b = new ModelRegistry(new FilesystemArtifactStore(root));
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).register('agile', bytes(i), meta(i), `w${i % 2}`)));
    assert.deepEqual(made.map((v) => v.version).sort((x, y) => x - y), Array.from({ length: 12 }, (_, i) => i + 1));
    const listed = await a.list('agile');
    assert.equal(listed.length, 12);
    assert.ok(listed.every((v) => v.stage === 'shadow'));
    for (const v of made) assert.deepEqual(new Uint8Array(await b.model('agile', v.version)), bytes((v.metadata.params as { n: number }).n));
    assert.equal((await a.history('agile')).length, 12);
  });

  it('promotes forward only; production replaces and retires; rollback walks the production line back', async () => {
    const r = new ModelRegistry(new FilesystemArtifactStore(join(dir, 'stages')), () => Date.UTC(2026, 10, 26));
    for (let i = 1; i <= 3; i++) await r.register('robust', bytes(i), meta(i), 'trainer');
    const rev0 = await r.revision();
    await r.promote('robust', 1, 'production', 'alice');
    assert.notEqual(await r.revision(), rev0, 'a promotion changes the revision the serving side watches');
    await r.promote('robust', 2, 'canary', 'alice');
    assert.deepEqual(await r.serving('robust'), { production: 1, canary: 2, shadow: [3] });
    const e = await r.promote('robust', 2, 'production', 'bob');
    assert.equal(e.replaced, 1);
    await r.promote('robust', 3, 'production', 'bob');
    assert.deepEqual(await r.serving('robust'), { production: 3, shadow: [] });
    await assert.rejects(r.promote('robust', 3, 'canary', 'x'), (err: unknown) => err instanceof RegistryError && err.code === 'CONFLICT' && /forward only/.test(err.message));
    await assert.rejects(r.promote('robust', 1, 'production', 'x'), /retired/);
    await assert.rejects(r.promote('robust', 9, 'production', 'x'), (err: unknown) => err instanceof RegistryError && err.code === 'NOT_FOUND');
    await assert.rejects(r.promote('robust', 1, 'shadow' as never, 'x'), (err: unknown) => err instanceof RegistryError && err.code === 'INVALID_ARGUMENT');
    assert.equal((await r.rollback('robust', 'carol')).version, 2);
    assert.equal((await r.rollback('robust', 'carol')).version, 1);
    await assert.rejects(r.rollback('robust', 'carol'), (err: unknown) => err instanceof RegistryError && err.code === 'NO_ROLLBACK_TARGET');
    assert.deepEqual(await r.serving('robust'), { production: 1, shadow: [] });
    const h = await r.history('robust');
    assert.deepEqual(h.slice(-2).map((x) => [x.action, x.version, x.replaced, x.actor]), [
      ['rollback', 2, 3, 'carol'],
      ['rollback', 1, 2, 'carol'],
    ]);
    assert.equal(h[0]!.at, '2026-11-26T00:00:00.000Z');
    await assert.rejects(r.list('zzz' as never), /tier must be one of agile, robust/);
  });

  it('refuses a model file that no longer matches its recorded digest', async () => {
    const root = join(dir, 'tamper');
    const r = new ModelRegistry(new FilesystemArtifactStore(root));
    const v = await r.register('agile', bytes(1), meta(1), 't');
    await writeFile(join(root, 'agile', String(v.version), 'model.onnx'), bytes(2));
    await assert.rejects(r.model('agile', v.version), /does not match its recorded sha256/);
    await assert.rejects(r.register('agile', new Uint8Array(0), meta(1), 't'), /non-empty ONNX file/);
  });

  it('artifact keys stay inside the folder; conditional writes detect a concurrent change', async () => {
    const s = new FilesystemArtifactStore(join(dir, 'keys'));
    for (const bad of ['../x', 'a/../../b', '/etc/passwd', 'A', '', 'a//b', 'a/./b', 'x'.repeat(70)]) {
      await assert.rejects(s.write(bad, bytes(1)), (err: unknown) => err instanceof ArtifactError && err.code === 'INVALID_KEY', bad);
    }
    const e1 = await s.write('t/state.json', bytes(1), null);
    await assert.rejects(s.write('t/state.json', bytes(2), null), (err: unknown) => err instanceof ArtifactError && err.code === 'CONFLICT');
    const e2 = await s.write('t/state.json', bytes(3), e1);
    await assert.rejects(s.write('t/state.json', bytes(4), e1), /changed since it was read/);
    assert.deepEqual((await s.read('t/state.json'))?.etag, e2);
    assert.deepEqual(await s.list('t/'), ['t/state.json']);
    assert.equal(await s.read('t/none.json'), undefined);
  });
});
