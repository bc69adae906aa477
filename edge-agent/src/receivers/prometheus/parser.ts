// Parser of the Prometheus text exposition format 0.0.4 (with OpenMetrics 1.0 tolerance: `# EOF`,
// `# UNIT`, float-second timestamps, exemplars, the extra metric types), written for hostile input:
// one pass over the string by index, no regular expressions on whole lines, every limit checked
// while scanning, and the first error thrown with its line number. Rules follow the Go reference
// parser (prometheus/common expfmt): HELP/TYPE at most once per name and TYPE before its samples,
// label values escape only \\ \" \n, `le`/`quantile` required and numeric, `__name__` reserved,
// duplicate label names refused. Decision record: docs/decisions/007-prometheus-text-parser.md.
import { BadInputError } from '../../errors.js';
import type { MetricKind, MetricSample } from '../../pdata.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'unknown' | 'gaugehistogram' | 'info' | 'stateset';
const TYPES: ReadonlySet<string> = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'gaugehistogram', 'info', 'stateset']);

/** Why a body was refused: the self-metric `reason` label. */
export type ExpositionErrorReason = 'parse_error' | 'sample_limit' | 'label_limit' | 'label_value_too_long' | 'name_too_long';

export class ExpositionError extends BadInputError {
  override name = 'ExpositionError';
  constructor(
    readonly reason: ExpositionErrorReason,
    /** 1-based line of the body. */
    readonly line: number,
    message: string,
  ) {
    super(reason === 'parse_error' ? 'EXPOSITION_SYNTAX' : 'EXPOSITION_LIMIT', `line ${line}: ${message}`, 400);
  }
}

export interface ParseOptions {
  /** Timestamp (ms) of samples that carry none: the scrape's start. */
  defaultTs: number;
  /** OpenMetrics body (Content-Type application/openmetrics-text): timestamps are float seconds. */
  openMetrics?: boolean;
  /** More samples than this refuses the body (reason sample_limit). */
  maxSamples?: number;
  /** Labels per sample beyond this refuse the body (label_limit). */
  maxLabels?: number;
  /** A label value longer than this many UTF-8 bytes refuses the body (label_value_too_long). */
  maxLabelValueBytes?: number;
  /** Metric and label names longer than this refuse the body (name_too_long). */
  maxNameBytes?: number;
}

export interface ParseResult {
  samples: MetricSample[];
  /** Samples whose name and label set were already seen in this body: dropped, first one kept. */
  duplicates: number;
}

const SP = 32;
const TAB = 9;
const HASH = 35;

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelChar(c: number): boolean {
  return isLabelStart(c) || (c >= 48 && c <= 57);
}

// Unambiguous (no nested or adjacent optional digit runs), so it runs in linear time on hostile
// input; tokens are also capped at MAX_NUMBER_CHARS before it runs.
const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_NUMBER_CHARS = 128;
const INT_RE = /^-?\d{1,19}$/;

/** A sample value as Go's strconv.ParseFloat reads it in practice (no hex, no underscores). */
export function parseFloatStrict(s: string): number | undefined {
  if (s.length > MAX_NUMBER_CHARS) return undefined;
  if (FLOAT_RE.test(s)) return Number(s);
  switch (s.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

function utf8Bytes(s: string, limit: number): number {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: skip the exact count when it cannot matter.
  if (s.length * 3 <= limit) return s.length;
  return Buffer.byteLength(s, 'utf8');
}

function skipBlanks(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== SP && c !== TAB) break;
    i++;
  }
  return i;
}

function tokenEnd(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === SP || c === TAB) break;
    i++;
  }
  return i;
}

function nameEnd(text: string, i: number, end: number): number {
  while (i < end && isNameChar(text.charCodeAt(i))) i++;
  return i;
}

function syntax(line: number, msg: string): never {
  throw new ExpositionError('parse_error', line, msg);
}

function snippet(text: string, i: number, end: number): string {
  return text.slice(i, Math.min(i + 16, end));
}

