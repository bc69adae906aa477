// The alert-rule expression language: a deliberately small subset of PromQL over simulated
// series, parsed by recursive descent with a position on every error.
//
//   expr     := operand ( cmp number )*            cmp: > < >= <= == !=  (no `bool`)
//   operand  := selector
//             | "(" expr ")"
//             | "absent" "(" expr ")"
//             | fn "(" selector "[" duration "]" ")"  fn: avg_over_time max_over_time
//                                                        min_over_time absent_over_time
//   selector := metric [ "{" [ matcher ( "," matcher )* [","] ] "}" ] | "{" matcher ... "}"
//   matcher  := label ( "=" | "!=" | "=~" | "!~" ) string
//
// Series carry the labels `metric` (the metric name; `__name__` is an alias), `kind` (the
// topology node kind) and `service`, `host` or `instance` (the node name; hosts use `host`,
// instances `instance`, every other kind `service`). A metric name before the braces is
// shorthand for `metric="<name>"`. Strings use PromQL quoting ("..." or '...' with Go escapes,
// or `raw`); durations PromQL units (ms s m h d w y, combinable: 1h30m). `#` starts a comment.
import { HOST_METRICS, SERVICE_METRICS } from '../model/index.js';
import { AlertStormError, caretSnippet, positionOf } from './errors.js';
import { compileLabelRegex, RegexSyntaxError } from './regex.js';
import type { LabelRegex } from './regex.js';

export const MAX_EXPR_LENGTH = 4096;
export const MAX_EXPR_DEPTH = 32;
export const MAX_MATCHERS = 32;
/** Longest range of a `*_over_time` window. */
export const MAX_RANGE_MS = 7 * 24 * 3_600_000;

/** Labels a simulated series carries (plus `__name__`, an alias of `metric`). */
export const SERIES_LABELS = ['metric', 'kind', 'service', 'host', 'instance'] as const;
const KNOWN_METRICS: ReadonlySet<string> = new Set<string>([...SERVICE_METRICS, ...HOST_METRICS]);
export const RANGE_FUNCTIONS = ['avg_over_time', 'max_over_time', 'min_over_time', 'absent_over_time'] as const;
export type RangeFunction = (typeof RANGE_FUNCTIONS)[number];
const FUNCTIONS = ['absent', ...RANGE_FUNCTIONS];
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'resets', 'changes']);

export type MatchOp = '=' | '!=' | '=~' | '!~';
export type CompareOp = '>' | '<' | '>=' | '<=' | '==' | '!=';

export interface LabelMatcher {
  /** `__name__` is stored as `metric`. */
  name: string;
  op: MatchOp;
  value: string;
  /** Compiled for `=~` and `!~`. */
  regex: LabelRegex | undefined;
  pos: number;
}

export interface SelectorNode {
  type: 'selector';
  /** The metric name before the braces, also present as a `metric=` matcher. */
  metric: string | undefined;
  matchers: LabelMatcher[];
  pos: number;
}
export interface RangeCallNode {
  type: 'range_call';
  func: RangeFunction;
  selector: SelectorNode;
  rangeMs: number;
  pos: number;
}
export interface AbsentNode {
  type: 'absent';
  arg: ExprNode;
  pos: number;
}
export interface CompareNode {
  type: 'compare';
  op: CompareOp;
  lhs: ExprNode;
  threshold: number;
  pos: number;
}
export type ExprNode = SelectorNode | RangeCallNode | AbsentNode | CompareNode;

class ExprSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A Prometheus duration ("5m", "1h30m", "500ms") in ms; NaN when it is not one. */
export function parsePromDuration(text: string): number {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(text)) return NaN;
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
  return total;
}

/** The shortest Prometheus duration text for `ms` ("1h30m", "0s"). */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [u, f] of [['y', 31_536_000_000], ['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / f);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * f;
    }
  }
  return out;
}

class ExprParser {
  private i = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  parse(): ExprNode {
    const node = this.expr();
    this.ws();
    if (this.i < this.src.length) {
      const w = this.word();
      if (w === 'and' || w === 'or' || w === 'unless') this.fail(`the set operator "${w}" is not supported`);
      if ('+-*/%^'.includes(this.src[this.i] as string)) this.fail(`arithmetic ("${this.src[this.i]}") is not supported: compare a series with a number`);
      this.fail(`unexpected ${this.describe()}: expected a comparison operator or the end of the expression`);
    }
    return node;
  }

  private fail(message: string, at = this.i): never {
    throw new ExprSyntaxError(message, at);
  }

