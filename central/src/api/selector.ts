// The PromQL series-selector syntax of GET /api/v1/metrics/query, parsed into the store's
// SeriesSelector: `name`, `name{a="x",b!~"y.*"}`, `{__name__=~"http_.*",job="api"}`.
// Strings take double or single quotes with Go/PromQL escapes (\\ \" \' \n \t \r). Only the
// selector: functions, ranges and offsets are not part of this API. Errors name the position.
import type { LabelMatcher, MatchOp, SeriesSelector } from '../storage/types.js';

export class SelectorSyntaxError extends Error {
  override readonly name = 'SelectorSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:]/;
const LABEL_START = /[A-Za-z_]/;
const LABEL_CHAR = /[A-Za-z0-9_]/;
export const MAX_SELECTOR_LENGTH = 4096;

export function parseSelector(text: string): SeriesSelector {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorSyntaxError(`selector longer than ${MAX_SELECTOR_LENGTH} characters`, MAX_SELECTOR_LENGTH);
  let i = 0;
  const skip = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const ident = (start: RegExp, rest: RegExp, what: string): string => {
    if (i >= text.length || !start.test(text[i]!)) throw new SelectorSyntaxError(`expected ${what}`, i);
    const from = i++;
    while (i < text.length && rest.test(text[i]!)) i++;
    return text.slice(from, i);
  };
  const str = (): string => {
    const q = text[i];
    if (q !== '"' && q !== "'") throw new SelectorSyntaxError('expected a quoted string', i);
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) throw new SelectorSyntaxError('unterminated string', i);
      const c = text[i++]!;
      if (c === q) return out;
      if (c === '\\') {
        const e = text[i++];
        const map: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };
        if (e === undefined || map[e] === undefined) throw new SelectorSyntaxError(`unknown escape \\${e ?? ''}`, i - 1);
        out += map[e];
      } else out += c;
    }
  };
  skip();
  const sel: SeriesSelector = { matchers: [] };
  if (i < text.length && text[i] !== '{') sel.name = ident(NAME_START, NAME_CHAR, 'a metric name or "{"');
  skip();
  if (i < text.length && text[i] === '{') {
    i++;
    skip();
    while (text[i] !== '}') {
      const name = ident(LABEL_START, LABEL_CHAR, 'a label name');
      skip();
      const op = text.startsWith('=~', i) ? '=~' : text.startsWith('!~', i) ? '!~' : text.startsWith('!=', i) ? '!=' : text[i] === '=' ? '=' : undefined;
      if (op === undefined) throw new SelectorSyntaxError('expected one of = != =~ !~', i);
      i += op.length;
      skip();
      const m: LabelMatcher = { name, op: op as MatchOp, value: str() };
      if (name === '__name__' && m.op === '=' && sel.name === undefined) sel.name = m.value;
      else sel.matchers.push(m);
      skip();
      if (text[i] === ',') {
        i++;
        skip();
        continue;
      }
      if (text[i] !== '}') throw new SelectorSyntaxError('expected "," or "}"', i);
    }
    i++;
    skip();
  }
  if (i !== text.length) throw new SelectorSyntaxError('unexpected text after the selector', i);
  if (sel.name === undefined && !sel.matchers.some((m) => (m.op === '=' && m.value !== '') || (m.op === '=~' && !new RegExp(`^(?:${m.value})$`, 's').test('')))) {
    throw new SelectorSyntaxError('a selector needs a metric name or at least one matcher that does not match the empty string', 0);
  }
  return sel;
}
