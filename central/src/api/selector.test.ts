import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSelector, SelectorSyntaxError } from './selector.js';

describe('parseSelector', () => {
  it('parses names, matchers, quotes and escapes', () => {
    assert.deepEqual(parseSelector('up'), { name: 'up', matchers: [] });
    assert.deepEqual(parseSelector(' http_requests_total { job = "api", code!~"5..", path=~\'/a\\\\b\' } '), {
      name: 'http_requests_total',
      matchers: [
        { name: 'job', op: '=', value: 'api' },
        { name: 'code', op: '!~', value: '5..' },
        { name: 'path', op: '=~', value: '/a\\b' },
      ],
    });
    assert.deepEqual(parseSelector('{__name__="cpu",host!="a\\"b"}'), { name: 'cpu', matchers: [{ name: 'host', op: '!=', value: 'a"b' }] });
    assert.deepEqual(parseSelector('{job=~"api|web"}'), { matchers: [{ name: 'job', op: '=~', value: 'api|web' }] });
  });

  it('refuses bad syntax naming the position', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /needs a metric name/],
      ['{}', /needs a metric name/],
      ['{job=""}', /needs a metric name/],
      ['{job=~".*"}', /needs a metric name/],
      ['up{job="a"', /expected "," or "}" at position 10/],
      ['up{job="a}', /unterminated string/],
      ['up{job:"a"}', /expected a label name|expected one of/],
      ['up{job=a}', /expected a quoted string at position 7/],
      ['up{1a="x"}', /expected a label name at position 3/],
      ['up[5m]', /unexpected text after the selector at position 2/],
      ['rate(up[5m])', /unexpected text/],
      ['up{a="\\x"}', /unknown escape/],
      ['x'.repeat(5000), /longer than 4096/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseSelector(text), (e: unknown) => e instanceof SelectorSyntaxError && re.test(e.message), text.slice(0, 40));
    }
  });
});
