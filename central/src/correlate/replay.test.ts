// The offline replay's input surface (one alert per line) and `npm run correlate` end to end:
// malformed, truncated, oversized and hostile lines, both topology forms, output in input order,
// exit codes, --skip-invalid, and event-time semantics (merges followed, resolves before fires).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import { AlertLineError, correlateCli, correlationConfig, EntityGraph, eventOrder, MAX_LINE_BYTES, parseAlertLine, replayAlerts } from './index.js';

const line = (o: unknown) => JSON.stringify(o);

describe('parseAlertLine', () => {
  it('reads startsAt/endsAt as RFC 3339 or Unix time and ignores other fields', () => {
    const a = parseAlertLine(line({ startsAt: '2024-03-04T08:00:00Z', endsAt: '2024-03-04T09:05:00.5+01:00', labels: { alertname: 'X', service: 'a' }, annotations: { summary: 's' }, extra: [1, 2] }), 1)!;
    assert.equal(a.startsAtMs, Date.UTC(2024, 2, 4, 8));
    assert.equal(a.endsAtMs, Date.UTC(2024, 2, 4, 8, 5, 0, 500));
    assert.equal(a.fingerprint, alertFingerprint({ alertname: 'X', service: 'a' }));
    assert.equal(parseAlertLine(line({ startsAt: 1709539200, labels: { a: 'b' } }), 1)!.startsAtMs, 1709539200000, 'seconds');
    assert.equal(parseAlertLine(line({ startsAt: 1709539200123, labels: { a: 'b' } }), 1)!.startsAtMs, 1709539200123, 'milliseconds');
    for (const still of [undefined, null, 0, '', '0001-01-01T00:00:00Z']) assert.equal(parseAlertLine(line({ startsAt: 1709539200, endsAt: still, labels: { a: 'b' } }), 1)!.endsAtMs, 0);
    assert.equal(parseAlertLine('   ', 3), undefined, 'blank lines are skipped');
  });

  it('refuses bad lines naming the line and the field', () => {
    const bad: Array<[string, RegExp]> = [
      ['{"startsAt": "2024-03-04T08:00:00Z", "labels": {"a": "b"', /line 7: \(line\) is not JSON/], // truncated
      ['[1,2]', /line 7: \(line\) must be a JSON object/],
      [line({ labels: { a: 'b' } }), /line 7: startsAt must be RFC 3339/],
      [line({ startsAt: 'yesterday', labels: { a: 'b' } }), /startsAt must be RFC 3339/],
      [line({ startsAt: -5, labels: { a: 'b' } }), /startsAt must be a positive time/],
      [line({ startsAt: 1e300, labels: { a: 'b' } }), /startsAt is out of range/],
      [line({ startsAt: 1709539200 }), /labels is required/],
      [line({ startsAt: 1709539200, labels: {} }), /labels must not be empty/],
      [line({ startsAt: 1709539200, labels: ['a'] }), /labels must be an object of strings \(got an array\)/],
      [line({ startsAt: 1709539200, labels: { a: 5 } }), /labels.a must be a string/],
      [line({ startsAt: 1709539200, labels: { 'bad-name': 'x' } }), /labels.bad-name is not a valid label name/],
      [line({ startsAt: 1709539200, labels: { a: 'x'.repeat(20_000) } }), /labels.a is longer than/],
      [line({ startsAt: 1709539200, labels: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`l${i}`, 'v'])) }), /has 200 entries/],
      [line({ startsAt: 1709539200, endsAt: 1709539100, labels: { a: 'b' } }), /endsAt is before startsAt/],
      [line({ startsAt: 1709539200, labels: { a: 'b' }, annotations: 'x' }), /annotations must be an object/],
      [`{"startsAt":1709539200,"labels":{"a":"${'x'.repeat(MAX_LINE_BYTES)}"}}`, /is longer than 1048576 bytes/], // oversized
    ];
    for (const [text, re] of bad) {
      assert.throws(() => parseAlertLine(text, 7), (e: unknown) => e instanceof AlertLineError && e.line === 7 && re.test(e.message), text.slice(0, 80));
    }
  });

  it('keeps hostile label names as plain data', () => {
    const a = parseAlertLine('{"startsAt":1709539200,"labels":{"__proto__":"x","constructor":"y","alertname":"A"}}', 1)!;
    assert.equal(Object.getPrototypeOf(a.labels), Object.prototype);
    assert.equal(a.labels['__proto__' as string], 'x');
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });
});

describe('replayAlerts', () => {
  it('orders events by time, resolves before fires at one instant, then input order', () => {
    const mk = (s: number, e: number) => ({ fingerprint: `f${s}${e}`, labels: { a: 'b' }, annotations: {}, startsAtMs: s, endsAtMs: e });
    const order = eventOrder([mk(10, 20), mk(20, 0), mk(5, 10)]);
    assert.deepEqual(order.map((o) => `${o.kind}:${o.i}@${o.t}`), ['fire:2@5', 'resolve:2@10', 'fire:0@10', 'resolve:0@20', 'fire:1@20']);
  });

  it('gives each alert the incident it ended in, after merges', () => {
    const g = EntityGraph.parse({ nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], edges: [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }] });
    const T = Date.UTC(2024, 2, 4);
    const mk = (svc: string, min: number) => {
      const labels = { alertname: `Down_${svc}`, service: svc, severity: 'critical' };
      return { fingerprint: alertFingerprint(labels), labels, annotations: {}, startsAtMs: T + min * 60_000, endsAtMs: 0 };
    };
    const r = replayAlerts([mk('a', 0), mk('c', 1), mk('b', 2)], correlationConfig({ max_hops: 1, threshold: 0.3 }), g);
    assert.equal(r.counters.merged, 1);
    assert.equal(new Set(r.assignments).size, 1, 'all three in the merged incident');
    assert.equal(r.incidents.length, 1);
    assert.equal(r.incidents[0]!.alerts, 3);
  });
});

