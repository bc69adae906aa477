// Label-matcher regular expressions (`=~`, `!~`) with RE2 meaning and a linear-time matcher.
//
// Prometheus matchers are RE2 expressions anchored at both ends. JavaScript's RegExp backtracks,
// so a hostile rule such as `service=~"(a+)+b"` could hang the simulator: patterns are parsed
// here into a Thompson NFA and run as a set of states (time O(states x input length), no
// backtracking). Supported: literals, `.` (any character, as Prometheus' `(?s:...)`), classes
// `[a-z0-9_]`/`[^...]`, escapes (`\d \D \w \W \s \S \t \n \r \f \v \xHH \x{H...}` and escaped
// punctuation), groups `(...)` `(?:...)`, alternation, `* + ? {n} {n,} {n,m}` (lazy forms
// accepted; laziness cannot change whether a full match exists), `^`/`$` assertions and a
// leading `(?i)`. Refused with a message: back-references, look-around, named groups, other
// flags, Unicode classes (`\p{..}`), word boundaries.
import { AlertStormError } from './errors.js';

export const MAX_REGEX_LENGTH = 1024;
/** Largest compiled automaton (states); `{n,m}` repeats multiply the size. */
export const MAX_REGEX_STATES = 4096;
const MAX_REPEAT = 1000;
const MAX_REGEX_DEPTH = 64;

type Ranges = number[]; // [lo0, hi0, lo1, hi1, ...] inclusive code point ranges

type Node =
  | { t: 'empty' }
  | { t: 'set'; ranges: Ranges; negate: boolean }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; item: Node; min: number; max: number } // max -1 = unbounded
  | { t: 'bol' }
  | { t: 'eol' };

/** Error at `offset` (code units into the pattern); the caller maps it into its own source. */
export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE: Ranges = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

function complement(r: Ranges): Ranges {
  const sorted = normalise(r);
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < sorted.length; i += 2) {
    const lo = sorted[i] as number;
    const hi = sorted[i + 1] as number;
    if (lo > next) out.push(next, lo - 1);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push(next, 0x10ffff);
  return out;
}

