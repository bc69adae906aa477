// Series selectors (PromQL semantics): `=` and `!=` compare strings, `=~` and `!~` are regular
// expressions anchored at both ends (`^(?:re)$`, with `.` matching newlines as Prometheus'
// `(?s:re)`), and a label the series does not have counts as the empty string, so
// `{a=""}` selects series without `a` and `{a!="x"}` selects series without `a` too.
//
// Regexes run on the JavaScript engine, not RE2: the RE2 subset PromQL users write behaves the
// same, but JS also accepts backreferences and lookarounds. The pattern length is bounded and
// label values are bounded, which bounds the cost of a pathological pattern per value.
import type { Labels } from '../../../shared-schemas/src/index.js';
import { StorageError } from './errors.js';
import { isPlainObject, show } from './labels.js';
import type { MatchOp, SeriesSelector } from './types.js';

const OPS: readonly MatchOp[] = ['=', '!=', '=~', '!~'];

export interface SelectorLimits {
  maxMatchers: number;
  maxRegexLength: number;
  maxLabelValueLength: number;
}

export interface CompiledMatcher {
  name: string;
  op: MatchOp;
  value: string;
  test: (v: string) => boolean;
  /** True when the matcher selects series without the label (it matches ""). */
  matchesEmpty: boolean;
}

export interface CompiledSelector {
  matchers: CompiledMatcher[];
}

function invalid(message: string): never {
  throw new StorageError('INVALID_QUERY', message);
}

function compileMatcher(m: unknown, path: string, limits: SelectorLimits): CompiledMatcher {
  if (!isPlainObject(m)) invalid(`${path} must be an object {name, op, value} (got ${show(m)})`);
  const { name, op, value } = m;
  if (typeof name !== 'string' || name === '') invalid(`${path}.name must be a non-empty string (got ${show(name)})`);
  if (!OPS.includes(op as MatchOp)) invalid(`${path}.op must be one of = != =~ !~ (got ${show(op)})`);
  if (typeof value !== 'string') invalid(`${path}.value must be a string (got ${show(value)})`);
  const o = op as MatchOp;
  if (o === '=' || o === '!=') {
    if (value.length > limits.maxLabelValueLength) invalid(`${path}.value is longer than ${limits.maxLabelValueLength} characters`);
    const test = o === '=' ? (v: string) => v === value : (v: string) => v !== value;
    return { name, op: o, value, test, matchesEmpty: test('') };
  }
  if (value.length > limits.maxRegexLength) invalid(`${path}.value: regex is longer than ${limits.maxRegexLength} characters`);
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${value})$`, 's');
  } catch (err) {
    throw new StorageError('INVALID_QUERY', `${path}.value is not a valid regular expression: ${(err as Error).message}`, false, { cause: err });
  }
  const test = o === '=~' ? (v: string) => re.test(v) : (v: string) => !re.test(v);
  return { name, op: o, value, test, matchesEmpty: test('') };
}

/** Validates and compiles a selector; `name` becomes a `__name__ =` matcher. */
export function compileSelector(sel: unknown, limits: SelectorLimits, path = 'selector'): CompiledSelector {
  if (!isPlainObject(sel)) invalid(`${path} must be an object {name?, matchers} (got ${show(sel)})`);
  const s = sel as unknown as SeriesSelector;
  const matchers: CompiledMatcher[] = [];
  if (s.name !== undefined) {
    if (typeof s.name !== 'string' || s.name === '') invalid(`${path}.name must be a non-empty string when set (got ${show(s.name)})`);
    matchers.push(compileMatcher({ name: '__name__', op: '=', value: s.name }, `${path}.name`, limits));
  }
  const list: unknown = s.matchers ?? [];
  if (!Array.isArray(list)) invalid(`${path}.matchers must be an array (got ${show(list)})`);
  if (list.length > limits.maxMatchers) invalid(`${path}.matchers: more than ${limits.maxMatchers} matchers (got ${list.length})`);
  list.forEach((m: unknown, i) => matchers.push(compileMatcher(m, `${path}.matchers[${i}]`, limits)));
  return { matchers };
}

export function matchesLabels(sel: CompiledSelector, labels: Labels): boolean {
  for (const m of sel.matchers) {
    const v = Object.hasOwn(labels, m.name) ? (labels[m.name] as string) : '';
    if (!m.test(v)) return false;
  }
  return true;
}

/** Matchers that do not match "" (they require the label to be present): usable as an index lookup. */
export function positiveMatchers(sel: CompiledSelector): CompiledMatcher[] {
  return sel.matchers.filter((m) => !m.matchesEmpty && (m.op === '=' || m.op === '=~'));
}

