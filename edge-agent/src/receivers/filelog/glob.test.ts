import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GlobMatcher, pathRegExp, segmentRegExp } from './glob.js';

describe('filelog glob', () => {
  const root = mkdtempSync(join(tmpdir(), 'filelog-glob-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('matches * and ? within one segment only', () => {
    assert.ok(segmentRegExp('*.log').test('app.log'));
    assert.ok(!segmentRegExp('*.log').test('app.log.1'));
    assert.ok(segmentRegExp('app-?.log').test('app-3.log'));
    assert.ok(!segmentRegExp('app-?.log').test('app-33.log'));
    assert.ok(segmentRegExp('a+b(c).log').test('a+b(c).log'), 'regex characters are literal');
    assert.ok(pathRegExp('/var/log/*/x.log').test('/var/log/nginx/x.log'));
    assert.ok(!pathRegExp('/var/log/*.log').test('/var/log/nginx/x.log'));
  });

  it('expands wildcards in the last and in middle segments, sorted, with excludes', async () => {
    for (const d of ['a', 'b', 'c.d']) mkdirSync(join(root, 'svc', d), { recursive: true });
    for (const f of ['svc/a/app.log', 'svc/a/app.log.1', 'svc/b/app.log', 'svc/b/other.txt', 'svc/c.d/app.log', 'top.log', 'top.gz']) writeFileSync(join(root, f), 'x\n');
    writeFileSync(join(root, 'svc', 'plainfile'), 'not a folder');
    const g = new GlobMatcher([`${root}/svc/*/app.log*`, `${root}/top.*`], [`${root}/*.gz`, `${root}/svc/c.d/*`]);
    const r = await g.expand();
    assert.equal(r.limited, false);
    assert.deepEqual(r.paths, [`${root}/svc/a/app.log`, `${root}/svc/a/app.log.1`, `${root}/svc/b/app.log`, `${root}/top.log`]);
  });

  it('returns literal paths as given (the receiver checks they exist) and nothing under a missing folder', async () => {
    const g = new GlobMatcher([`${root}/nope/*.log`, `${root}/literal.log`], []);
    assert.deepEqual((await g.expand()).paths, [`${root}/literal.log`]);
  });

  it('stops at its limits and says so', async () => {
    const many = join(root, 'many');
    mkdirSync(many);
    for (let i = 0; i < 300; i++) writeFileSync(join(many, `f${i}.log`), '');
    const byMatches = await new GlobMatcher([`${many}/*.log`], [], { maxMatches: 50, maxEntriesPerDir: 10_000, maxDirs: 10 }).expand();
    assert.equal(byMatches.paths.length, 50);
    assert.equal(byMatches.limited, true);
    const byEntries = await new GlobMatcher([`${many}/*.log`], [], { maxMatches: 10_000, maxEntriesPerDir: 100, maxDirs: 10 }).expand();
    assert.ok(byEntries.paths.length <= 100);
    assert.equal(byEntries.limited, true);
  });
});
