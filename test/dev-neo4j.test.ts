// deploy/dev/neo4j.sh (issue #8, Deliver 1): installs Neo4j Community with APOC from Maven
// Central jars, starts a private instance on a free loopback port with a password, answers
// Bolt with APOC loaded, refuses a wrong password, keeps its data across stop + start, and
// stops by PID. Under CI=true a server that cannot be started fails the run; elsewhere the
// suite is skipped with a loud line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import neo4j from 'neo4j-driver';
import { freePort } from '../edge-agent/src/testing/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PASSWORD = 'dev-test-password';
const home = mkdtempSync(join(tmpdir(), 'aiops-dev-neo4j-'));
let port = 0;
const script = (action: string) => spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), action], { cwd: root, env: { ...process.env, AIOPS_DEV_HOME: home, NEO4J_PORT: String(port), NEO4J_PASSWORD: PASSWORD }, encoding: 'utf8', timeout: 600_000 });
let started = false;
// A port free when picked can be taken before the server binds it: three tries on fresh ports.
for (let attempt = 1; attempt <= 3 && !started; attempt++) {
  port = await freePort();
  const r = script('start');
  started = r.status === 0;
  if (!started) process.stderr.write(`deploy/dev/neo4j.sh start failed on port ${port} (attempt ${attempt} of 3):\n${r.stderr.slice(-2000)}\n`);
}
if (!started) {
  if (process.env['CI'] === 'true') throw new Error('deploy/dev/neo4j.sh start failed 3 times (CI=true: a missing real peer fails the test)');
  process.stderr.write('\n!!!!!!!! SKIPPING the Neo4j dev server test: deploy/dev/neo4j.sh start failed. !!!!!!!!\n\n');
}
after(() => {
  script('stop');
  rmSync(home, { recursive: true, force: true });
});

async function run<T>(password: string, cypher: string, pick: (r: neo4j.Record) => T): Promise<T[]> {
  const d = neo4j.driver(`bolt://127.0.0.1:${port}`, neo4j.auth.basic('neo4j', password));
  try {
    const s = d.session();
    try {
      return (await s.run(cypher)).records.map(pick);
    } finally {
      await s.close();
    }
  } finally {
    await d.close();
  }
}

describe('deploy/dev/neo4j.sh', { skip: started ? undefined : 'no Neo4j' }, () => {
  it('serves Bolt on loopback with APOC (what @neo4j/graphql needs), behind the password', async () => {
    assert.deepEqual(await run(PASSWORD, 'RETURN apoc.version() AS v', (r) => r.get('v') as string), ['5.26.19']);
    const [n] = await run(PASSWORD, "SHOW PROCEDURES YIELD name WHERE name STARTS WITH 'apoc' RETURN count(*) AS n", (r) => Number(r.get('n')));
    assert.ok(n! > 100, `${n} APOC procedures`);
    await assert.rejects(run('wrong-password', 'RETURN 1', (r) => r.get(0)), (err: Error & { code?: string }) => err.code === 'Neo.ClientError.Security.Unauthorized');
  });

  it('is idempotent, keeps its data across stop + start, and stops by PID', async () => {
    await run(PASSWORD, "CREATE (:Probe {id: 'kept'})", () => 0);
    const again = script('start');
    assert.equal(again.status, 0);
    assert.match(again.stderr, /already running/);
    assert.equal(script('stop').status, 0);
    const st = script('status');
    assert.equal(st.status, 3, 'stopped');
    assert.match(st.stdout, /neo4j stopped/);
    assert.equal(script('start').status, 0);
    assert.deepEqual(await run(PASSWORD, 'MATCH (p:Probe) RETURN p.id AS id', (r) => r.get('id') as string), ['kept']);
    assert.equal(script('status').status, 0);
  });

  it('refuses bad settings with what to fix', () => {
    const bad = spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), 'start'], { cwd: root, env: { ...process.env, AIOPS_DEV_HOME: home, NEO4J_PORT: '70000' }, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /NEO4J_PORT must be a port number \(got '70000'\)/);
    const short = spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), 'start'], { cwd: root, env: { ...process.env, AIOPS_DEV_HOME: home, NEO4J_PORT: String(port), NEO4J_PASSWORD: 'short' }, encoding: 'utf8' });
    assert.match(short.stderr, /NEO4J_PASSWORD must have at least 8 characters/);
    const usage = spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), 'frobnicate'], { cwd: root, encoding: 'utf8' });
    assert.equal(usage.status, 2);
  });
});
