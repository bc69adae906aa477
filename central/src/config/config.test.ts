import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CentralConfigError, loadCentralConfig, resolveCentralConfig } from './config.js';

function problems(doc: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveCentralConfig(doc, env);
  } catch (e) {
    assert.ok(e instanceof CentralConfigError, String(e));
    return e.message;
  }
  assert.fail('expected the config to be refused');
}

describe('central config', () => {
  it('defaults to the embedded mode on loopback', () => {
    const c = resolveCentralConfig({});
    assert.deepEqual(c.role, ['all']);
    assert.equal(c.api.listen, '127.0.0.1:8080');
    assert.equal(c.api.max_body, 1024 * 1024);
    assert.equal(c.storage.raw_retention, 2 * 86_400_000);
  });

  it('parses durations and sizes, takes unset keys from the environment', () => {
    const c = resolveCentralConfig(
      { api: { max_body: '2MiB' }, storage: { raw_retention: '6h' } },
      { AIOPS_CENTRAL__API__LISTEN: '0.0.0.0:9000', AIOPS_CENTRAL__API__MAX_BODY: '9MiB', AIOPS_CENTRAL__ROLE: '[ingest, api]' },
    );
    assert.equal(c.api.listen, '0.0.0.0:9000');
    assert.equal(c.api.max_body, 2 * 1024 * 1024, 'the file wins over the environment');
    assert.equal(c.storage.raw_retention, 6 * 3_600_000);
    assert.deepEqual(c.role, ['ingest', 'api']);
  });

  it('reports every problem at once with its path and value', () => {
    const msg = problems({ role: ['everything'], api: { listen: 'nowhere', burst: 0, extra: 1 }, storage: { raw_retention: '5x' } });
    assert.match(msg, /4 problems|5 problems/);
    assert.match(msg, /role\.0 .*"everything"/);
    assert.match(msg, /api\.listen must be host:port.*"nowhere"/);
    assert.match(msg, /api\.burst .*0/);
    assert.match(msg, /api has unknown key\(s\) "extra"/);
    assert.match(msg, /storage\.raw_retention .*"5x"/);
    assert.match(problems([1]), /\(root\) must be a mapping/);
  });

  it('names the file, line and column of a YAML error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'central-cfg-'));
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'api:\n  listen: [unclosed\n');
    assert.throws(() => loadCentralConfig(f, {}), /c\.yaml:\d+:\d+/);
    assert.throws(() => loadCentralConfig(join(dir, 'missing.yaml'), {}), /cannot read/);
  });
});