function normalise(r: Ranges): Ranges {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i] as number, r[i + 1] as number]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] as number) + 1) out[last] = Math.max(out[last] as number, hi);
    else out.push(lo, hi);
  }
  return out;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const n = this.alt();
    if (this.i < this.src.length) {
      // Only an unbalanced ')' stops alt() early.
      throw new RegexSyntaxError('unexpected ")" (no group to close)', this.i);
    }
    return n;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alt(): Node {
    if (++this.depth > MAX_REGEX_DEPTH) throw new RegexSyntaxError(`groups nested deeper than ${MAX_REGEX_DEPTH}`, this.i);
    const items: Node[] = [this.cat()];
    while (this.peek() === '|') {
      this.i++;
      items.push(this.cat());
    }
    this.depth--;
    return items.length === 1 ? (items[0] as Node) : { t: 'alt', items };
  }

  private cat(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      const start = this.i;
      let atom = this.atom();
      // One repetition operator per atom (RE2 refuses `a**`); a trailing `?` makes it lazy.
      const q = this.quantifier();
      if (q !== undefined) {
        if (atom.t === 'bol' || atom.t === 'eol') throw new RegexSyntaxError('nothing to repeat before this operator', start);
        atom = { t: 'rep', item: atom, min: q.min, max: q.max };
        if (this.peek() === '?') this.i++;
        const again = this.peek();
        if (again === '*' || again === '+' || again === '?' || (again === '{' && this.looksLikeRepeat())) {
          throw new RegexSyntaxError(`bad repetition operator "${again}"`, this.i);
        }
      }
      items.push(atom);
    }
    if (items.length === 0) return { t: 'empty' };
    return items.length === 1 ? (items[0] as Node) : { t: 'cat', items };
  }

  private looksLikeRepeat(): boolean {
    return /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i, this.i + 16));
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.peek();
    if (c === '*') return this.i++, { min: 0, max: -1 };
    if (c === '+') return this.i++, { min: 1, max: -1 };
    if (c === '?') return this.i++, { min: 0, max: 1 };
    if (c === '{' && this.looksLikeRepeat()) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i)) as RegExpExecArray;
      const at = this.i;
      this.i += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT) throw new RegexSyntaxError(`repeat count above ${MAX_REPEAT}`, at);
      if (max !== -1 && max < min) throw new RegexSyntaxError(`bad repeat range {${min},${max}}`, at);
      return { min, max };
    }
    return undefined;
  }

  private atom(): Node {
    const at = this.i;
    const c = this.src[this.i++] as string;
    switch (c) {
      case '(': {
        if (this.src.startsWith('?:', this.i)) this.i += 2;
        else if (this.peek() === '?') {
          const what = /^\?(P?<|[=!]|<[=!])/.test(this.src.slice(this.i)) ? 'named groups and look-around are' : 'flags other than a leading (?i) are';
          throw new RegexSyntaxError(`${what} not supported`, at);
        }
        const inner = this.alt();
        if (this.peek() !== ')') throw new RegexSyntaxError('missing ")" to close the group', at);
        this.i++;
        return inner;
      }
      case '[':
        return this.charClass(at);
      case '.':
        return { t: 'set', ranges: [], negate: true };
      case '^':
        return { t: 'bol' };
      case '$':
        return { t: 'eol' };
      case '\\':
        return { t: 'set', ...this.escape(at, false) };
      case '*':
      case '+':
      case '?':
        throw new RegexSyntaxError(`missing argument to repetition operator "${c}"`, at);
      default: {
        const cp = this.src.codePointAt(at) as number;
        if (cp > 0xffff) this.i++;
        return { t: 'set', ranges: [cp, cp], negate: false };
      }
    }
  }

  /** After a backslash; `inClass` refuses escapes that only make sense outside a class. */
  private escape(at: number, inClass: boolean): { ranges: Ranges; negate: boolean } {
    const c = this.src[this.i++];
    if (c === undefined) throw new RegexSyntaxError('trailing backslash', at);
    switch (c) {
      case 'd':
        return { ranges: DIGIT, negate: false };
      case 'D':
        return { ranges: DIGIT, negate: true };
      case 'w':
        return { ranges: WORD, negate: false };
      case 'W':
        return { ranges: WORD, negate: true };
      case 's':
        return { ranges: SPACE, negate: false };
      case 'S':
        return { ranges: SPACE, negate: true };
      case 't':
        return { ranges: [9, 9], negate: false };
      case 'n':
        return { ranges: [10, 10], negate: false };
      case 'r':
        return { ranges: [13, 13], negate: false };
      case 'f':
        return { ranges: [12, 12], negate: false };
      case 'v':
        return { ranges: [11, 11], negate: false };
      case 'x': {
        const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2}))/.exec(this.src.slice(this.i));
        if (!m) throw new RegexSyntaxError('bad \\x escape (want \\xHH or \\x{H...})', at);
        this.i += m[0].length;
        const cp = parseInt((m[1] ?? m[2]) as string, 16);
        if (cp > 0x10ffff) throw new RegexSyntaxError('\\x escape beyond U+10FFFF', at);
        return { ranges: [cp, cp], negate: false };
      }
      default:
        if (/[0-9]/.test(c)) throw new RegexSyntaxError('back-references are not supported', at);
        if (c === 'p' || c === 'P') throw new RegexSyntaxError('Unicode classes (\\p{...}) are not supported', at);
        if (!inClass && /[bBAzZ]/.test(c)) throw new RegexSyntaxError(`assertion \\${c} is not supported`, at);
        if (/[A-Za-z]/.test(c)) throw new RegexSyntaxError(`unknown escape \\${c}`, at);
        {
          const cp = this.src.codePointAt(this.i - 1) as number;
          if (cp > 0xffff) this.i++;
          return { ranges: [cp, cp], negate: false };
        }
    }
  }

  private charClass(at: number): Node {
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.i++;
    }
    const ranges: Ranges = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new RegexSyntaxError('missing "]" to close the character class', at);
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[' && this.src[this.i + 1] === ':') throw new RegexSyntaxError('POSIX classes ([:alpha:]) are not supported', this.i);
      const lo = this.classAtom();
      if (lo.set) {
        ranges.push(...(lo.negate ? complement(lo.ranges) : lo.ranges));
        continue;
      }
      if (this.peek() === '-' && this.src[this.i + 1] !== ']' && this.src[this.i + 1] !== undefined) {
        const dash = this.i;
        this.i++;
        const hi = this.classAtom();
        if (hi.set) throw new RegexSyntaxError('bad character class range', dash);
        const a = lo.ranges[0] as number;
        const b = hi.ranges[0] as number;
        if (b < a) throw new RegexSyntaxError('bad character class range (end before start)', dash);
        ranges.push(a, b);
      } else ranges.push(...lo.ranges);
    }
    return { t: 'set', ranges: normalise(ranges), negate };
  }

  private classAtom(): { ranges: Ranges; negate: boolean; set: boolean } {
    const at = this.i;
    if (this.peek() === '\\') {
      this.i++;
      const e = this.escape(at, true);
      const single = !e.negate && e.ranges.length === 2 && e.ranges[0] === e.ranges[1];
      return { ...e, set: !single };
    }
    const cp = this.src.codePointAt(this.i) as number;
    this.i += cp > 0xffff ? 2 : 1;
    return { ranges: [cp, cp], negate: false, set: false };
  }
}

