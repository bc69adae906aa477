import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { MetricKind, MetricSample } from '../../pdata.js';
import { BadInputError } from '../../errors.js';
import { escapeLabelValue, formatExposition, formatValue } from './format.js';
import type { ExpositionFamily } from './format.js';
import { ExpositionError, parseExposition, parseFloatStrict } from './parser.js';
import type { ExpositionErrorReason, MetricType, ParseOptions } from './parser.js';

const TS = 1_767_225_600_000;
const parse = (text: string, opts: Partial<ParseOptions> = {}) => parseExposition(text, { defaultTs: TS, ...opts });
const S = (name: string, labels: Record<string, string>, value: number, kind: MetricKind, ts = TS): MetricSample => ({ name, labels, ts, value, kind });

function throwsAt(text: string, line: number, msg: RegExp, reason: ExpositionErrorReason = 'parse_error', opts: Partial<ParseOptions> = {}): void {
  assert.throws(
    () => parse(text, opts),
    (e: unknown) => {
      assert.ok(e instanceof ExpositionError, `not an ExpositionError: ${String(e)}`);
      assert.ok(e instanceof BadInputError);
      assert.equal(e.status, 400);
      assert.equal(e.reason, reason, e.message);
      assert.equal(e.line, line, e.message);
      assert.match(e.message, new RegExp(`^line ${line}: `));
      assert.match(e.message, msg);
      return true;
    },
    JSON.stringify(text.slice(0, 200)),
  );
}