  private describe(): string {
    if (this.i >= this.src.length) return 'end of input';
    const rest = this.src.slice(this.i, this.i + 12);
    const tok = /^([A-Za-z_:][A-Za-z0-9_:]*|\d[\d.eE+-]*|=~|!~|!=|>=|<=|==|.)/su.exec(rest);
    return JSON.stringify(tok ? tok[0] : rest);
  }

  private ws(): void {
    for (;;) {
      const c = this.src[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else if (c === '#') {
        while (this.i < this.src.length && this.src[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  private word(): string {
    const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(this.src.slice(this.i, this.i + 256));
    return m ? m[0] : '';
  }

  private expr(): ExprNode {
    if (++this.depth > MAX_EXPR_DEPTH) throw new ExprSyntaxError(`expression nested deeper than ${MAX_EXPR_DEPTH} levels`, this.i, true);
    let node = this.operand();
    for (;;) {
      this.ws();
      const at = this.i;
      const op = this.compareOp();
      if (op === undefined) break;
      this.ws();
      if (this.word() === 'bool') this.fail('the "bool" modifier is not supported: comparisons filter the series');
      const threshold = this.number();
      if (threshold === undefined) {
        this.fail(`expected a number after "${op}" (comparisons are against a threshold), got ${this.describe()}`);
      }
      node = { type: 'compare', op, lhs: node, threshold, pos: at };
    }
    this.depth--;
    return node;
  }

  private compareOp(): CompareOp | undefined {
    const two = this.src.slice(this.i, this.i + 2);
    if (two === '>=' || two === '<=' || two === '==' || two === '!=') {
      this.i += 2;
      return two;
    }
    const one = this.src[this.i];
    if (one === '>' || one === '<') {
      this.i++;
      return one;
    }
    return undefined;
  }

  private number(): number | undefined {
    const m = /^[+-]?(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[Ii][Nn][Ff]|[Nn][Aa][Nn])(?![A-Za-z0-9_:.])/.exec(this.src.slice(this.i, this.i + 400));
    if (!m) return undefined;
    this.i += m[0].length;
    const body = m[1] as string;
    const neg = m[0].startsWith('-');
    let v: number;
    if (/^0x/i.test(body)) v = parseInt(body.slice(2), 16);
    else if (/^inf$/i.test(body)) v = Infinity;
    else if (/^nan$/i.test(body)) v = NaN;
    else v = Number(body);
    return neg ? -v : v;
  }

  private operand(): ExprNode {
    this.ws();
    const at = this.i;
    const c = this.src[this.i];
    if (c === undefined) this.fail('unexpected end of input: expected a series selector, a function or "("');
    if (c === '(') {
      this.i++;
      const inner = this.expr();
      this.ws();
      if (this.src[this.i] !== ')') this.fail(`expected ")" to close the "(" at column ${at + 1}, got ${this.describe()}`);
      this.i++;
      return inner;
    }
    if (c === '{') return this.selector(undefined, at);
    const name = this.word();
    if (name === '') {
      if (this.number() !== undefined) {
        this.i = at;
        this.fail('a number cannot stand alone: compare a series with a threshold, e.g. latency_p95 > 0.5');
      }
      this.fail(`unexpected ${this.describe()}: expected a series selector, a function or "("`);
    }
    this.i += name.length;
    this.ws();
    if (this.src[this.i] === '(') return this.call(name, at);
    return this.selector(name, at);
  }

  private call(name: string, at: number): ExprNode {
    if (COUNTER_FUNCTIONS.has(name)) {
      this.fail(`${name}() is not supported: simulated series are gauges (use the value itself or avg_over_time(x[5m]))`, at);
    }
    if (!FUNCTIONS.includes(name)) this.fail(`unknown function "${name}" (supported: ${FUNCTIONS.join(', ')})`, at);
    this.i++; // (
    if (name === 'absent') {
      const arg = this.expr();
      this.ws();
      if (this.src[this.i] !== ')') this.fail(`expected ")" to close absent(, got ${this.describe()}`);
      this.i++;
      return { type: 'absent', arg, pos: at };
    }
    this.ws();
    const selAt = this.i;
    const sc = this.src[this.i];
    let selector: SelectorNode;
    if (sc === '{') selector = this.selector(undefined, selAt);
    else {
      const metric = this.word();
      if (metric === '') this.fail(`${name}() takes a range selector such as latency_p95{service="cart"}[5m], got ${this.describe()}`);
      if (FUNCTIONS.includes(metric) || COUNTER_FUNCTIONS.has(metric)) this.fail(`${name}() takes a range selector, not a function call (subqueries are not supported)`);
      this.i += metric.length;
      selector = this.selector(metric, selAt);
    }
    this.ws();
    if (this.src[this.i] !== '[') this.fail(`${name}() needs a range: expected "[" and a duration such as [5m], got ${this.describe()}`);
    this.i++;
    this.ws();
    const dAt = this.i;
    const m = /^[0-9A-Za-z]+/.exec(this.src.slice(this.i, this.i + 64));
    const rangeMs = m ? parsePromDuration(m[0]) : NaN;
    if (!m || !Number.isFinite(rangeMs)) this.fail(`expected a duration such as 5m or 1h30m, got ${this.describe()}`, dAt);
    if (rangeMs <= 0) this.fail('the range must be longer than 0', dAt);
    if (rangeMs > MAX_RANGE_MS) this.fail(`the range must be at most ${formatPromDuration(MAX_RANGE_MS)}`, dAt);
    this.i += m[0].length;
    this.ws();
    if (this.src[this.i] === ':') this.fail('subqueries ([range:step]) are not supported');
    if (this.src[this.i] !== ']') this.fail(`expected "]" after the range, got ${this.describe()}`);
    this.i++;
    this.ws();
    if (this.src[this.i] !== ')') this.fail(`expected ")" to close ${name}(, got ${this.describe()}`);
    this.i++;
    return { type: 'range_call', func: name as RangeFunction, selector, rangeMs, pos: at };
  }

  private selector(metric: string | undefined, at: number): SelectorNode {
    const matchers: LabelMatcher[] = [];
    if (metric !== undefined) {
      if (metric === 'and' || metric === 'or' || metric === 'unless' || metric === 'bool') this.fail(`unexpected keyword "${metric}": expected a series selector`, at);
      if (!KNOWN_METRICS.has(metric)) this.fail(`unknown metric "${metric}" (simulated metrics: ${[...KNOWN_METRICS].join(', ')})`, at);
      matchers.push({ name: 'metric', op: '=', value: metric, regex: undefined, pos: at });
    }
    this.ws();
    if (this.src[this.i] === '{') {
      const open = this.i;
      this.i++;
      for (;;) {
        this.ws();
        if (this.src[this.i] === '}') {
          this.i++;
          break;
        }
        if (matchers.length >= MAX_MATCHERS + 1) throw new ExprSyntaxError(`more than ${MAX_MATCHERS} label matchers in one selector`, this.i, true);
        matchers.push(this.matcher());
        this.ws();
        const sep = this.src[this.i];
        if (sep === ',') {
          this.i++;
          continue;
        }
        if (sep === '}') {
          this.i++;
          break;
        }
        if (sep === undefined) this.fail(`expected "}" to close the "{" at column ${open + 1}, got end of input`);
        this.fail(`expected "," or "}" after a label matcher, got ${this.describe()}`);
      }
    } else if (metric === undefined) this.fail('expected "{"');
    if (matchers.length === 0) this.fail('a selector needs a metric name or at least one label matcher', at);
    return { type: 'selector', metric, matchers, pos: at };
  }

  private matcher(): LabelMatcher {
    const at = this.i;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.i, this.i + 256));
    if (!m) this.fail(`expected a label name, got ${this.describe()}`);
    let name = m[0];
    if (name === '__name__') name = 'metric';
    if (!(SERIES_LABELS as readonly string[]).includes(name)) {
      this.fail(`unknown label "${m[0]}" (simulated series carry: ${SERIES_LABELS.join(', ')})`);
    }
    this.i += m[0].length;
    this.ws();
    const two = this.src.slice(this.i, this.i + 2);
    let op: MatchOp;
    if (two === '=~' || two === '!~' || two === '!=') {
      op = two;
      this.i += 2;
    } else if (this.src[this.i] === '=') {
      op = '=';
      this.i++;
    } else this.fail(`expected one of = != =~ !~ after the label name "${m[0]}", got ${this.describe()}`);
    this.ws();
    const strAt = this.i;
    const value = this.string();
    let regex: LabelRegex | undefined;
    if (op === '=~' || op === '!~') {
      try {
        regex = compileLabelRegex(value);
      } catch (e) {
        if (e instanceof RegexSyntaxError) {
          // The regex offset is into the unquoted value; point at the string's start plus it
          // when the string has no escapes (else at the string).
          const raw = this.src.slice(strAt + 1, this.i - 1);
          const off = raw === value ? strAt + 1 + Math.min(e.offset, value.length) : strAt;
          this.fail(`bad regular expression: ${e.message}`, off);
        }
        throw e;
      }
    }
    if (name === 'metric' && op === '=' && !KNOWN_METRICS.has(value)) {
      this.fail(`unknown metric "${value}" (simulated metrics: ${[...KNOWN_METRICS].join(', ')})`, strAt);
    }
    return { name, op, value, regex, pos: at };
  }

  private string(): string {
    const at = this.i;
    const q = this.src[this.i];
    if (q !== '"' && q !== "'" && q !== '`') this.fail(`expected a quoted string, got ${this.describe()}`);
    this.i++;
    if (q === '`') {
      const end = this.src.indexOf('`', this.i);
      if (end < 0) this.fail('unterminated raw string', at);
      const v = this.src.slice(this.i, end);
      this.i = end + 1;
      return v;
    }
    let out = '';
    for (;;) {
      const c = this.src[this.i];
      if (c === undefined || c === '\n') this.fail('unterminated string', at);
      if (c === q) {
        this.i++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const escAt = this.i;
      const e = this.src[this.i + 1];
      this.i += 2;
      const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
      if (e !== undefined && e in simple) {
        if ((e === '"' && q !== '"') || (e === "'" && q !== "'")) this.fail(`unknown escape sequence \\${e}`, escAt);
        out += simple[e];
        continue;
      }
      const hex = (n: number): number => {
        const h = this.src.slice(this.i, this.i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail('bad escape sequence in string', escAt);
        this.i += n;
        return parseInt(h, 16);
      };
      let cp: number;
      if (e === 'x') cp = hex(2);
      else if (e === 'u') cp = hex(4);
      else if (e === 'U') cp = hex(8);
      else if (e !== undefined && /[0-7]/.test(e)) {
        const o = this.src.slice(this.i - 1, this.i + 2);
        if (!/^[0-7]{3}$/.test(o)) this.fail('bad octal escape in string (want \\NNN)', escAt);
        this.i += 2;
        cp = parseInt(o, 8);
      } else this.fail(`unknown escape sequence \\${e ?? ''}`, escAt);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('escape sequence is not a valid Unicode code point', escAt);
      out += String.fromCodePoint(cp);
    }
  }
}

/**
 * Parses an expression. Errors are AlertStormError (BAD_EXPR, or TOO_LARGE for the length,
 * nesting and matcher limits) naming `path`, with the position and a caret under it.
 */
export function parseExpr(text: string, path = 'expr'): ExprNode {
  if (typeof text !== 'string') {
    throw new AlertStormError('BAD_EXPR', `${path} must be a string (got ${typeof text})`, { path });
  }
  if (text.length > MAX_EXPR_LENGTH) {
    throw new AlertStormError('TOO_LARGE', `${path} is ${text.length} characters long; the limit is ${MAX_EXPR_LENGTH}`, { path });
  }
  if (text.trim() === '') throw new AlertStormError('BAD_EXPR', `${path} is empty`, { path });
  try {
    return new ExprParser(text).parse();
  } catch (e) {
    if (e instanceof ExprSyntaxError) {
      const position = positionOf(text, e.offset);
      const where = position.line > 1 ? `line ${position.line}, column ${position.column}` : `column ${position.column}`;
      throw new AlertStormError(e.tooLarge ? 'TOO_LARGE' : 'BAD_EXPR', `${path}: ${e.message} (at ${where})\n${caretSnippet(text, e.offset)}`, { path, position });
    }
    throw e;
  }
}

/** True when `labels` satisfies every matcher (a missing label is the empty string). */
export function matchesSelector(sel: SelectorNode, labels: Readonly<Record<string, string>>): boolean {
  for (const m of sel.matchers) {
    const v = labels[m.name] ?? '';
    switch (m.op) {
      case '=':
        if (v !== m.value) return false;
        break;
      case '!=':
        if (v === m.value) return false;
        break;
      case '=~':
        if (!(m.regex as LabelRegex).matches(v)) return false;
        break;
      case '!~':
        if ((m.regex as LabelRegex).matches(v)) return false;
        break;
    }
  }
  return true;
}

/** The labels `absent(sel)` reports: names with exactly one `=` matcher (Prometheus' rule). */
export function absentLabels(node: ExprNode): Record<string, string> {
  const sel = node.type === 'selector' ? node : node.type === 'range_call' ? node.selector : undefined;
  const out: Record<string, string> = {};
  if (!sel) return out;
  const count = new Map<string, number>();
  for (const m of sel.matchers) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  for (const m of sel.matchers) if (m.op === '=' && count.get(m.name) === 1) out[m.name] = m.value;
  return out;
}
