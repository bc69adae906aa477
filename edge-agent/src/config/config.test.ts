import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { registryWithFakes } from '../testing/fake-components.js';
import { parseConfigText, readConfigFile, resolveConfig } from './config.js';
import { parseBytes, parseDuration } from '../../../shared-schemas/src/runtime/index.js';

const minimal = `
receivers:
  fake: {}
processors:
  normalize: {}
exporters:
  fakeout: {}
pipelines:
  metrics:
    receivers: [fake]
    processors: [normalize]
    exporters: [fakeout]
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveConfig(parseConfigText(text), registryWithFakes(), env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `ConfigError expected, got ${(e as Error).name}`);
    return e.message;
  }
  assert.fail('expected the config to be refused');
}

describe('agent config', () => {
  it('resolves a minimal config with defaults', () => {
    const c = resolveConfig(parseConfigText(minimal), registryWithFakes(), {});
    assert.equal(c.agent.tenant, 'default');
    assert.equal(c.features.windowMs, 10_000);
    assert.equal(c.telemetry.listen, '127.0.0.1:9464');
    assert.match(c.agent.id, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
    assert.deepEqual(c.pipeline, { receivers: ['fake'], processors: ['normalize'], exporters: ['fakeout'] });
    assert.equal((c.components.get('normalize')!.config as { max_series: number }).max_series, 50_000);
  });

  it('reports every problem at once, each naming the path and the bad value', () => {
    const msg = problems(`
agent: { id: "bad id!", tenant: shop }
features: { window: "0s" }
receivers:
  fake: { fail_start: "yes" }
  nosuch/x: {}
processors:
  normalize: { max_series: -5, typo_key: 1 }
  tier1: { detector: { alpha: 3 } }
exporters:
  fakeout: {}
pipelines:
  metrics:
    receivers: [fake, missing]
    processors: [normalize]
    exporters: [fakeout]
`);
    assert.match(msg, /invalid configuration \(\d+ problems\)/);
    assert.match(msg, /agent\.id must be 1-128 characters.*\(got "bad id!"\)/);
    assert.match(msg, /features\.window must be >= 1000 ms \(got "0s"\)/);
    assert.match(msg, /receivers\.fake\.fail_start .*\(got "yes"\)/);
    assert.match(msg, /receivers\.nosuch\/x unknown receiver type "nosuch"/);
    assert.match(msg, /processors\.normalize\.max_series .*\(got -5\)/);
    assert.match(msg, /processors\.normalize has unknown key\(s\) "typo_key"/);
    assert.match(msg, /processors\.tier1\.detector\.alpha must be in \(0, 1\)/);
    assert.match(msg, /pipelines\.metrics\.receivers\[1\] refers to receiver "missing", which is not configured under receivers/);
  });

  it('takes values from the environment: ${env:X} in the file, AIOPS_AGENT__ overrides for unset keys', () => {
    const text = minimal + 'agent:\n  tenant: ${env:TENANT}\n';
    const c = resolveConfig(parseConfigText(text), registryWithFakes(), { TENANT: 'shop', AIOPS_AGENT__AGENT__ID: 'edge-7', AIOPS_AGENT__AGENT__TENANT: 'ignored', AIOPS_AGENT__FEATURES__WINDOW: '30s' });
    assert.equal(c.agent.tenant, 'shop', 'the file wins over the environment');
    assert.equal(c.agent.id, 'edge-7');
    assert.equal(c.features.windowMs, 30_000);
    assert.match(problems(minimal + 'agent:\n  tenant: ${NOPE}\n'), /agent\.tenant refers to environment variable NOPE, which is not set/);
    assert.equal(resolveConfig(parseConfigText(minimal + 'agent:\n  tenant: ${env:NOPE:-fallback}\n'), registryWithFakes(), {}).agent.tenant, 'fallback');
  });

  it('never echoes the value of a secret-named key in an error', () => {
    const msg = problems(minimal.replace('exporters:\n  fakeout: {}', 'exporters:\n  fakeout: {}\n  mqtt: { url: "mqtt://x:1883", password: 12345678901 }'));
    assert.match(msg, /exporters\.mqtt\.password .*\(value hidden: secret\)/);
    assert.doesNotMatch(msg, /12345678901/);
  });

  it('names the file, line and column of a YAML syntax error; refuses non-mapping documents', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const f = join(dir, 'agent.yaml');
    writeFileSync(f, 'receivers:\n  fake: {\n  bad: [\n');
    assert.throws(() => readConfigFile(f), (e: unknown) => e instanceof ConfigError && /agent\.yaml:\d+:\d+/.test(e.message));
    assert.throws(() => readConfigFile(join(dir, 'missing.yaml')), /cannot read config file/);
    assert.throws(() => resolveConfig([1, 2], registryWithFakes(), {}), /\(root\) must be a mapping/);
    writeFileSync(f, 'a: 1\na: 2\n');
    assert.throws(() => readConfigFile(f), /unique|duplicate/i);
  });

  it('parses durations and sizes', () => {
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1500'), 1500);
    assert.ok(Number.isNaN(parseDuration('10 parsecs')));
    assert.equal(parseBytes('64MiB'), 64 * 1024 * 1024);
    assert.ok(Number.isNaN(parseBytes('lots')));
  });
});
