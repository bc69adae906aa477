// deploy/dev/neo4j.sh (issue #8, Deliver 1): installs Neo4j Community with APOC from Maven
// Central jars, starts a private instance on a free loopback port with a password, answers
// Bolt with APOC loaded, refuses a wrong password, keeps its data across stop + start, and
// stops by PID. Under CI=true a server that cannot be started fails the run; elsewhere the
// suite is skipped with a loud line (startDevPeer).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import neo4j from 'neo4j-driver';
import { startDevPeer } from '../edge-agent/src/testing/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PASSWORD = 'dev-test-password';
const peer = await startDevPeer({ script: 'neo4j.sh', suites: 'the Neo4j dev server test', env: (p) => ({ NEO4J_PORT: String(p), NEO4J_PASSWORD: PASSWORD }) });
const port = peer.port;
after(() => peer.dispose());
/** The script again, synchronously, for its exit code and output. */
const script = (action: string) => spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), action], { cwd: root, env: { ...process.env, AIOPS_DEV_HOME: peer.home, NEO4J_PORT: String(port), NEO4J_PASSWORD: PASSWORD }, encoding: 'utf8', timeout: 600_000 });

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

describe('deploy/dev/neo4j.sh', { skip: peer.ok ? undefined : peer.reason }, () => {
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
    const bad = spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), 'start'], { cwd: root, env: { ...process.env, AIOPS_DEV_HOME: peer.home, NEO4J_PORT: '70000' }, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /NEO4J_PORT must be a port number \(got '70000'\)/);
    const short = spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), 'start'], { cwd: root, env: { ...process.env, AIOPS_DEV_HOME: peer.home, NEO4J_PORT: String(port), NEO4J_PASSWORD: 'short' }, encoding: 'utf8' });
    assert.match(short.stderr, /NEO4J_PASSWORD must have at least 8 characters/);
    const usage = spawnSync('bash', [join(root, 'deploy/dev/neo4j.sh'), 'frobnicate'], { cwd: root, encoding: 'utf8' });
    assert.equal(usage.status, 2);
  });
});
