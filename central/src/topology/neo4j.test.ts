// The Neo4j topology store on a real Neo4j with APOC (deploy/dev/neo4j.sh, a private
// instance): the topology store contract it shares with the embedded store, plus what only a
// server shows - a wrong password or an unreachable server refused at start with what to fix.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, startDevPeer } from '../../../edge-agent/src/testing/index.js';
import { Neo4jTopologyStore } from './neo4j.js';
import { runTopologyStoreContract } from './testing/index.js';

const PASSWORD = 'topology-test-pass';
const peer = await startDevPeer({ script: 'neo4j.sh', suites: 'the Neo4j topology store tests', env: (port) => ({ NEO4J_PORT: String(port), NEO4J_PASSWORD: PASSWORD }) });
after(() => peer.dispose());
const url = `bolt://127.0.0.1:${peer.port}`;
const skip = peer.ok ? undefined : peer.reason;

runTopologyStoreContract('neo4j', async () => new Neo4jTopologyStore({ url, username: 'neo4j', password: PASSWORD }), skip ? { skip } : {});

describe('Neo4j topology store', { skip }, () => {
  it('refuses a wrong password and an unreachable server at start, saying where', async () => {
    await assert.rejects(new Neo4jTopologyStore({ url, username: 'neo4j', password: 'wrong-password' }).start(), (e: Error & { code?: string }) => e.code === 'IO' && e.message.includes(url));
    const down = `bolt://127.0.0.1:${await freePort()}`;
    await assert.rejects(new Neo4jTopologyStore({ url: down }).start(), (e: Error) => e.message.includes(down));
    const s = new Neo4jTopologyStore({ url, username: 'neo4j', password: PASSWORD });
    await assert.rejects(s.snapshot('default'), /not started/);
    await s.shutdown();
  });
});
