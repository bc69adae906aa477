import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli.js';
import { close } from './eval-assert.js';
import { quantileSorted, summarize } from './index.js';

const EVAL = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata', 'eval');

function capture() {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    },
    out: () => out,
    err: () => err,
  };
}

describe('summary statistics', () => {
  test('type-7 quantiles (numpy.percentile default)', () => {
    // [1, 2, 3, 4]: median 2.5; p95: h = 3 * 0.95 = 2.85 -> 3 + 0.85 * 1 = 3.85 (numpy: 3.85).
    const s = summarize([4, 1, 3, 2]);
    assert.equal(s.count, 4);
    assert.equal(s.mean, 2.5);
    assert.equal(s.median, 2.5);
    close(s.p95, 3.85, 'p95');
    assert.deepEqual([s.min, s.max], [1, 4]);
    assert.deepEqual({ ...summarize([7]) }, { count: 1, mean: 7, median: 7, p95: 7, min: 7, max: 7 });
    assert.equal(quantileSorted([1, 2, 3], 0), 1);
    assert.equal(quantileSorted([1, 2, 3], 1), 3);
    assert.equal(summarize([5, 1, 3]).median, 3);
  });

  test('an empty sample: count 0, everything else NaN', () => {
    const s = summarize([]);
    assert.equal(s.count, 0);
    assert.ok([s.mean, s.median, s.p95, s.min, s.max].every(Number.isNaN));
  });
});

describe('score subcommands', () => {
  test('rca prints AC@k and Avg@5 overall and per fault type', async () => {
    const c = capture();
    assert.equal(await runCli(['rca', '--cases', join(EVAL, 'rca-cases.json')], c.io), 0, c.err());
    const lines = c.out().split('\n');
    assert.match(lines[0]!, /^RCA: 5 cases \(3 with a root metric\)/);
    const row = (group: string, level: string) =>
      lines.find((l) => l.split(/\s+/)[0] === group && l.split(/\s+/)[1] === level)?.split(/\s+/);
    assert.deepEqual(row('all', 'service'), ['all', 'service', '5', '0.200', '0.400', '0.600', '0.440']);
    assert.deepEqual(row('all', 'metric'), ['all', 'metric', '3', '0.000', '0.333', '0.667', '0.400']);
    assert.deepEqual(row('memory', 'service'), ['memory', 'service', '2', '0.500', '0.500', '0.500', '0.500']);
    assert.equal(c.err(), '');
  });

  test('--json prints the whole result', async () => {
    const c = capture();
    assert.equal(await runCli(['rca', '--cases', join(EVAL, 'rca-cases.json'), '--json'], c.io), 0, c.err());
    const report = JSON.parse(c.out()) as { service: { avg5: number }; perCase: { serviceRank: number | null }[] };
    close(report.service.avg5, 0.44, 'Avg@5');
    assert.deepEqual(report.perCase.map((p) => p.serviceRank), [1, 4, 6, null, 2]);
  });

  test('detection, correlation and remediation print their tables; options reach the scorer', async () => {
    const d = capture();
    assert.equal(await runCli(['detection', '--input', join(EVAL, 'detection.json'), '--fp-merge', '10'], d.io), 0, d.err());
    // With 300 and 310 merged: TP 2, FN 1, FP 3 -> precision 0.4, recall 0.667, F1 0.5.
    assert.match(d.out(), /\n2\s+1\s+3\s+0\.400\s+0\.667\s+0\.500\n/);
    assert.match(d.out(), /detection delay\s+2\s+70\s+70\s+88\s+50\s+90/);

    const c = capture();
    assert.equal(await runCli(['correlation', '--alerts', join(EVAL, 'correlation.json')], c.io), 0, c.err());
    // Compression 10/3; purity 5/6; inverse purity 4/6; ARI 2/17; NMI 0.4399; noise 2/4 suppressed.
    assert.match(c.out(), /3\.33\s+0\.833\s+0\.667\s+0\.118\s+0\.440\s+2\/4 \(0\.500\)\s+1\n/);

    const r = capture();
    assert.equal(await runCli(['remediation', '--input', join(EVAL, 'remediation.json'), '--late-mitigation', 'unmitigated'], r.io), 0, r.err());
    assert.match(r.out(), /2 mitigated, 2 unmitigated/);
    assert.match(r.out(), /time to mitigate\s+2\s+750\s+750\s+975\s+500\s+1000/);
    assert.match(r.out(), /time to act\s+3\s+1566\.667\s+500\s+3650\s+200\s+4000/);
  });

  test('bad input exits 1 with the typed error; a bad command line exits 2', async () => {
    const bad = capture();
    assert.equal(await runCli(['rca', '--cases', join(EVAL, 'bad-rca-cases.json')], bad.io), 1);
    assert.match(bad.err(), /\[BAD_INPUT\] cases\[0\]\.ranking\[1\] must be a non-empty string \(got 7\)/);
    const notJson = capture();
    assert.equal(await runCli(['rca', '--cases', join(EVAL, 'not-json.json')], notJson.io), 1);
    assert.match(notJson.err(), /\[BAD_FILE\].*not-json\.json is not JSON/);
    const missing = capture();
    assert.equal(await runCli(['detection', '--input', join(EVAL, 'absent.json')], missing.io), 1);
    assert.match(missing.err(), /\[BAD_FILE\] cannot read/);
    const noOption = capture();
    assert.equal(await runCli(['rca'], noOption.io), 2);
    assert.match(noOption.err(), /--cases/);
    const badValue = capture();
    assert.equal(await runCli(['remediation', '--input', 'x.json', '--late-mitigation', 'never'], badValue.io), 2);
    assert.match(badValue.err(), /"count" or "unmitigated"/);
    const help = capture();
    assert.equal(await runCli(['correlation', '--help'], help.io), 0);
    assert.match(help.out(), /--include-noise/);
  });

  test('the NAB command is unchanged and its help lists the subcommands', async () => {
    const h = capture();
    assert.equal(await runCli(['--help'], h.io), 0);
    assert.match(h.out(), /--detector <name>/);
    assert.match(h.out(), /detection\|correlation\|rca\|remediation/);
    const d = capture();
    assert.equal(await runCli(['--results', 'x'], d.io), 2);
    assert.match(d.err(), /--detector/);
  });
});