// --- Thompson NFA ---------------------------------------------------------------------------

const enum Op {
  Set,
  Split,
  Jump,
  Bol,
  Eol,
  Match,
}

interface State {
  op: Op;
  out: number;
  out2: number;
  ranges: Ranges;
  negate: boolean;
}

class Builder {
  readonly states: State[] = [];
  constructor(private readonly fold: boolean) {}

  private add(op: Op, ranges: Ranges = [], negate = false): number {
    if (this.states.length >= MAX_REGEX_STATES) throw new RegexSyntaxError(`pattern compiles to more than ${MAX_REGEX_STATES} states`, 0);
    this.states.push({ op, out: -1, out2: -1, ranges, negate });
    return this.states.length - 1;
  }

  /** Compiles `n` so that it continues at `next`; returns its entry state. */
  compile(n: Node, next: number): number {
    switch (n.t) {
      case 'empty':
        return next;
      case 'set': {
        const ranges = this.fold ? foldRanges(n.ranges) : n.ranges;
        const s = this.add(Op.Set, ranges, n.negate);
        (this.states[s] as State).out = next;
        return s;
      }
      case 'bol':
      case 'eol': {
        const s = this.add(n.t === 'bol' ? Op.Bol : Op.Eol);
        (this.states[s] as State).out = next;
        return s;
      }
      case 'cat': {
        let entry = next;
        for (let k = n.items.length - 1; k >= 0; k--) entry = this.compile(n.items[k] as Node, entry);
        return entry;
      }
      case 'alt': {
        // A chain of splits, one per alternative.
        let entry = this.compile(n.items[n.items.length - 1] as Node, next);
        for (let k = n.items.length - 2; k >= 0; k--) {
          const s = this.add(Op.Split);
          const st = this.states[s] as State;
          st.out = this.compile(n.items[k] as Node, next);
          st.out2 = entry;
          entry = s;
        }
        return entry;
      }
      case 'rep': {
        let entry = next;
        if (n.max === -1) {
          // x* loop: split -> (x -> split) | next
          const loop = this.add(Op.Split);
          const ls = this.states[loop] as State;
          ls.out = this.compile(n.item, loop);
          ls.out2 = next;
          entry = loop;
        } else {
          for (let k = n.max; k > n.min; k--) {
            const s = this.add(Op.Split);
            const st = this.states[s] as State;
            st.out = this.compile(n.item, entry);
            st.out2 = next;
            entry = s;
          }
        }
        for (let k = 0; k < n.min; k++) entry = this.compile(n.item, entry);
        return entry;
      }
    }
  }
}

