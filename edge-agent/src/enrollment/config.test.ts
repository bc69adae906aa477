// The `agent.enrollment` section: defaults, the token from the environment, errors naming the
// path (the token's value never shown), and the CLI: --check-config validates without
// enrolling, --print-config hides the token.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText, resolveConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { main, printableConfig } from '../main.js';
import { registryWithFakes } from '../testing/fake-components.js';
import { startCentral } from './testdata/central.js';
import type { TestCentral } from './testdata/central.js';

const TOKEN = `aiops_e_0123456789abcdef_${'T'.repeat(43)}`;

const pipeline = `
receivers: { fake: {} }
exporters: { fakeout: {} }
pipelines: { metrics: { receivers: [fake], exporters: [fakeout] } }
`;

function resolve(agent: string, env: NodeJS.ProcessEnv = {}) {
  return resolveConfig(parseConfigText(`${agent}\n${pipeline}`), registryWithFakes(), env);
}

function problems(agent: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolve(agent, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `ConfigError expected, got ${(e as Error).name}: ${(e as Error).message}`);
    return e.message;
  }
  assert.fail('expected the config to be refused');
}

describe('agent.enrollment config', () => {
  it('resolves defaults: credentials under data_dir, token from AIOPS_ENROLLMENT_TOKEN when the config has none', () => {
    const c = resolve('agent: { id: web-1, data_dir: /var/lib/x, enrollment: { url: "https://central.example.com:8080/" } }', { AIOPS_ENROLLMENT_TOKEN: TOKEN });
    assert.deepEqual(c.agent.enrollment, {
      url: 'https://central.example.com:8080',
      token: TOKEN,
      credentialsFile: '/var/lib/x/credentials.json',
      caFile: undefined,
      timeoutMs: 10_000,
      retry: { initialIntervalMs: 1000, maxIntervalMs: 60_000, maxElapsedMs: 0 },
    });
    assert.deepEqual(c.agent.configured, { id: true, tenant: false });
    assert.equal(c.agent.tenant, 'default');
  });

  it('`${env:AIOPS_ENROLLMENT_TOKEN:-}` is valid without the variable (later starts), and takes it when set', () => {
    const agent = 'agent: { tenant: shop, enrollment: { url: "http://127.0.0.1:8080", token: "${env:AIOPS_ENROLLMENT_TOKEN:-}", credentials_file: /tmp/c.json, timeout: 2s, retry: { initial_interval: 50ms, max_interval: 1s, max_elapsed_time: 1m } } }';
    const without = resolve(agent);
    assert.equal(without.agent.enrollment!.token, undefined);
    assert.equal(without.agent.enrollment!.credentialsFile, '/tmp/c.json');
    assert.deepEqual(without.agent.enrollment!.retry, { initialIntervalMs: 50, maxIntervalMs: 1000, maxElapsedMs: 60_000 });
    assert.deepEqual(without.agent.configured, { id: false, tenant: true });
    assert.equal(resolve(agent, { AIOPS_ENROLLMENT_TOKEN: TOKEN }).agent.enrollment!.token, TOKEN);
    assert.equal(resolve('agent: { enrollment: { url: "http://c:1" } }').agent.enrollment!.token, undefined, 'no token anywhere: valid (credentials may exist)');
    assert.equal(resolve('agent: {}').agent.enrollment, undefined, 'no section: no enrollment');
  });

  it('errors name the path and the bad value; the token value is never shown', () => {
    const msg = problems(
      'agent: { enrollment: { url: "ftp://central", token: "aiops_k_0123456789abcdef_leakedkeyvalue", ca_file: "", tokn: 1, retry: { initial_interval: 5s, max_interval: 1s } } }',
    );
    assert.match(msg, /agent\.enrollment\.url must be an http:\/\/ or https:\/\/ URL \(got "ftp:\/\/central"\)/);
    assert.match(msg, /agent\.enrollment\.token must be an enrollment token as printed by `aiops agents enroll` \(aiops_e_\.\.\.\) \(value hidden: secret\)/);
    assert.match(msg, /agent\.enrollment\.ca_file must be a file path/);
    assert.match(msg, /agent\.enrollment has unknown key\(s\) "tokn"/);
    assert.match(msg, /agent\.enrollment\.retry\.initial_interval initial_interval must be <= max_interval/);
    assert.ok(!msg.includes('leakedkeyvalue'), msg);

    assert.match(problems('agent: { enrollment: { url: "https://u:p@central" } }'), /agent\.enrollment\.url must not contain credentials/);
    assert.match(problems('agent: { enrollment: { url: "https://central/?x=1" } }'), /agent\.enrollment\.url must not have a query or fragment/);
    assert.match(problems('agent: { enrollment: { url: "not a url" } }'), /agent\.enrollment\.url must be central's base URL/);
    assert.match(problems('agent: { enrollment: { url: "http://central", ca_file: /ca.pem } }'), /agent\.enrollment\.ca_file ca_file needs an https:\/\/ url/);
    assert.match(problems('agent: { enrollment: {} }'), /agent\.enrollment\.url/);
    assert.match(problems('agent: { enrollment: { url: "http://c", timeout: 0s } }'), /agent\.enrollment\.timeout must be >= 100 ms \(got "0s"\)/);
    const env = problems('agent: { enrollment: { url: "http://c" } }', { AIOPS_ENROLLMENT_TOKEN: 'aiops_k_0123456789abcdef_notanenrollmenttoken' });
    assert.match(env, /agent\.enrollment\.token \(from AIOPS_ENROLLMENT_TOKEN\) must be an enrollment token .*\(value hidden: secret\)/);
    assert.ok(!env.includes('notanenrollmenttoken'), env);
  });

  it('environment overrides reach the section (AIOPS_AGENT__AGENT__ENROLLMENT__URL)', () => {
    const c = resolve('agent: { id: a }', { AIOPS_AGENT__AGENT__ENROLLMENT__URL: 'https://central:8443' });
    assert.equal(c.agent.enrollment?.url, 'https://central:8443');
  });

  it('printableConfig hides the token and shows the rest of the section', () => {
    const c = resolve('agent: { id: web-1, enrollment: { url: "https://central:8443", token: "' + TOKEN + '" } }');
    const p = printableConfig(c) as { agent: Record<string, unknown> };
    const text = JSON.stringify(p);
    assert.ok(!text.includes(TOKEN.slice(-43)), text);
    assert.equal((p.agent.enrollment as Record<string, unknown>).token, '[redacted]');
    assert.equal((p.agent.enrollment as Record<string, unknown>).url, 'https://central:8443');
    assert.equal(p.agent.id, 'web-1');
    assert.equal(p.agent.configured, undefined, 'internal bookkeeping is not printed');
  });
});

describe('aiops-agent CLI with agent.enrollment', () => {
  let central: TestCentral;
  let dir: string;
  before(async () => {
    central = await startCentral();
    dir = mkdtempSync(join(tmpdir(), 'aiops-enroll-cli-'));
  });
  after(() => central.close());

  function configFile(name: string, enrollment: string): string {
    const f = join(dir, name);
    writeFileSync(
      f,
      `agent: { id: cli-1, data_dir: ${JSON.stringify(join(dir, name + '.data'))}, enrollment: ${enrollment} }
telemetry: { listen: null }
receivers: { hostmetrics: {} }
exporters: { mqtt: { url: "mqtt://127.0.0.1:1883" } }
pipelines: { metrics: { receivers: [hostmetrics], exporters: [mqtt] } }
`,
    );
    return f;
  }

  async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s), env });
    return { code, out, err };
  }

  it('--check-config validates the section without enrolling (the token stays unused)', async () => {
    const token = await central.token();
    const f = configFile('check.yaml', `{ url: "${central.url}" }`);
    const ok = await run(['--check-config', '--config', f], { AIOPS_ENROLLMENT_TOKEN: token });
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /configuration OK: agent "cli-1".*; not enrolled yet: will enroll at http:\/\/127\.0\.0\.1:\d+ on first start \(token present\)/);
    assert.ok(!ok.out.includes(token.slice(-43)), 'the token is not printed');
    assert.equal(await central.enrollRequests(), 0, 'central was not called');

    const none = await run(['--check-config', '--config', f]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no agent credentials at .*credentials\.json and no enrollment token: create one on central with `aiops agents enroll`/);

    const bad = await run(['--check-config', '--config', configFile('bad.yaml', '{ url: "ftp://x" }')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /agent\.enrollment\.url must be an http:\/\/ or https:\/\/ URL \(got "ftp:\/\/x"\)/);
  });

  it('--check-config reads existing credentials: reports them, refuses a group-readable file with the chmod hint', async () => {
    const f = configFile('enrolled.yaml', `{ url: "${central.url}" }`);
    const creds = join(dir, 'enrolled.yaml.data', 'credentials.json');
    const { ensureCredentials } = await import('./index.js');
    const { silentLogger } = await import('../../../shared-schemas/src/runtime/index.js');
    const cfg = resolveConfig(parseConfigText(`agent: { id: cli-1, data_dir: ${JSON.stringify(join(dir, 'enrolled.yaml.data'))}, enrollment: { url: "${central.url}" } }\n${pipeline}`), registryWithFakes(), { AIOPS_ENROLLMENT_TOKEN: await central.token({ tenant: 'shop' }) });
    await ensureCredentials({ config: cfg.agent.enrollment!, agent: cfg.agent, logger: silentLogger() });
    const ok = await run(['--check-config', '--config', f]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /enrolled as "cli-1" \(tenant shop\), credentials in /);
    chmodSync(creds, 0o644);
    const open = await run(['--check-config', '--config', f]);
    assert.equal(open.code, 2);
    assert.match(open.err, /mode 0644.*Run: chmod 600 /);
  });

  it('--print-config hides the token', async () => {
    const token = await central.token();
    const p = await run(['--print-config', '--config', configFile('print.yaml', `{ url: "${central.url}", token: "${token}" }`)]);
    assert.equal(p.code, 0, p.err);
    assert.ok(!p.out.includes(token.slice(-43)), p.out);
    assert.match(p.out, /token: "?\[redacted\]"?/);
    assert.match(p.out, /credentialsFile: .*credentials\.json/);
  });
});