/** murmur3's 32-bit finalizer: spreads a label's hash before the order-independent sum. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function sameLabels(a: Record<string, string>, na: number, b: Record<string, string>): boolean {
  let nb = 0;
  for (const k in b) {
    nb++;
    if (a[k] !== b[k] || !Object.prototype.hasOwnProperty.call(a, k)) return false;
  }
  return na === nb;
}

interface Family {
  type: MetricType;
  unit: string | undefined;
  hasHelp: boolean;
  hasType: boolean;
  hasSamples: boolean;
}

/** The family a sample name belongs to, the sample's kind, and which label it needs. */
interface Resolved {
  fam: Family;
  kind: MetricKind;
  needs: 'le' | 'quantile' | undefined;
}

/**
 * Parses one exposition body. Throws ExpositionError (with `reason` and `line`) on the first
 * syntax error or exceeded limit: a scrape is all or nothing, as in Prometheus.
 *
 * Hot path notes (measured, see the decision record): the cursor lives in locals, not in
 * closures; names and label strings repeated from the previous sample are reused instead of
 * sliced again; duplicate series are found by an order-independent 30-bit hash of the raw label
 * text, confirmed by comparing labels on a hash match, so no key string is built per sample.
 */
export function parseExposition(text: string, opts: ParseOptions): ParseResult {
  const maxSamples = opts.maxSamples ?? Infinity;
  const maxLabels = opts.maxLabels ?? Infinity;
  const maxValueBytes = opts.maxLabelValueBytes ?? Infinity;
  const maxNameBytes = opts.maxNameBytes ?? 1024;
  const scanLimit = maxValueBytes === Infinity ? Infinity : 2 * maxValueBytes + 2;
  const om = opts.openMetrics === true;
  const families = new Map<string, Family>();
  /** series hash -> index in samples (or indices, on a collision). */
  const seen = new Map<number, number | number[]>();
  const samples: MetricSample[] = [];
  let duplicates = 0;
  let eof = false;
  const len = text.length;
  let pos = 0;
  let lineNo = 0;

  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { type: 'untyped', unit: undefined, hasHelp: false, hasType: false, hasSamples: false };
      families.set(name, f);
    }
    return f;
  };
  const resolve = (name: string, line: number): Resolved => {
    const exact = families.get(name);
    if (exact && exact.hasType) {
      switch (exact.type) {
        case 'counter':
          return { fam: exact, kind: 'counter', needs: undefined };
        case 'histogram':
        case 'gaugehistogram':
          return syntax(line, `${exact.type} "${name}" sample without _bucket, _sum or _count suffix`);
        case 'summary':
          return { fam: exact, kind: 'gauge', needs: 'quantile' };
        default:
          return { fam: exact, kind: 'gauge', needs: undefined };
      }
    }
    const us = name.lastIndexOf('_');
    if (us > 0) {
      const f = families.get(name.slice(0, us));
      if (f && f.hasType) {
        const t = f.type;
        const suffix = name.slice(us);
        if (t === 'histogram' && (suffix === '_bucket' || suffix === '_sum' || suffix === '_count')) {
          return { fam: f, kind: 'counter', needs: suffix === '_bucket' ? 'le' : undefined };
        }
        if (t === 'gaugehistogram' && (suffix === '_bucket' || suffix === '_gsum' || suffix === '_gcount')) {
          return { fam: f, kind: 'gauge', needs: suffix === '_bucket' ? 'le' : undefined };
        }
        if (t === 'summary' && (suffix === '_sum' || suffix === '_count')) return { fam: f, kind: 'counter', needs: undefined };
        if (t === 'counter' && suffix === '_total') return { fam: f, kind: 'counter', needs: undefined };
        if (suffix === '_created' && (t === 'counter' || t === 'histogram' || t === 'summary')) return { fam: f, kind: 'gauge', needs: undefined };
        if (t === 'info' && suffix === '_info') return { fam: f, kind: 'gauge', needs: undefined };
      }
    }
    return { fam: exact ?? family(name), kind: 'gauge', needs: undefined };
  };

  // Consecutive samples usually share a name: resolved once (reset by every HELP/TYPE/UNIT line).
  let lastName = '';
  let lastResolved: Resolved | undefined;
  let lastNameHash: number | undefined;
  // Label names and values of the previous sample, by position, for reuse.
  const prevNames: string[] = [];
  const prevValues: string[] = [];

  while (pos < len) {
    lineNo++;
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // tolerate CRLF
    let i = skipBlanks(text, pos, end);
    pos = nl + 1;
    if (i >= end) continue;
    if (eof) syntax(lineNo, 'content after "# EOF"');

    if (text.charCodeAt(i) === HASH) {
      i = skipBlanks(text, i + 1, end);
      const ke = tokenEnd(text, i, end);
      const kw = text.slice(i, ke);
      i = ke;
      if (kw === 'EOF') {
        if (skipBlanks(text, i, end) < end) syntax(lineNo, 'unexpected text after "# EOF"');
        eof = true;
        continue;
      }
      if (kw !== 'HELP' && kw !== 'TYPE' && kw !== 'UNIT') continue; // a comment
      lastResolved = undefined;
      i = skipBlanks(text, i, end);
      if (i >= end || !isNameStart(text.charCodeAt(i))) syntax(lineNo, `invalid metric name${i < end ? ` starting at "${snippet(text, i, end)}"` : ' (missing)'}`);
      const ne = nameEnd(text, i + 1, end);
      if (ne - i > maxNameBytes) throw new ExpositionError('name_too_long', lineNo, `metric name longer than ${maxNameBytes} bytes`);
      const name = text.slice(i, ne);
      i = ne;
      if (i < end) {
        const c = text.charCodeAt(i);
        if (c !== SP && c !== TAB) syntax(lineNo, `invalid character in metric name "${text.slice(i, i + 1)}"`);
      }
      i = skipBlanks(text, i, end);
      const f = family(name);
      if (kw === 'HELP') {
        if (f.hasHelp) syntax(lineNo, `second HELP line for metric "${name}"`);
        f.hasHelp = true;
        // Docstring escapes: only \\ and \n.
        for (let k = i; k < end; k++) {
          if (text.charCodeAt(k) === 92) {
            const n = text.charCodeAt(k + 1);
            if (k + 1 >= end || (n !== 92 && n !== 110)) syntax(lineNo, `invalid escape sequence in HELP of "${name}"`);
            k++;
          }
        }
      } else if (kw === 'TYPE') {
        if (f.hasType) syntax(lineNo, `second TYPE line for metric "${name}"`);
        if (f.hasSamples) syntax(lineNo, `TYPE line for metric "${name}" after its samples`);
        const te = tokenEnd(text, i, end);
        const t = text.slice(i, te);
        if (!TYPES.has(t)) syntax(lineNo, `unknown metric type "${t.slice(0, 32)}" for "${name}"`);
        if (skipBlanks(text, te, end) < end) syntax(lineNo, `unexpected text after TYPE of "${name}"`);
        f.type = t as MetricType;
        f.hasType = true;
      } else {
        const ue = tokenEnd(text, i, end);
        const u = text.slice(i, ue);
        if (skipBlanks(text, ue, end) < end) syntax(lineNo, `unexpected text after UNIT of "${name}"`);
        f.unit = u === '' ? undefined : u;
      }
      continue;
    }

    // A sample: name [{labels}] value [timestamp] [# exemplar]
    if (!isNameStart(text.charCodeAt(i))) syntax(lineNo, `invalid metric name starting at "${snippet(text, i, end)}"`);
    const ne = nameEnd(text, i + 1, end);
    if (ne - i > maxNameBytes) throw new ExpositionError('name_too_long', lineNo, `metric name longer than ${maxNameBytes} bytes`);
    const sameName = lastName.length === ne - i && text.startsWith(lastName, i);
    const name = sameName ? lastName : text.slice(i, ne);
    i = ne;
    const labels: Record<string, string> = {};
    let nLabels = 0;
    let labelHash = 0;
    if (i < end && text.charCodeAt(i) === 123 /* { */) {
      i++;
      let prev = '';
      let ascending = true;
      for (;;) {
        i = skipBlanks(text, i, end);
        if (i >= end) syntax(lineNo, 'unterminated label set');
        if (text.charCodeAt(i) === 125 /* } */) {
          i++;
          break;
        }
        const ls = i;
        let h = 0x811c9dc5;
        let c = text.charCodeAt(i);
        if (!isLabelStart(c)) syntax(lineNo, `invalid label name starting at "${snippet(text, i, end)}"`);
        while (i < end && isLabelChar((c = text.charCodeAt(i)))) {
          h = Math.imul(h ^ c, 16777619);
          i++;
        }
        if (i - ls > maxNameBytes) throw new ExpositionError('name_too_long', lineNo, `label name longer than ${maxNameBytes} bytes`);
        const pn = prevNames[nLabels];
        const lname = pn !== undefined && pn.length === i - ls && text.startsWith(pn, ls) ? pn : text.slice(ls, i);
        if (lname === '__name__') syntax(lineNo, 'label name "__name__" is reserved');
        i = skipBlanks(text, i, end);
        if (i >= end || text.charCodeAt(i) !== 61 /* = */) syntax(lineNo, `expected "=" after label name "${lname}"`);
        i = skipBlanks(text, i + 1, end);
        if (i >= end || text.charCodeAt(i) !== 34 /* " */) syntax(lineNo, `expected '"' to start the value of label "${lname}"`);
        i++;
        h = Math.imul(h ^ 61, 16777619);
        // Value with escapes \\ \" \n. The scan stops early once the value cannot fit the limit
        // (an escaped value takes at most 2 source characters per value character).
        const vs = i;
        let escaped = false;
        for (;;) {
          if (i >= end) syntax(lineNo, `unterminated value of label "${lname}"`);
          if (i - vs > scanLimit) throw new ExpositionError('label_value_too_long', lineNo, `value of label "${lname}" longer than ${maxValueBytes} bytes`);
          c = text.charCodeAt(i);
          if (c === 34) break;
          h = Math.imul(h ^ c, 16777619);
          if (c === 92) {
            const n = text.charCodeAt(i + 1);
            if (i + 1 >= end || (n !== 92 && n !== 34 && n !== 110)) syntax(lineNo, `invalid escape sequence in value of label "${lname}"`);
            h = Math.imul(h ^ n, 16777619);
            escaped = true;
            i += 2;
            continue;
          }
          i++;
        }
        let value: string;
        if (escaped) {
          value = text.slice(vs, i).replace(/\\(.)/g, (_, e: string) => (e === 'n' ? '\n' : e));
        } else {
          const pv = prevValues[nLabels];
          value = pv !== undefined && pv.length === i - vs && text.startsWith(pv, vs) ? pv : text.slice(vs, i);
        }
        i++; // closing quote
        if (utf8Bytes(value, maxValueBytes) > maxValueBytes) throw new ExpositionError('label_value_too_long', lineNo, `value of label "${lname}" longer than ${maxValueBytes} bytes`);
        // While names ascend (what exporters write) a repeat is impossible; after that, look it up.
        if (!ascending || lname <= prev) {
          ascending = false;
          if (Object.prototype.hasOwnProperty.call(labels, lname)) syntax(lineNo, `duplicate label name "${lname}"`);
        }
        prev = lname;
        if (nLabels >= maxLabels) throw new ExpositionError('label_limit', lineNo, `more than ${maxLabels} labels`);
        prevNames[nLabels] = lname;
        prevValues[nLabels] = value;
        nLabels++;
        labels[lname] = value;
        labelHash = (labelHash + fmix32(h)) >>> 0; // order-independent
        i = skipBlanks(text, i, end);
        c = text.charCodeAt(i);
        if (i < end && c === 44 /* , */) {
          i++;
          continue;
        }
        if (i < end && c === 125 /* } */) {
          i++;
          break;
        }
        syntax(lineNo, `expected "," or "}" after the value of label "${lname}"`);
      }
    }
    if (i >= end) syntax(lineNo, `missing value for metric "${name}"`);
    {
      const c = text.charCodeAt(i);
      if (c !== SP && c !== TAB) syntax(lineNo, `invalid character "${text.slice(i, i + 1)}" after metric name "${name}"`);
    }
    i = skipBlanks(text, i, end);
    let te = tokenEnd(text, i, end);
    const vtok = text.slice(i, te);
    const value = parseFloatStrict(vtok);
    if (value === undefined) syntax(lineNo, `invalid value "${vtok.slice(0, 32)}" for metric "${name}"`);
    i = skipBlanks(text, te, end);
    let ts = opts.defaultTs;
    if (i < end && text.charCodeAt(i) !== HASH) {
      te = tokenEnd(text, i, end);
      const ttok = text.slice(i, te);
      if (om) {
        const sec = parseFloatStrict(ttok);
        if (sec === undefined || !Number.isFinite(sec)) syntax(lineNo, `invalid timestamp "${ttok.slice(0, 32)}"`);
        ts = Math.round(sec * 1000);
      } else {
        if (!INT_RE.test(ttok)) syntax(lineNo, `invalid timestamp "${ttok.slice(0, 32)}" (want integer milliseconds)`);
        ts = Number(ttok);
      }
      i = skipBlanks(text, te, end);
    }
    // OpenMetrics exemplar: "# {labels} value [ts]" after the value; ignored.
    if (i < end && !(om && text.charCodeAt(i) === HASH)) syntax(lineNo, `unexpected text "${snippet(text, i, end)}" after the value of "${name}"`);

    if (lastResolved === undefined || !sameName) {
      lastResolved = resolve(name, lineNo);
    }
    if (!sameName) {
      lastName = name;
      lastNameHash = undefined;
    }
    const { fam, kind, needs } = lastResolved;
    if (needs === 'le') {
      const le = labels.le;
      if (le === undefined) syntax(lineNo, `${fam.type} bucket "${name}" without an "le" label`);
      if (parseFloatStrict(le) === undefined) syntax(lineNo, `invalid "le" value "${le.slice(0, 32)}" in "${name}"`);
    } else if (needs === 'quantile') {
      const q = labels.quantile;
      if (q === undefined) syntax(lineNo, `summary "${name}" sample without a "quantile" label`);
      if (parseFloatStrict(q) === undefined) syntax(lineNo, `invalid "quantile" value "${q.slice(0, 32)}" in "${name}"`);
    }
    fam.hasSamples = true;

    // Duplicate series: same name and label set, in any order. The first one is kept.
    if (!sameName || lastNameHash === undefined) {
      let nh = 0x811c9dc5;
      for (let k = 0; k < name.length; k++) nh = Math.imul(nh ^ name.charCodeAt(k), 16777619);
      lastNameHash = nh;
    }
    // 30 bits: a small integer, which V8 keeps unboxed in the Map (a collision costs a compare).
    const hash = fmix32((lastNameHash ^ labelHash) + nLabels) & 0x3fffffff;
    const hit = seen.get(hash);
    if (hit !== undefined) {
      const idxs = typeof hit === 'number' ? [hit] : hit;
      let dup = false;
      for (const ix of idxs) {
        const o = samples[ix]!;
        if (o.name === name && sameLabels(labels, nLabels, o.labels)) {
          dup = true;
          break;
        }
      }
      if (dup) {
        duplicates++;
        continue;
      }
    }
    if (samples.length >= maxSamples) throw new ExpositionError('sample_limit', lineNo, `more than ${maxSamples} samples`);
    if (hit === undefined) seen.set(hash, samples.length);
    else if (typeof hit === 'number') seen.set(hash, [hit, samples.length]);
    else hit.push(samples.length);
    const sample: MetricSample = { name, labels, ts, value, kind };
    if (fam.unit !== undefined) sample.unit = fam.unit;
    samples.push(sample);
  }
  return { samples, duplicates };
}
