import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertStormError } from './errors.js';
import { absentLabels, matchesSelector, MAX_EXPR_DEPTH, MAX_EXPR_LENGTH, parseExpr, parsePromDuration } from './expr.js';
import type { ExprNode, SelectorNode } from './expr.js';
import { compileLabelRegex, RegexSyntaxError } from './regex.js';

function fails(text: string, code: string, message: RegExp, column?: number): AlertStormError {
  let caught: unknown;
  try {
    parseExpr(text, 'groups[0].rules[0].expr');
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AlertStormError, `expected an AlertStormError for ${JSON.stringify(text.slice(0, 60))}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.path, 'groups[0].rules[0].expr');
  assert.match(caught.message, message);
  assert.match(caught.message, /^groups\[0\]\.rules\[0\]\.expr/);
  if (column !== undefined) assert.equal(caught.position?.column, column, caught.message);
  return caught;
}

function sel(text: string): SelectorNode {
  const n = parseExpr(text);
  assert.equal(n.type, 'selector');
  return n as SelectorNode;
}

describe('expression parser', () => {
  it('parses a selector with matchers and a threshold', () => {
    const n = parseExpr('latency_p95{service=~"cart|checkout", kind!="Host"} > 0.5');
    assert.equal(n.type, 'compare');
    const c = n as Extract<ExprNode, { type: 'compare' }>;
    assert.equal(c.op, '>');
    assert.equal(c.threshold, 0.5);
    const s = c.lhs as SelectorNode;
    assert.equal(s.metric, 'latency_p95');
    assert.deepEqual(
      s.matchers.map((m) => [m.name, m.op, m.value]),
      [
        ['metric', '=', 'latency_p95'],
        ['service', '=~', 'cart|checkout'],
        ['kind', '!=', 'Host'],
      ],
    );
    assert.ok(matchesSelector(s, { metric: 'latency_p95', service: 'cart', kind: 'Service' }));
    assert.ok(matchesSelector(s, { metric: 'latency_p95', service: 'checkout', kind: 'Service' }));
    assert.ok(!matchesSelector(s, { metric: 'latency_p95', service: 'cartx', kind: 'Service' }), 'regex is anchored');
    assert.ok(!matchesSelector(s, { metric: 'latency_p50', service: 'cart', kind: 'Service' }));
  });

  it('accepts every comparison, number forms, comments, white space and trailing commas', () => {
    const ops = ['>', '<', '>=', '<=', '==', '!='];
    for (const op of ops) assert.equal((parseExpr(`cpu ${op} 1`) as { op: string }).op, op);
    const nums: Array<[string, number]> = [
      ['1e9', 1e9],
      ['-0.5', -0.5],
      ['.25', 0.25],
      ['0x1F', 31],
      ['+Inf', Infinity],
      ['-inf', -Infinity],
      ['2.5E-3', 0.0025],
    ];
    for (const [t, v] of nums) assert.equal((parseExpr(`memory > ${t}`) as { threshold: number }).threshold, v, t);
    const n = parseExpr('  # leading comment\n  avg_over_time( disk{ host = "node-1", } [ 5m ] )  # why\n  >= 0.9 ');
    assert.equal(n.type, 'compare');
    assert.equal(((n as { lhs: ExprNode }).lhs as { rangeMs: number }).rangeMs, 300_000);
    // Chained comparisons filter twice, left to right (as PromQL).
    const band = parseExpr('(cpu > 0.2) < 0.8') as { op: string; lhs: { op: string } };
    assert.equal(band.op, '<');
    assert.equal(band.lhs.op, '>');
  });

  it('parses the range functions and absent', () => {
    for (const f of ['avg_over_time', 'max_over_time', 'min_over_time', 'absent_over_time']) {
      const n = parseExpr(`${f}(request_rate{service="cart"}[1h30m])`);
      assert.equal(n.type, 'range_call');
      assert.equal((n as { func: string }).func, f);
      assert.equal((n as { rangeMs: number }).rangeMs, 5_400_000);
    }
    const a = parseExpr('absent(request_rate{service="cart", kind=~"S.*"})');
    assert.equal(a.type, 'absent');
    assert.deepEqual(absentLabels((a as { arg: ExprNode }).arg), { metric: 'request_rate', service: 'cart' });
    // Prometheus: a label with two = matchers is left out.
    assert.deepEqual(absentLabels(sel('{metric="cpu", service="a", service="b"}')), { metric: 'cpu' });
  });

  it('decodes strings like PromQL (Go escapes, single quotes, raw strings)', () => {
    assert.equal(sel('cpu{service="a\\"b\\\\c\\u00e9\\x41\\101"}').matchers[1]?.value, 'a"b\\céAA');
    assert.equal(sel("cpu{service='it\\'s'}").matchers[1]?.value, "it's");
    assert.equal(sel('cpu{service=~`a\\d+`}').matchers[1]?.value, 'a\\d+');
    assert.equal(sel('{__name__="cpu"}').matchers[0]?.name, 'metric');
  });

  it('parses Prometheus durations', () => {
    assert.equal(parsePromDuration('1h30m'), 5_400_000);
    assert.equal(parsePromDuration('500ms'), 500);
    assert.equal(parsePromDuration('1w'), 604_800_000);
    assert.ok(Number.isNaN(parsePromDuration('5')));
    assert.ok(Number.isNaN(parsePromDuration('5 m')));
    assert.ok(Number.isNaN(parsePromDuration('-5m')));
  });

  it('reports malformed expressions with their column', () => {
    fails('latency_p95{service=}', 'BAD_EXPR', /expected a quoted string, got "}" \(at column 21\)/, 21);
    fails('latency_p95{service="cart"', 'BAD_EXPR', /expected "}" to close the "\{" at column 12/);
    fails('latency_p95{service="cart} > 1', 'BAD_EXPR', /unterminated string/, 21);
    fails('latency_p95 >', 'BAD_EXPR', /expected a number after ">"/);
    fails('latency_p95 > high', 'BAD_EXPR', /expected a number after ">".*got "high"/);
    fails('latency_p95 > 0.5 extra', 'BAD_EXPR', /unexpected "extra": expected a comparison operator or the end/, 19);
    fails('latncy_p95 > 1', 'BAD_EXPR', /unknown metric "latncy_p95"/, 1);
    fails('cpu{svc="a"}', 'BAD_EXPR', /unknown label "svc" \(simulated series carry: metric, kind, service, host, instance\)/, 5);
    fails('cpu{service=~"(a"}', 'BAD_EXPR', /bad regular expression: missing "\)"/, 15);
    fails('cpu{service=~"a\\\\1"}', 'BAD_EXPR', /bad regular expression/);
    fails('rate(cpu[5m]) > 1', 'BAD_EXPR', /rate\(\) is not supported: simulated series are gauges/, 1);
    fails('sum(cpu) > 1', 'BAD_EXPR', /unknown function "sum" \(supported: absent, avg_over_time/);
    fails('avg_over_time(cpu) > 1', 'BAD_EXPR', /needs a range: expected "\[" and a duration/);
    fails('avg_over_time(cpu[5x]) > 1', 'BAD_EXPR', /expected a duration such as 5m/);
    fails('avg_over_time(cpu[0s]) > 1', 'BAD_EXPR', /longer than 0/);
    fails('avg_over_time(cpu[5m:1m]) > 1', 'BAD_EXPR', /subqueries/);
    fails('cpu > bool 1', 'BAD_EXPR', /"bool" modifier is not supported/);
    fails('cpu + 1 > 2', 'BAD_EXPR', /arithmetic \("\+"\) is not supported/);
    fails('cpu > 1 and memory > 2', 'BAD_EXPR', /set operator "and" is not supported/);
    fails('0.5', 'BAD_EXPR', /a number cannot stand alone/);
    fails('{}', 'BAD_EXPR', /needs a metric name or at least one label matcher/);
    fails('(cpu > 1', 'BAD_EXPR', /expected "\)" to close the "\(" at column 1, got end of input/);
    fails('cpu{service="a" service="b"}', 'BAD_EXPR', /expected "," or "}" after a label matcher, got "service"/);
    fails('   ', 'BAD_EXPR', /is empty/);
    const multi = fails('cpu{\n  service="a",\n  host=~"["\n}', 'BAD_EXPR', /at line 3, column 10/);
    assert.equal(multi.position?.line, 3);
  });

  it('shows a caret under the error', () => {
    const e = fails('latency_p95{service=} > 1', 'BAD_EXPR', /expected a quoted string/);
    assert.ok(e.message.endsWith('  latency_p95{service=} > 1\n                      ^'), e.message);
  });

  it('refuses hostile input quickly: huge, deeply nested, many matchers', () => {
    fails(`cpu > ${'1'.repeat(MAX_EXPR_LENGTH)}`, 'TOO_LARGE', /characters long; the limit is 4096/);
    const deep = `${'('.repeat(MAX_EXPR_DEPTH + 1)}cpu${')'.repeat(MAX_EXPR_DEPTH + 1)} > 1`;
    fails(deep, 'TOO_LARGE', /nested deeper than 32 levels/);
    const ok = `${'('.repeat(MAX_EXPR_DEPTH - 1)}cpu${')'.repeat(MAX_EXPR_DEPTH - 1)} > 1`;
    assert.equal(parseExpr(ok).type, 'compare');
    // Unbalanced deep nesting (no stack overflow, a clean error).
    fails('('.repeat(4000), 'TOO_LARGE', /nested deeper/);
    fails(`absent(${'absent('.repeat(40)}cpu${')'.repeat(41)}`, 'TOO_LARGE', /nested deeper/);
    const many = `cpu{${Array.from({ length: 40 }, (_, i) => `service!="s${i}"`).join(',')}} > 1`;
    fails(many, 'TOO_LARGE', /more than 32 label matchers/);
    // Not an expression at all.
    fails('\u0000\u0001{{{', 'BAD_EXPR', /unexpected/);
    assert.throws(() => parseExpr(42 as unknown as string, 'x'), /x must be a string/);
  });
});

describe('label regex (linear-time RE2 subset)', () => {
  it('agrees with JavaScript RegExp on the supported syntax', () => {
    const patterns = ['cart|checkout', 'c.*', '[a-c]+t', '[^0-9]{2,4}', 'a(b|c)?d', '\\d+\\.\\d{1,2}', 'x{2}', 'a{1,}b', '(?:ab)+', '\\w+-\\d', '^cart$', 'a|', '', '[\\d\\-_]+', 'é+'];
    const inputs = ['', 'cart', 'checkout', 'cartx', 'abct', 'xy', 'xyz9', 'ad', 'abd', 'acd', 'abcd', '1.25', '1.2', 'xx', 'xxx', 'aab', 'b', 'abab', 'ab', 'node-1', 'a', '9-_', 'éé'];
    for (const p of patterns) {
      const mine = compileLabelRegex(p);
      const js = new RegExp(`^(?:${p})$`, 'su');
      for (const s of inputs) assert.equal(mine.matches(s), js.test(s), `/${p}/ on ${JSON.stringify(s)}`);
    }
  });

  it('supports (?i), dot over new lines and refuses what RE2 or this matcher cannot do', () => {
    assert.ok(compileLabelRegex('(?i)CART').matches('cart'));
    assert.ok(compileLabelRegex('(?i)[a-c]+').matches('ABC'));
    assert.ok(compileLabelRegex('a.b').matches('a\nb'));
    for (const [p, msg] of [
      ['(a', /missing "\)"/],
      ['a)', /unexpected "\)"/],
      ['[a', /missing "\]"/],
      ['*a', /missing argument/],
      ['a**', /bad repetition operator/],
      ['(?=a)', /look-around/],
      ['(?P<n>a)', /named groups/],
      ['(?s)a', /flags other than a leading \(\?i\)/],
      ['(a)\\1', /back-references/],
      ['\\p{L}', /Unicode classes/],
      ['\\bx', /assertion \\b/],
      ['a{2000}', /repeat count above 1000/],
      ['a{3,2}', /bad repeat range/],
      ['[z-a]', /end before start/],
      ['\\', /trailing backslash/],
      ['(((((a{1000}){1000}){1000})))', /repeat count|more than 4096 states/],
    ] as const) {
      assert.throws(() => compileLabelRegex(p), (e: unknown) => e instanceof RegexSyntaxError && msg.test(e.message), p);
    }
  });

  it('runs catastrophic-backtracking patterns in linear time', () => {
    // With a backtracking engine these take exponential time on a 40-character miss.
    const evil = ['(a+)+b', '(a|a)*b', '(a|aa)+$b', '(.*a){12}x'];
    const input = `${'a'.repeat(40)}c`;
    for (const p of evil) assert.equal(compileLabelRegex(p).matches(input), false, p);
    // A long value still matches quickly: states x length steps, no blow-up.
    assert.equal(compileLabelRegex('(a|b)*c').matches(`${'ab'.repeat(20_000)}c`), true);
  });
});
