import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { classify, levelFromNumber } from './level.js';

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

describe('filelog level detection', () => {
  it('classifies the common formats in testdata/mixed-levels.log', () => {
    const expected = [
      'info', 'warn', 'error', 'error', 'info', 'warn', 'debug', 'info', 'error', 'warn',
      'error', 'error', 'info', 'info', 'error', 'warn', 'info', 'warn', 'fatal', 'unknown',
    ];
    const lines = fixture('mixed-levels.log').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, expected.length);
    assert.deepEqual(lines.map((l) => classify(l).level), expected);
  });

  it('maps pino/bunyan numeric levels and refuses other numbers', () => {
    assert.deepEqual([10, 20, 30, 40, 50, 60, 35].map(levelFromNumber), ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'info']);
    assert.equal(levelFromNumber(3), undefined);
    assert.equal(levelFromNumber(Number.NaN), undefined);
  });

  it('mines the message of JSON lines and of syslog lines, not their headers', () => {
    assert.equal(classify('{"level":30,"msg":"user 42 logged in","pid":1}').text, 'user 42 logged in');
    assert.equal(classify('{"log":"WARN disk full\\n","stream":"stdout"}').text, 'WARN disk full');
    assert.equal(classify('{"log":"WARN disk full\\n","stream":"stdout"}').level, 'warn');
    assert.equal(classify('<34>Oct 11 22:14:15 mymachine su: \'su root\' failed for lonvick on /dev/pts/8').text, "'su root' failed for lonvick on /dev/pts/8");
    assert.equal(classify('<34>Oct 11 22:14:15 mymachine su: x').level, 'fatal');
    assert.equal(classify('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event').text, 'An application event');
    assert.equal(classify('Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186').text, 'Invalid user webmaster from 173.234.31.186');
  });

  it('ignores lower-case words in the message and markers far from the start', () => {
    assert.equal(classify('no error occurred').level, 'unknown');
    assert.equal(classify(`${'x'.repeat(300)} ERROR`).level, 'unknown');
    assert.equal(classify('[main] something happened').level, 'unknown');
  });

  it('never throws on hostile lines', () => {
    const hostile = [
      '',
      '{',
      '{"level":',
      `{"a":${'['.repeat(50_000)}}`,
      `${'{'.repeat(100_000)}}`,
      '{"level":{"toString":1},"msg":{"x":1}}',
      '{"__proto__":{"level":"error"},"msg":"x"}',
      '<999>Oct 11 22:14:15 h a: x',
      '<>',
      '\u0000\u0001\uFFFD'.repeat(1000),
      'level=' + 'a'.repeat(100_000),
    ];
    for (const h of hostile) {
      const c = classify(h);
      assert.ok(typeof c.level === 'string' && typeof c.text === 'string');
    }
    assert.equal(classify('{"__proto__":{"level":"error"},"msg":"x"}').level, 'unknown');
  });
});
