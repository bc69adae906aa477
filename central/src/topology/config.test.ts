// topology: in central's config - the embedded store by default, Neo4j only with a URL,
// credentials kept out of the URL, durations checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveCentralConfig } from '../config/config.js';

describe('topology config', () => {
  it('defaults to the embedded store with a day-long discovery TTL', () => {
    const c = resolveCentralConfig({});
    assert.equal(c.topology.store, 'embedded');
    assert.equal(c.topology.discovered_ttl, 86_400_000);
  });

  it('neo4j needs a URL without credentials; bad durations are named', () => {
    assert.throws(() => resolveCentralConfig({ topology: { store: 'neo4j' } }), /topology\.neo4j\.url is required when store is neo4j/);
    assert.throws(
      () => resolveCentralConfig({ topology: { store: 'neo4j', neo4j: { url: 'bolt://neo4j:secret@db:7687' } } }),
      (e: Error) => /topology\.neo4j\.url must not contain credentials/.test(e.message) && !e.message.includes('secret'),
    );
    assert.throws(() => resolveCentralConfig({ topology: { store: 'neo4j', neo4j: { url: 'http://db:7474' } } }), /topology\.neo4j\.url/);
    assert.throws(() => resolveCentralConfig({ topology: { discovered_ttl: '1s' } }), /topology\.discovered_ttl/);
    const ok = resolveCentralConfig({ topology: { store: 'neo4j', neo4j: { url: 'neo4j+s://db.example:7687', username: 'aiops', password: 'x' } } });
    assert.equal(ok.topology.neo4j.url, 'neo4j+s://db.example:7687');
  });
});
