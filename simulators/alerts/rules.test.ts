import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AlertStormError } from './errors.js';
import { defaultAlertRules, parseAlertRules, roundUp3 } from './rules.js';
import { generateAlertStorm } from './storm.js';
import { compileTemplate, goFloat, goFormatG, humanize, humanizeDuration } from './template.js';
import { shopFixture } from './testdata/fixtures.js';

function rejects(fn: () => unknown, code: string, message: RegExp, path?: string): AlertStormError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AlertStormError, `expected AlertStormError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  if (path !== undefined) assert.equal(caught.path, path);
  return caught;
}

const GOOD = `
groups:
  - name: latency
    interval: 1m
    rules:
      - alert: HighLatency
        expr: latency_p95{service=~"cart|checkout"} > 0.5
        for: 2m
        labels:
          severity: critical
          team: "{{ $labels.service }}-oncall"
        annotations:
          summary: "p95 of {{ $labels.service }} is {{ $value }}s"
  - name: absence
    rules:
      - alert: NoTraffic
        expr: absent(request_rate{service="cart"})
`;

describe('rule files', () => {
  it('loads groups, rules, durations and templates', () => {
    const rules = parseAlertRules(GOOD);
    assert.equal(rules.length, 2);
    const [r0, r1] = rules as [(typeof rules)[0], (typeof rules)[0]];
    assert.equal(r0.group, 'latency');
    assert.equal(r0.name, 'HighLatency');
    assert.equal(r0.forMs, 120_000);
    assert.equal(r0.intervalMs, 60_000);
    assert.equal(r0.expr.type, 'compare');
    assert.equal(r0.labels.find((l) => l.name === 'team')?.template.render({ service: 'cart' }, 1), 'cart-oncall');
    assert.equal(r0.annotations[0]?.template.render({ service: 'cart' }, 0.75), 'p95 of cart is 0.75s');
    assert.equal(r1.forMs, 0);
    assert.equal(r1.intervalMs, undefined);
    assert.equal(r1.expr.type, 'absent');
    // The parsed structure is accepted too.
    assert.equal(parseAlertRules({ groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'cpu > 1' }] }] }).length, 1);
    assert.deepEqual(parseAlertRules('groups: []'), []);
  });

  it('runs the example rule file of testdata/ over the fixture', () => {
    const text = readFileSync(new URL('./testdata/example-rules.yml', import.meta.url), 'utf8');
    assert.equal(parseAlertRules(text).length, 4);
    const { topology, metrics, truth } = shopFixture();
    const storm = generateAlertStorm(metrics, truth, topology, { rules: text, noise: { level: 0 } });
    assert.deepEqual(
      storm.alerts.map((a) => `${a.labels['alertname']}/${a.entity}/${a.faultId}`).sort(),
      ['CartErrors/cart/f1', 'CheckoutPathSlow/cart/f1', 'CheckoutPathSlow/frontend/f1', 'DatabaseSilent/cartdb/f3', 'DiskAlmostFull/node-2/f2'],
    );
    const slow = storm.alerts.find((a) => a.labels['alertname'] === 'CheckoutPathSlow' && a.entity === 'frontend');
    assert.equal(slow?.labels['team'], 'frontend-team');
    assert.match(slow?.annotations['description'] ?? '', /^p95 averaged over 2m is \d+(\.\d+)?m?s on frontend$/);
  });

  it('names the rule and the field of every mistake', () => {
    const rule = (body: string) => `groups:\n  - name: g\n    rules:\n      - alert: A\n${body}`;
    rejects(() => parseAlertRules(rule('        expr: latency_p95{service=} > 1\n')), 'BAD_EXPR', /^rules\.groups\[0\]\.rules\[0\]\.expr: expected a quoted string/, 'rules.groups[0].rules[0].expr');
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        for: 5\n')), 'BAD_RULES', /rules\.groups\[0\]\.rules\[0\]\.for must be a duration such as 30s, 5m or 1h30m \(got 5\)/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        keep_firing_for: 5m\n')), 'BAD_RULES', /has unknown key\(s\) "keep_firing_for"/);
    rejects(() => parseAlertRules('groups:\n  - name: g\n    rules:\n      - record: x\n        expr: cpu\n'), 'BAD_RULES', /recording rules \("record:"\) are not supported/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        labels: { sim_fault: f1 }\n')), 'BAD_RULES', /"sim_fault" is set by the simulator/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        labels: { "bad-name": x }\n')), 'BAD_RULES', /labels\.bad-name: label names must match/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        labels: { __proto__: x }\n')), 'BAD_RULES', /reserved/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        labels: { v: "{{ $value }}" }\n')), 'BAD_TEMPLATE', /label templates may not use \$value/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        annotations: { s: "{{ $labels.service" }\n')), 'BAD_TEMPLATE', /annotations\.s: unclosed action/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        annotations: { s: "{{ .Bogus }}" }\n')), 'BAD_TEMPLATE', /unsupported template term "\.Bogus" \(use \$labels\.<name> or \$value\) \(at column 4\)/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        annotations: { s: "{{ if $value }}x{{ end }}" }\n')), 'BAD_TEMPLATE', /"if" actions are not supported/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        annotations: { s: "{{ $value | nope }}" }\n')), 'BAD_TEMPLATE', /unknown template function "nope"/);
    rejects(() => parseAlertRules(rule('        expr: cpu > 1\n        annotations: { s: "{{ printf \\"%x\\" $value }}" }\n')), 'BAD_TEMPLATE', /printf format/);
    rejects(() => parseAlertRules('groups:\n  - name: g\n    rules:\n      - alert: 1bad\n        expr: cpu > 1\n'), 'BAD_RULES', /alert must be a valid metric name/);
    rejects(() => parseAlertRules('groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n'), 'BAD_RULES', /rules\.groups\[1\]\.name: duplicate group name "g"/);
    rejects(() => parseAlertRules('groups:\n  - name: g\n    interval: 100ms\n    rules: []\n'), 'BAD_RULES', /interval must be at least 1s/);
    rejects(() => parseAlertRules('groups:\n  - name: g\n    rules:\n      - alert: A\n        alert: B\n        expr: cpu > 1\n'), 'BAD_RULES', /invalid YAML at line 5/);
    rejects(() => parseAlertRules('groups: [\n'), 'BAD_RULES', /invalid YAML/);
    rejects(() => parseAlertRules('rules: []'), 'BAD_RULES', /has unknown key\(s\) "rules"/);
    rejects(() => parseAlertRules(42), 'BAD_RULES', /rules Invalid input: expected object/);
  });

  it('refuses hostile files: size, alias bombs, rule count', () => {
    rejects(() => parseAlertRules(`# ${'x'.repeat(1024 * 1024)}\ngroups: []`), 'TOO_LARGE', /larger than 1048576 bytes/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    rejects(() => parseAlertRules(`${bomb.join('\n')}\ngroups: []\n`), 'BAD_RULES', /alias|Excessive/i);
    const many = { groups: [{ name: 'g', rules: Array.from({ length: 10_001 }, () => ({ alert: 'A', expr: 'cpu > 1' })) }] };
    rejects(() => parseAlertRules(many), 'TOO_LARGE', /more than 10000 rules/);
  });
});