describe('exposition parser: valid input', () => {
  it('HELP, TYPE, comments, counters, gauges, untyped; kinds', () => {
    const text = [
      '# A free comment',
      '#  HELP is not a keyword when not first? (it is: see below)',
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# TYPE temperature gauge',
      'temperature -3.5',
      'no_type_here 42',
      '   indented_metric\t7',
      'metric_without_timestamp_and_labels 12.47',
      '',
    ].join('\n');
    const r = parse(text);
    assert.equal(r.duplicates, 0);
    assert.deepEqual(r.samples, [
      S('http_requests_total', { method: 'post', code: '200' }, 1027, 'counter', 1395066363000),
      S('http_requests_total', { method: 'post', code: '400' }, 3, 'counter', 1395066363000),
      S('temperature', {}, -3.5, 'gauge'),
      S('no_type_here', {}, 42, 'gauge'),
      S('indented_metric', {}, 7, 'gauge'),
      S('metric_without_timestamp_and_labels', {}, 12.47, 'gauge'),
    ]);
  });

  it('label value escapes: backslash, double quote, newline; any other UTF-8 as is', () => {
    const r = parse('msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9\nu{v="ünï €😀 {}=,#"} 1\n');
    assert.deepEqual(r.samples[0]!.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    assert.equal(r.samples[0]!.value, 1.458255915e9);
    assert.deepEqual(r.samples[1]!.labels, { v: 'ünï €😀 {}=,#' });
  });

  it('NaN, +Inf, -Inf and float spellings; negative and zero timestamps', () => {
    const r = parse('a NaN\nb +Inf\nc -Inf\nd Inf\ne 1e-3\nf .5\ng -0\nh 1E+2 -1\ni 3. 0\nj nan\n');
    const v = r.samples.map((s) => s.value);
    assert.ok(Number.isNaN(v[0]));
    assert.deepEqual(v.slice(1), [Infinity, -Infinity, Infinity, 0.001, 0.5, -0, 100, 3, NaN]);
    assert.equal(r.samples[7]!.ts, -1);
    assert.equal(r.samples[8]!.ts, 0);
  });

  it('histograms: _bucket{le} (+Inf), _sum and _count are counters', () => {
    const text = `# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
`;
    assert.deepEqual(parse(text).samples, [
      S('http_request_duration_seconds_bucket', { le: '0.05' }, 24054, 'counter'),
      S('http_request_duration_seconds_bucket', { le: '0.1' }, 33444, 'counter'),
      S('http_request_duration_seconds_bucket', { le: '+Inf' }, 144320, 'counter'),
      S('http_request_duration_seconds_sum', {}, 53423, 'counter'),
      S('http_request_duration_seconds_count', {}, 144320, 'counter'),
    ]);
  });

  it('summaries: quantiles are gauges, _sum and _count counters', () => {
    const text = `# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;
    assert.deepEqual(parse(text).samples, [
      S('rpc_duration_seconds', { quantile: '0.01' }, 3102, 'gauge'),
      S('rpc_duration_seconds', { quantile: '0.99' }, 76656, 'gauge'),
      S('rpc_duration_seconds_sum', {}, 1.7560473e7, 'counter'),
      S('rpc_duration_seconds_count', {}, 2693, 'counter'),
    ]);
  });

  it('untyped _bucket/_sum names stay gauges; a counter family also covers name_total', () => {
    const r = parse('x_bucket{le="1"} 1\nx_sum 2\n# TYPE y counter\ny_total 5\ny_created 1.7e9\n');
    assert.deepEqual(r.samples.map((s) => [s.name, s.kind]), [
      ['x_bucket', 'gauge'],
      ['x_sum', 'gauge'],
      ['y_total', 'counter'],
      ['y_created', 'gauge'],
    ]);
  });

  it('duplicate series (any label order): first kept, rest counted', () => {
    const r = parse('a{x="1",y="2"} 1\na{y="2",x="1"} 2\na{x="1"} 3\na{x="1",y="2"} 4\na{ x="1" ,y = "2",} 5\nb{x="1",y="2"} 6\na{x="1",y="2\\n"} 7\na{y="2\\n",x="1"} 8\n');
    assert.deepEqual(r.samples.map((s) => s.value), [1, 3, 6, 7]);
    assert.equal(r.duplicates, 4);
  });

  it('trailing comma, empty braces, blanks inside braces, CRLF line ends, no final newline', () => {
    const r = parse('a{x="1",} 1\r\nb{} 2\r\nc{ x = "1" , y="2" } 3\r\nd 4');
    assert.deepEqual(r.samples.map((s) => [s.name, s.labels, s.value]), [
      ['a', { x: '1' }, 1],
      ['b', {}, 2],
      ['c', { x: '1', y: '2' }, 3],
      ['d', {}, 4],
    ]);
  });

  it('OpenMetrics tolerance: # EOF ends the body, UNIT is kept, float-second timestamps, exemplars ignored', () => {
    const text = `# TYPE foo counter
# UNIT foo seconds
# HELP foo Foo.
foo_total 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created 1520430000.123
# EOF
`;
    const r = parse(text, { openMetrics: true });
    assert.deepEqual(r.samples, [
      { name: 'foo_total', labels: {}, ts: 1520879607789, value: 17, kind: 'counter', unit: 'seconds' },
      { name: 'foo_created', labels: {}, ts: TS, value: 1520430000.123, kind: 'gauge', unit: 'seconds' },
    ]);
    // and in a 0.0.4 body, # EOF is tolerated too
    assert.equal(parse('a 1\n# EOF\n').samples.length, 1);
    assert.equal(parse('a 1\n# EOF').samples.length, 1);
  });

  it('a real node_exporter 1.5 body: every line read, the go_gc_duration_seconds summary typed', () => {
    const text = readFileSync(new URL('./testdata/node-exporter-1.5.0.txt', import.meta.url), 'utf8');
    const r = parse(text);
    const sampleLines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    assert.equal(r.samples.length, sampleLines);
    assert.equal(r.duplicates, 0);
    const gc = r.samples.filter((s) => s.name.startsWith('go_gc_duration_seconds'));
    assert.deepEqual(gc.map((s) => [s.name, s.labels.quantile, s.kind]), [
      ['go_gc_duration_seconds', '0', 'gauge'],
      ['go_gc_duration_seconds', '0.25', 'gauge'],
      ['go_gc_duration_seconds', '0.5', 'gauge'],
      ['go_gc_duration_seconds', '0.75', 'gauge'],
      ['go_gc_duration_seconds', '1', 'gauge'],
      ['go_gc_duration_seconds_sum', undefined, 'counter'],
      ['go_gc_duration_seconds_count', undefined, 'counter'],
    ]);
    assert.ok(r.samples.filter((s) => s.name === 'node_cpu_seconds_total').every((s) => s.kind === 'counter'));
    assert.ok(r.samples.filter((s) => s.name === 'node_memory_MemTotal_bytes').every((s) => s.kind === 'gauge'));
  });
});

describe('exposition parser: every syntax error class names its line', () => {
  const cases: Array<[string, string, number, RegExp]> = [
    ['metric name starting with a digit', 'ok 1\n1abc 1\n', 2, /invalid metric name/],
    ['character after the name', 'a! 1\n', 1, /invalid character "!" after metric name "a"/],
    ['label name starting with a digit', 'a{1x="y"} 1\n', 1, /invalid label name/],
    ['missing =', 'a{x"y"} 1\n', 1, /expected "=" after label name "x"/],
    ['unquoted label value', 'a{x=y} 1\n', 1, /expected '"' to start the value of label "x"/],
    ['unterminated label value', '\n\na{x="y} 1\n', 3, /unterminated value of label "x"/],
    ['unknown escape in a label value', 'a{x="\\t"} 1\n', 1, /invalid escape sequence in value of label "x"/],
    ['backslash at the end of the line', 'a{x="abc\\\n', 1, /invalid escape sequence|unterminated/],
    ['unterminated label set', 'a{x="y" 1\n', 1, /expected "," or "}"/],
    ['labels without a comma', 'a{x="y" z="w"} 1\n', 1, /expected "," or "}"/],
    ['label set with nothing after {', 'a{\n', 1, /unterminated label set/],
    ['duplicate label name', 'a{x="1",x="2"} 1\n', 1, /duplicate label name "x"/],
    ['duplicate label name after an unordered one', 'a{x="1",a="2",x="3"} 1\n', 1, /duplicate label name "x"/],
    ['reserved __name__ label', 'a{__name__="b"} 1\n', 1, /"__name__" is reserved/],
    ['missing value', 'ok 1\nalone\n', 2, /missing value for metric "alone"/],
    ['missing value after labels', 'a{x="1"}\n', 1, /missing value/],
    ['non-numeric value', 'a abc\n', 1, /invalid value "abc"/],
    ['hex value (Number() would accept it)', 'a 0x10\n', 1, /invalid value "0x10"/],
    ['value with underscores', 'a 1_000\n', 1, /invalid value "1_000"/],
    ['fractional timestamp in 0.0.4', 'a 1 1.5\n', 1, /invalid timestamp "1.5"/],
    ['non-numeric timestamp', 'a 1 yesterday\n', 1, /invalid timestamp "yesterday"/],
    ['text after the timestamp', 'a 1 2 3\n', 1, /unexpected text "3"/],
    ['second HELP', '# HELP a x\n# HELP a y\n', 2, /second HELP line for metric "a"/],
    ['invalid escape in HELP', '# HELP a bad \\t escape\n', 1, /invalid escape sequence in HELP/],
    ['HELP without a name', '# HELP\n', 1, /invalid metric name/],
    ['second TYPE', '# TYPE a gauge\n# TYPE a counter\n', 2, /second TYPE line for metric "a"/],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n', 2, /TYPE line for metric "a" after its samples/],
    ['unknown type', '# TYPE a timer\n', 1, /unknown metric type "timer"/],
    ['text after TYPE', '# TYPE a gauge extra\n', 1, /unexpected text after TYPE/],
    ['histogram bucket without le', '# TYPE h histogram\nh_bucket{x="1"} 1\n', 2, /without an "le" label/],
    ['histogram bucket with a non-numeric le', '# TYPE h histogram\nh_bucket{le="big"} 1\n', 2, /invalid "le" value "big"/],
    ['histogram sample without a suffix', '# TYPE h histogram\nh 1\n', 2, /sample without _bucket, _sum or _count/],
    ['summary sample without quantile', '# TYPE s summary\ns 1\n', 2, /without a "quantile" label/],
    ['summary with a non-numeric quantile', '# TYPE s summary\ns{quantile="p99"} 1\n', 2, /invalid "quantile" value "p99"/],
    ['content after # EOF', 'a 1\n# EOF\nb 2\n', 3, /content after "# EOF"/],
    ['text after # EOF', 'a 1\n# EOF now\n', 2, /unexpected text after "# EOF"/],
  ];
  for (const [what, text, line, msg] of cases) {
    it(what, () => throwsAt(text, line, msg));
  }

  it('OpenMetrics exemplars are refused in a 0.0.4 body', () => {
    throwsAt('a 1 # {x="y"} 1\n', 1, /unexpected text "#/);
  });
});

describe('exposition parser: limits and hostile bodies', () => {
  it('max_samples: the body is refused at the first sample over the limit', () => {
    const text = Array.from({ length: 20 }, (_, i) => `m{i="${i}"} ${i}\n`).join('');
    assert.equal(parse(text, { maxSamples: 20 }).samples.length, 20);
    throwsAt(text, 11, /more than 10 samples/, 'sample_limit', { maxSamples: 10 });
  });

  it('200k distinct series: none taken for a duplicate (exercises 30-bit hash collisions, ~18 expected)', () => {
    const parts: string[] = [];
    for (let i = 0; i < 200_000; i++) parts.push(`m{pod="p${i % 997}",route="/r/${i}"} 1\n`);
    const r = parse(parts.join(''));
    assert.equal(r.samples.length, 200_000);
    assert.equal(r.duplicates, 0);
  });

  it('duplicates do not count toward max_samples', () => {
    assert.equal(parse('a 1\na 2\na 3\nb 1\n', { maxSamples: 2 }).samples.length, 2);
  });

  it('max_labels', () => {
    throwsAt('a{a="1",b="2",c="3"} 1\n', 1, /more than 2 labels/, 'label_limit', { maxLabels: 2 });
    assert.equal(parse('a{a="1",b="2"} 1\n', { maxLabels: 2 }).samples.length, 1);
  });

  it('max_label_value_bytes counts UTF-8 bytes, not characters', () => {
    assert.equal(parse('a{v="€€"} 1\n', { maxLabelValueBytes: 6 }).samples.length, 1);
    throwsAt('a{v="€€€"} 1\n', 1, /longer than 6 bytes/, 'label_value_too_long', { maxLabelValueBytes: 6 });
  });

  it('a megabyte label value is refused without scanning the rest of it', () => {
    const big = 'x'.repeat(1 << 20);
    throwsAt(`ok 1\na{v="${big}"} 1\n`, 2, /label "v" longer than 4096 bytes/, 'label_value_too_long', { maxLabelValueBytes: 4096 });
    // escaped characters count once each
    throwsAt(`a{v="${'\\n'.repeat(5000)}"} 1\n`, 1, /longer than 4096/, 'label_value_too_long', { maxLabelValueBytes: 4096 });
  });

  it('metric and label names over 1024 bytes', () => {
    throwsAt(`${'n'.repeat(2000)} 1\n`, 1, /metric name longer than 1024/, 'name_too_long');
    throwsAt(`a{${'l'.repeat(2000)}="1"} 1\n`, 1, /label name longer than 1024/, 'name_too_long');
  });

  it('one 8 MiB line of garbage is a syntax error on line 1', () => {
    throwsAt(`${'{'.repeat(8 << 20)}`, 1, /invalid metric name/);
    throwsAt(`a ${'9'.repeat(8 << 20)}x\n`, 1, /invalid value/);
  });

  it('one million series: refused at max_samples+1, memory bounded by the limit', () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_000_000; i++) parts.push(`series_${i}{job="x"} ${i}\n`);
    const text = parts.join('');
    throwsAt(text, 50_001, /more than 50000 samples/, 'sample_limit', { maxSamples: 50_000 });
  });

  it('random bytes never escape as anything but ExpositionError (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('# TYPE ', '# HELP ', 'a', '{', '}', '="', '"', ',', ' ', '\n', '\\', '1', 'NaN', '_bucket', 'le', 'quantile', ' histogram', ' summary', '# EOF')), { maxLength: 60 }),
        (parts) => {
          try {
            const r = parse(parts.join(''), { maxSamples: 1000 });
            for (const s of r.samples) assert.equal(typeof s.value, 'number');
          } catch (e) {
            assert.ok(e instanceof ExpositionError, String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('exposition parser: format -> parse round trip (property)', () => {
  const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/).filter((n) => n !== '__name__' && n !== 'le' && n !== 'quantile');
  const labelSet = fc.dictionary(labelName, fc.string({ unit: 'binary', maxLength: 12 }), { maxKeys: 4 });
  const value = fc.double();
  const ts = fc.option(fc.integer({ min: -1e12, max: 4e12 }), { nil: undefined });
  const familyArb = fc.record({
    suffix: fc.stringMatching(/^[a-zA-Z0-9_:]{0,10}$/),
    type: fc.constantFrom<MetricType | undefined>('counter', 'gauge', 'untyped', 'histogram', 'summary', undefined),
    help: fc.option(fc.string({ unit: 'binary', maxLength: 30 }), { nil: undefined }),
    series: fc.uniqueArray(labelSet, { maxLength: 4, selector: (l) => JSON.stringify(Object.entries(l).sort()) }),
    bounds: fc.uniqueArray(value.filter((v) => !Number.isNaN(v)), { minLength: 1, maxLength: 3, selector: (v) => formatValue(v) }),
    values: fc.array(value, { minLength: 8, maxLength: 8 }),
    ts,
  });

  it('every family, label value (any UTF-8, quotes, backslashes, newlines), value and timestamp reads back', () => {
    fc.assert(
      fc.property(fc.array(familyArb, { maxLength: 6 }), (fams) => {
        const families: ExpositionFamily[] = [];
        const expected: MetricSample[] = [];
        fams.forEach((f, idx) => {
          const name = `f${idx}_${f.suffix}`;
          const fam: ExpositionFamily = { name, samples: [] };
          if (f.type) fam.type = f.type;
          if (f.help !== undefined) fam.help = f.help;
          const add = (n: string, labels: Record<string, string>, v: number, kind: MetricKind) => {
            const s = f.ts === undefined ? { name: n, labels, value: v } : { name: n, labels, value: v, timestampMs: f.ts };
            fam.samples.push(s);
            expected.push({ name: n, labels: { ...labels }, ts: f.ts ?? TS, value: v, kind });
          };
          let k = 0;
          const v = () => f.values[k++ % f.values.length]!;
          for (const ls of f.series) {
            if (f.type === 'histogram') {
              for (const b of f.bounds) add(`${name}_bucket`, { ...ls, le: formatValue(b) }, v(), 'counter');
              add(`${name}_sum`, ls, v(), 'counter');
              add(`${name}_count`, ls, v(), 'counter');
            } else if (f.type === 'summary') {
              for (const b of f.bounds) add(name, { ...ls, quantile: formatValue(b) }, v(), 'gauge');
              add(`${name}_sum`, ls, v(), 'counter');
              add(`${name}_count`, ls, v(), 'counter');
            } else {
              add(name, ls, v(), f.type === 'counter' ? 'counter' : 'gauge');
            }
          }
          families.push(fam);
        });
        const text = formatExposition(families);
        const r = parse(text);
        assert.equal(r.duplicates, 0);
        assert.deepEqual(r.samples, expected);
      }),
      { numRuns: 400 },
    );
  });

  it('duplicate detection agrees with a reference (label order, blanks and trailing commas vary)', () => {
    const sample = fc.record({
      name: fc.constantFrom('a', 'b', 'a_b'),
      labels: fc.dictionary(fc.constantFrom('x', 'y', 'z', 'job'), fc.constantFrom('', '1', '2', 'a"b', 'c\\d', 'e\nf'), { maxKeys: 3 }),
      spaced: fc.boolean(),
      trailingComma: fc.boolean(),
      reversed: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 40 }), (xs) => {
        let text = '';
        const want: Array<[string, Record<string, string>]> = [];
        const keys = new Set<string>();
        for (const x of xs) {
          let entries = Object.entries(x.labels);
          if (x.reversed) entries = entries.reverse();
          const sep = x.spaced ? ' , ' : ',';
          const body = entries.map(([k, v]) => (x.spaced ? `${k} = "${escapeLabelValue(v)}"` : `${k}="${escapeLabelValue(v)}"`)).join(sep);
          text += `${x.name}{${body}${x.trailingComma && entries.length > 0 ? ',' : ''}} 1\n`;
          const key = JSON.stringify([x.name, Object.entries(x.labels).sort()]);
          if (!keys.has(key)) {
            keys.add(key);
            want.push([x.name, { ...x.labels }]);
          }
        }
        const r = parse(text);
        assert.deepEqual(r.samples.map((s) => [s.name, s.labels]), want);
        assert.equal(r.duplicates, xs.length - want.length);
      }),
      { numRuns: 500 },
    );
  });

  it('escapeLabelValue and parseFloatStrict agree with the format', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(parseFloatStrict(''), undefined);
    assert.equal(parseFloatStrict(' 1'), undefined);
    assert.equal(parseFloatStrict('Infinity'), Infinity);
  });
});
