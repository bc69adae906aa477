// The artifact store contract (issue #7, Deliver 4): what the model registry needs of a store,
// run against the filesystem folder and an S3-compatible object store alike - reads of what was
// written with its etag, create-only and replace-only-this-version writes that refuse a
// concurrent change, listing by prefix, keys that cannot escape, and the registry on top:
// versions numbered once under concurrent writers, stages and rollback, a tampered model refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ArtifactError } from '../artifacts.js';
import type { ArtifactStore } from '../artifacts.js';
import { ModelRegistry, RegistryError } from '../registry.js';
import type { ModelMetadata } from '../registry.js';

export interface ArtifactStoreContractOptions {
  /** Why the suite is skipped (its peer is missing). */
  skip?: string;
}

const meta = (n: number): ModelMetadata => ({ inputs: [{ name: 'x', dims: ['batch', 4] }], outputs: [{ name: 'score', dims: ['batch'] }], params: { n }, training: { dataDigest: `sha256:${n}`, series: 1, rows: 10, seed: 1, options: {}, sources: ['a.csv'] }, metrics: { mae: n } });
const bytes = (n: number) => new Uint8Array([8, 8, n]);

/** `make(space)`: a store whose keys are separate from every other `space`'s (a folder, a key prefix). */
export function runArtifactStoreContract(name: string, make: (space: string) => ArtifactStore | Promise<ArtifactStore>, opts: ArtifactStoreContractOptions = {}): void {
  describe(`artifact store contract: ${name}`, { skip: opts.skip }, () => {
    const fresh = () => make(`c-${randomUUID().slice(0, 8)}`);

    it('reads back what was written, with an etag that changes with the content; a missing key is undefined', async () => {
      const s = await fresh();
      assert.equal(await s.read('t/none.json'), undefined);
      const e1 = await s.write('t/a.bin', bytes(1));
      const r1 = await s.read('t/a.bin');
      assert.deepEqual(new Uint8Array(r1!.bytes), bytes(1));
      assert.equal(r1!.etag, e1);
      const big = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 31) & 255);
      const e2 = await s.write('t/a.bin', big);
      assert.notEqual(e2, e1);
      const r2 = await s.read('t/a.bin');
      assert.equal(r2!.bytes.length, big.length);
      assert.ok(Buffer.from(r2!.bytes).equals(Buffer.from(big)), 'a 3 MiB artifact round-trips');
    });

    it('conditional writes: create-only refuses an existing key, replace-only refuses a changed one', async () => {
      const s = await fresh();
      const e1 = await s.write('t/state.json', bytes(1), null);
      await assert.rejects(s.write('t/state.json', bytes(2), null), (err: unknown) => err instanceof ArtifactError && err.code === 'CONFLICT' && err.retryable);
      const e2 = await s.write('t/state.json', bytes(3), e1);
      await assert.rejects(s.write('t/state.json', bytes(4), e1), /changed since it was read/);
      assert.equal((await s.read('t/state.json'))?.etag, e2);
      assert.deepEqual(new Uint8Array((await s.read('t/state.json'))!.bytes), bytes(3));
      // Of writers racing on one version, exactly one wins.
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => s.write('t/state.json', bytes(10 + i), e2)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one racing writer wins');
      assert.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ArtifactError && ((r as PromiseRejectedResult).reason as ArtifactError).code === 'CONFLICT'));
    });

    it('lists keys under a prefix, sorted, and only those', async () => {
      const s = await fresh();
      for (const k of ['agile/2/model.onnx', 'agile/1/model.onnx', 'agile/state.json', 'robust/1/model.onnx', 'agiler/x']) await s.write(k, bytes(1));
      assert.deepEqual(await s.list('agile/'), ['agile/1/model.onnx', 'agile/2/model.onnx', 'agile/state.json']);
      assert.deepEqual(await s.list('robust/'), ['robust/1/model.onnx']);
      assert.deepEqual(await s.list('none/'), []);
    });

    it('refuses keys that are not lower-case path segments (no way out of its space)', async () => {
      const s = await fresh();
      for (const bad of ['../x', 'a/../../b', '/etc/passwd', 'A', '', 'a//b', 'a/./b', 'x'.repeat(70), 'a\u0000b', 'a/b/']) {
        await assert.rejects(s.write(bad, bytes(1)), (err: unknown) => err instanceof ArtifactError && err.code === 'INVALID_KEY', JSON.stringify(bad));
        await assert.rejects(s.read(bad), (err: unknown) => err instanceof ArtifactError && err.code === 'INVALID_KEY', JSON.stringify(bad));
      }
    });

    it('the registry on it: versions numbered once under concurrent writers', async () => {
      const space = `c-${randomUUID().slice(0, 8)}`;
      const a = new ModelRegistry(await make(space));
      const b = new ModelRegistry(await make(space));
      const made = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).register('agile', bytes(i), meta(i), `w${i % 2}`)));
      assert.deepEqual(made.map((v) => v.version).sort((x, y) => x - y), Array.from({ length: 8 }, (_, i) => i + 1));
      const listed = await a.list('agile');
      assert.equal(listed.length, 8);
      assert.ok(listed.every((v) => v.stage === 'shadow'));
      for (const v of made) assert.deepEqual(new Uint8Array(await b.model('agile', v.version)), bytes((v.metadata.params as { n: number }).n));
      assert.equal((await a.history('agile')).length, 8);
    });

    it('the registry on it: promotes forward only; production replaces and retires; rollback walks the production line back', async () => {
      const r = new ModelRegistry(await fresh(), () => Date.UTC(2026, 10, 26));
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

    it('the registry on it: a model whose bytes no longer match the recorded digest is refused', async () => {
      const s = await fresh();
      const r = new ModelRegistry(s);
      const v = await r.register('agile', bytes(1), meta(1), 't');
      await s.write(`agile/${v.version}/model.onnx`, bytes(2));
      await assert.rejects(r.model('agile', v.version), /does not match its recorded sha256/);
      await assert.rejects(r.register('agile', new Uint8Array(0), meta(1), 't'), /non-empty ONNX file/);
    });
  });
}