describe('templates', () => {
  it('render labels and values like Prometheus', () => {
    const t = (s: string, v = 0.5, labels: Record<string, string> = { service: 'cart' }) => compileTemplate(s, 'x').render(labels, v);
    assert.equal(t('{{ $labels.service }} {{$labels.missing}}|'), 'cart |');
    assert.equal(t('{{ .Labels.service }}={{ .Value }}'), 'cart=0.5');
    assert.equal(t('{{ $value | humanize }}', 1234567), '1.235M');
    assert.equal(t('{{ $value | humanizePercentage }}', 0.0512), '5.12%');
    assert.equal(t('{{ printf "%.2f" $value }}', 3.14159), '3.14');
    assert.equal(t('{{ $value | printf "%.1f%%" }}', 12.34), '12.3%');
    assert.equal(t('{{ $labels.service | toUpper }}'), 'CART');
    assert.equal(t('a {{- $labels.service -}} b'), 'acartb');
    assert.equal(t('x{{/* note */}}y'), 'xy');
    assert.equal(t('{{ $value | humanizeDuration }}', 3725), '1h 2m 5s');
  });

  it('prints numbers as Go does', () => {
    const cases: Array<[number, string]> = [
      [0.5, '0.5'],
      [100, '100'],
      [123456, '123456'],
      [1e6, '1e+06'],
      [1234567, '1.234567e+06'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [-2.5, '-2.5'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [0, '0'],
      [1e21, '1e+21'],
    ];
    for (const [v, s] of cases) assert.equal(goFloat(v), s, String(v));
    assert.equal(goFormatG(1234.5678, 4), '1235');
    assert.equal(goFormatG(12345.678, 4), '1.235e+04');
    assert.equal(goFormatG(1.5, 4), '1.5');
    assert.equal(humanize(0.25), '250m');
    assert.equal(humanize(2048), '2.048k');
    assert.equal(humanize(0), '0');
    assert.equal(humanizeDuration(0.25), '250ms');
    assert.equal(humanizeDuration(90061), '1d 1h 1m 1s');
  });
});

describe('default rules', () => {
  it('derive per-service and per-host rules from the topology and the baselines', () => {
    const { topology, metrics } = shopFixture();
    const file = defaultAlertRules(topology, metrics);
    assert.deepEqual(
      file.groups.map((g) => g.name),
      ['services', 'hosts', 'absence'],
    );
    const services = file.groups[0]?.rules ?? [];
    // 4 service-like nodes x 5 rules; hosts 2 x 2; absence one per service-like node.
    assert.equal(services.length, 20);
    assert.equal(file.groups[1]?.rules.length, 4);
    assert.equal(file.groups[2]?.rules.length, 4);
    const cartLatency = services.find((r) => r.alert === 'HighLatencyP95' && r.expr.includes('"cart"'));
    assert.ok(cartLatency);
    const thr = Number(/> (\S+)$/.exec(cartLatency.expr)?.[1]);
    // Baseline 0.12 s: at least twice the median, well below the 0.72 s fault level.
    assert.ok(thr >= 0.24 && thr < 0.4, `threshold ${thr}`);
    assert.equal(cartLatency.for, '2m');
    assert.deepEqual(file.groups[2]?.rules[0], {
      alert: 'RequestsAbsent',
      expr: 'absent(request_rate{service="cart"})',
      for: '1m',
      labels: { severity: 'critical' },
      annotations: { summary: '{{ $labels.service }} reports no requests', description: 'no request_rate samples from cart' },
    });
    // Every generated rule loads through the same parser.
    assert.equal(parseAlertRules(file).length, 28);
    // for: override and sigmas.
    const quick = defaultAlertRules(topology, metrics, { forMs: 30_000, sigmas: 40 });
    assert.ok(quick.groups.every((g) => g.rules.every((r) => r.for === '30s')));
  });

  it('rounds thresholds up to three significant digits', () => {
    assert.equal(roundUp3(0.24123), 0.242);
    assert.equal(roundUp3(0.24), 0.24);
    assert.equal(roundUp3(598123456), 599000000);
    assert.equal(roundUp3(1.0049), 1.01);
  });
});