function foldRanges(r: Ranges): Ranges {
  const extra: Ranges = [];
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i] as number;
    const hi = r[i + 1] as number;
    // ASCII letters fold exactly; other scripts fold per code point (bounded range walk).
    if (hi - lo > 0x3000) continue;
    for (let cp = lo; cp <= hi; cp++) {
      const ch = String.fromCodePoint(cp);
      for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
        if (v.length > 0 && [...v].length === 1) {
          const c = v.codePointAt(0) as number;
          if (c !== cp) extra.push(c, c);
        }
      }
    }
  }
  return extra.length === 0 ? r : normalise([...r, ...extra]);
}

function inRanges(r: Ranges, cp: number): boolean {
  for (let i = 0; i < r.length; i += 2) {
    if (cp < (r[i] as number)) return false;
    if (cp <= (r[i + 1] as number)) return true;
  }
  return false;
}

/** A compiled, fully anchored matcher: `matches(value)` is true when the whole value matches. */
export interface LabelRegex {
  readonly source: string;
  matches(value: string): boolean;
}

/** Compiles an RE2-style pattern anchored at both ends; throws RegexSyntaxError. */
export function compileLabelRegex(source: string): LabelRegex {
  if (source.length > MAX_REGEX_LENGTH) throw new RegexSyntaxError(`pattern longer than ${MAX_REGEX_LENGTH} characters`, MAX_REGEX_LENGTH);
  let body = source;
  let offset = 0;
  let fold = false;
  if (body.startsWith('(?i)')) {
    fold = true;
    body = body.slice(4);
    offset = 4;
  }
  let ast: Node;
  try {
    ast = new Parser(body).parse();
  } catch (e) {
    if (e instanceof RegexSyntaxError) throw new RegexSyntaxError(e.message, e.offset + offset);
    throw e;
  }
  const b = new Builder(fold);
  const match = b.states.length;
  b.states.push({ op: Op.Match, out: -1, out2: -1, ranges: [], negate: false });
  const start = b.compile(ast, match);
  const states = b.states;
  const n = states.length;
  // Sparse sets of state indexes, reused between calls.
  let cur = new Int32Array(n);
  let nxt = new Int32Array(n);
  const mark = new Int32Array(n);
  let gen = 0;
  const stack = new Int32Array(n * 2 + 2);

  const add = (list: Int32Array, len: number, s0: number, pos: number, end: number): number => {
    let sp = 0;
    stack[sp++] = s0;
    while (sp > 0) {
      const s = stack[--sp] as number;
      if (mark[s] === gen) continue;
      mark[s] = gen;
      const st = states[s] as State;
      switch (st.op) {
        case Op.Split:
          stack[sp++] = st.out2;
          stack[sp++] = st.out;
          break;
        case Op.Jump:
          stack[sp++] = st.out;
          break;
        case Op.Bol:
          if (pos === 0) stack[sp++] = st.out;
          break;
        case Op.Eol:
          if (pos === end) stack[sp++] = st.out;
          break;
        default:
          list[len++] = s;
      }
    }
    return len;
  };

  return {
    source,
    matches(value: string): boolean {
      const cps: number[] = [];
      for (const ch of value) cps.push(ch.codePointAt(0) as number);
      const end = cps.length;
      gen++;
      let clen = add(cur, 0, start, 0, end);
      for (let pos = 0; pos < end && clen > 0; pos++) {
        const cp = cps[pos] as number;
        gen++;
        let nlen = 0;
        for (let k = 0; k < clen; k++) {
          const st = states[cur[k] as number] as State;
          if (st.op === Op.Set && inRanges(st.ranges, cp) !== st.negate) nlen = add(nxt, nlen, st.out, pos + 1, end);
        }
        [cur, nxt] = [nxt, cur];
        clen = nlen;
      }
      for (let k = 0; k < clen; k++) if ((states[cur[k] as number] as State).op === Op.Match) return true;
      return false;
    },
  };
}
