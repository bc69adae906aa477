// aiops-central's command line: help, version, config checks with the path of every problem,
// the shipped example config, roles refused with the reason, secrets hidden when printing.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { centralMain } from './main.js';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await centralMain(argv, { out: (s) => void (out += s), err: (s) => void (err += s), env });
  return { code, out, err };
}

const example = fileURLToPath(new URL('../../deploy/central.example.yaml', import.meta.url));

describe('aiops-central CLI', () => {
  it('prints help and version', async () => {
    const h = await run(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /--check-config/);
    assert.match((await run(['--version'])).out, /^\d+\.\d+\.\d+/);
  });

  it('accepts the shipped example config', async () => {
    const r = await run(['--check-config', '--config', example]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /configuration OK: roles all/);
  });

  it('names every bad key, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiops-central-cfg-'));
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'api:\n  listen: nowhere\nmqtt:\n  mode: sideways\ndetection:\n  x: 0\n');
    const r = await run(['--check-config', '--config', f]);
    assert.equal(r.code, 2);
    assert.match(r.err, /api\.listen/);
    assert.match(r.err, /mqtt\.mode/);
    assert.match(r.err, /detection\.x/);
    const y = join(dir, 'bad.yaml');
    writeFileSync(y, 'api: [\n');
    assert.match((await run(['--check-config', '--config', y])).err, /bad\.yaml/);
  });

  it('refuses unknown and unavailable roles with the reason', async () => {
    assert.match((await run(['--check-config', '--role', 'everything'])).err, /unknown role "everything"/);
    assert.match((await run(['--check-config', '--role', 'rca'])).err, /role "rca" is not available.*runs inside the processes that correlate/);
    assert.equal((await run(['--check-config', '--role', 'ingest,detect,api'])).code, 0);
  });

  it('hides secret-named values when printing the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiops-central-cfg-'));
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'mqtt:\n  mode: external\n  external:\n    url: mqtt://broker:1883\n    username: central\n    password: hunter2hunter2\n');
    const r = await run(['--print-config', '--config', f]);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes('hunter2hunter2'), r.out);
    assert.match(r.out, /password: "?\[redacted\]"?/);
  });
});