describe('npm run correlate', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-correlate-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await correlateCli(argv, { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } });
    return { code, out: out.join(''), err: err.join('') };
  };
  const alerts = [
    line({ startsAt: '2024-03-04T08:00:00Z', labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical' } }),
    line({ startsAt: '2024-03-04T08:01:00Z', labels: { alertname: 'HighErrorRate', service: 'db', severity: 'critical' } }),
    line({ startsAt: '2024-03-04T08:02:00Z', labels: { alertname: 'LogVolumeHigh', service: 'search', severity: 'info' } }),
    line({ startsAt: '2024-03-04T07:59:00Z', labels: { alertname: 'HighLatency', service: 'search', severity: 'critical' } }),
  ];

  it('writes one line per input alert in input order, with a node-link topology', async () => {
    await writeFile(join(dir, 'a.jsonl'), `${alerts.join('\n')}\n`);
    await writeFile(join(dir, 'g.json'), line({ nodes: [{ id: 'checkout', type: 'Service' }, { id: 'db', type: 'Database' }, { id: 'search' }], edges: [{ source: 'checkout', target: 'db' }] }));
    const r = await run('--alerts', join(dir, 'a.jsonl'), '--topology', join(dir, 'g.json'), '--out', join(dir, 'out.jsonl'), '--incidents', join(dir, 'inc.jsonl'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /correlated 4 alerts into 2 incidents/);
    const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { line: number; incident: string | null; fingerprint: string });
    assert.deepEqual(out.map((o) => o.line), [1, 2, 3, 4]);
    assert.equal(out[0]!.incident, out[1]!.incident, 'checkout and db: one incident');
    assert.equal(out[2]!.incident, out[3]!.incident, 'the info alert joins the search incident that started before it');
    assert.notEqual(out[0]!.incident, out[3]!.incident);
    const inc = (await readFile(join(dir, 'inc.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { alerts: number });
    assert.deepEqual(inc.map((i) => i.alerts).sort(), [2, 2]);
    // without a topology: labels and time alone, checkout and db apart
    const r2 = await run('--alerts', join(dir, 'a.jsonl'), '--out', join(dir, 'out2.jsonl'), '--quiet');
    assert.equal(r2.code, 0);
    assert.equal(r2.err, '');
    const out2 = (await readFile(join(dir, 'out2.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { incident: string | null });
    assert.notEqual(out2[0]!.incident, out2[1]!.incident);
  });

  it('stops at a bad line with exit 1, or records it with --skip-invalid', async () => {
    await writeFile(join(dir, 'bad.jsonl'), `${alerts[0]}\n{"startsAt": "2024-03-04T08:00:00Z", "lab\n${alerts[1]}\n`);
    const r = await run('--alerts', join(dir, 'bad.jsonl'), '--out', join(dir, 'o.jsonl'));
    assert.equal(r.code, 1);
    assert.match(r.err, /correlate: line 2: \(line\) is not JSON/);
    assert.match(r.err, /--skip-invalid/);
    const s = await run('--alerts', join(dir, 'bad.jsonl'), '--out', join(dir, 'o.jsonl'), '--skip-invalid');
    assert.equal(s.code, 0, s.err);
    assert.match(s.err, /1 invalid lines skipped/);
    const out = (await readFile(join(dir, 'o.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { line: number; error?: string; incident: string | null });
    assert.deepEqual(out.map((o) => o.line), [1, 2, 3]);
    assert.match(out[1]!.error!, /not JSON/);
    assert.equal(out[1]!.incident, null);
  });

  it('explains bad command lines, files and topologies', async () => {
    assert.equal((await run('--out', 'x')).code, 2);
    assert.match((await run('--help')).out, /--topology <file>/);
    assert.equal((await run('--help')).code, 0);
    const missing = await run('--alerts', join(dir, 'nope.jsonl'), '--out', join(dir, 'o.jsonl'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /ENOENT|no such file/);
    await writeFile(join(dir, 'badg.json'), line({ nodes: [{ id: 'a' }], edges: [{ source: 'a', target: 'zz' }] }));
    const g = await run('--alerts', join(dir, 'a.jsonl'), '--topology', join(dir, 'badg.json'), '--out', join(dir, 'o.jsonl'));
    assert.equal(g.code, 1);
    assert.match(g.err, /edges\[0\] refers to an unknown node "zz"/);
    await writeFile(join(dir, 'notjson.json'), '{nodes');
    assert.match((await run('--alerts', join(dir, 'a.jsonl'), '--topology', join(dir, 'notjson.json'), '--out', join(dir, 'o.jsonl'))).err, /cannot read the topology/);
    await writeFile(join(dir, 'central.yaml'), 'correlation:\n  threshold: -1\n');
    const c = await run('--alerts', join(dir, 'a.jsonl'), '--config', join(dir, 'central.yaml'), '--out', join(dir, 'o.jsonl'));
    assert.equal(c.code, 1);
    assert.match(c.err, /correlation.threshold/);
  });
});
