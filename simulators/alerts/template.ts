// Label and annotation templates: the part of Prometheus' Go templates that alert rules use.
//
//   {{ $labels.NAME }}  {{ .Labels.NAME }}      a label of the sample that raised the alert
//                                               (missing label: empty, as Prometheus'
//                                               missingkey=zero)
//   {{ $value }}  {{ .Value }}                  the sample value, printed as Go's %v
//   {{ X | humanize }}  humanizePercentage  humanizeDuration  toUpper  toLower
//   {{ printf "%.2f" X }}  {{ X | printf "%.2f" }}   one verb: %f %.Nf %g %.Ng %e %v %s %d %%
//   {{- ... -}}  trims the white space beside it; {{/* comment */}}
//
// Anything else is refused with its position when the rule file is loaded, never at run time.
import { AlertStormError, caretSnippet, positionOf } from './errors.js';

export const MAX_TEMPLATE_LENGTH = 8192;

type Arg = { kind: 'label'; name: string } | { kind: 'value' } | { kind: 'string'; text: string };
type Fn = 'humanize' | 'humanizePercentage' | 'humanizeDuration' | 'toUpper' | 'toLower' | { printf: string };
type Part = string | { arg: Arg; fns: Fn[] };

export interface CompiledTemplate {
  readonly source: string;
  /** True when the template refers to $value (labels must not: the alert would change identity). */
  readonly usesValue: boolean;
  render(labels: Readonly<Record<string, string>>, value: number): string;
}

class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const SIMPLE_FNS = new Set(['humanize', 'humanizePercentage', 'humanizeDuration', 'toUpper', 'toLower']);

function parseArg(tok: string, at: number): Arg {
  let m = /^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(tok);
  if (m) return { kind: 'label', name: m[1] as string };
  if (tok === '$value' || tok === '.Value') return { kind: 'value' };
  m = /^"((?:[^"\\]|\\.)*)"$/.exec(tok);
  if (m) return { kind: 'string', text: JSON.parse(tok) as string };
  if (tok === '$labels' || tok === '.Labels') throw new TemplateSyntaxError('print one label: $labels.<name>', at);
  throw new TemplateSyntaxError(`unsupported template term ${JSON.stringify(tok)} (use $labels.<name> or $value)`, at);
}

function checkPrintf(format: string, at: number): void {
  const verbs = format.replace(/%%/g, '').match(/%[^a-zA-Z]*[a-zA-Z]/g) ?? [];
  if (verbs.length !== 1 || !/^%(\.\d{1,2})?[fge]$|^%[vsd]$/.test(verbs[0] as string)) {
    throw new TemplateSyntaxError(`printf format ${JSON.stringify(format)} must hold exactly one of %f %.Nf %g %.Ng %e %v %s %d`, at);
  }
}

/** Splits an action body into whitespace-separated tokens, keeping quoted strings whole. */
function tokens(body: string, base: number): Array<{ t: string; at: number }> {
  const out: Array<{ t: string; at: number }> = [];
  const re = /"(?:[^"\\]|\\.)*"|\||[^\s|]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) out.push({ t: m[0], at: base + m.index });
  return out;
}

function parseAction(body: string, base: number): { arg: Arg; fns: Fn[] } {
  const toks = tokens(body, base);
  if (toks.length === 0) throw new TemplateSyntaxError('empty action {{ }}', base);
  const first = toks[0] as { t: string; at: number };
  if (/^(if|else|end|range|with|define|template|block)$/.test(first.t)) {
    throw new TemplateSyntaxError(`"${first.t}" actions are not supported (only printing a label or $value)`, first.at);
  }
  // Split on pipes: the first stage is a term or `printf FORMAT term`; the next are functions.
  const stages: Array<Array<{ t: string; at: number }>> = [[]];
  for (const tk of toks) {
    if (tk.t === '|') stages.push([]);
    else (stages[stages.length - 1] as Array<{ t: string; at: number }>).push(tk);
  }
  const fns: Fn[] = [];
  const head = stages[0] as Array<{ t: string; at: number }>;
  if (head.length === 0) throw new TemplateSyntaxError('missing value before "|"', base);
  let arg: Arg;
  if (head[0]?.t === 'printf') {
    const fmt = head[1];
    const term = head[2];
    if (!fmt || !term || head.length !== 3 || !fmt.t.startsWith('"')) throw new TemplateSyntaxError('printf takes a quoted format and one value: printf "%.2f" $value', head[0].at);
    const f = JSON.parse(fmt.t) as string;
    checkPrintf(f, fmt.at);
    arg = parseArg(term.t, term.at);
    fns.push({ printf: f });
  } else {
    if (head.length !== 1) throw new TemplateSyntaxError(`unexpected ${JSON.stringify(head[1]?.t)}: one value per action`, (head[1] as { at: number }).at);
    arg = parseArg((head[0] as { t: string }).t, (head[0] as { at: number }).at);
  }
  for (let s = 1; s < stages.length; s++) {
    const st = stages[s] as Array<{ t: string; at: number }>;
    if (st.length === 0) throw new TemplateSyntaxError('missing function after "|"', base);
    const name = (st[0] as { t: string }).t;
    const at = (st[0] as { at: number }).at;
    if (name === 'printf') {
      const fmt = st[1];
      if (!fmt || st.length !== 2 || !fmt.t.startsWith('"')) throw new TemplateSyntaxError('in a pipeline printf takes one quoted format: | printf "%.2f"', at);
      const f = JSON.parse(fmt.t) as string;
      checkPrintf(f, fmt.at);
      fns.push({ printf: f });
    } else if (SIMPLE_FNS.has(name)) {
      if (st.length !== 1) throw new TemplateSyntaxError(`${name} takes no arguments`, at);
      fns.push(name as Fn);
    } else {
      throw new TemplateSyntaxError(`unknown template function "${name}" (supported: ${[...SIMPLE_FNS, 'printf'].join(', ')})`, at);
    }
  }
  return { arg, fns };
}

/** Compiles a template; errors are AlertStormError BAD_TEMPLATE naming `path` and the column. */
export function compileTemplate(source: string, path: string): CompiledTemplate {
  if (source.length > MAX_TEMPLATE_LENGTH) {
    throw new AlertStormError('TOO_LARGE', `${path} is ${source.length} characters long; the limit is ${MAX_TEMPLATE_LENGTH}`, { path });
  }
  const parts: Part[] = [];
  try {
    let i = 0;
    let trimNext = false;
    while (i < source.length) {
      const open = source.indexOf('{{', i);
      let text = source.slice(i, open < 0 ? source.length : open);
      if (trimNext) text = text.replace(/^\s+/, '');
      trimNext = false;
      if (open < 0) {
        if (source.indexOf('}}', i) >= 0) throw new TemplateSyntaxError('"}}" without a matching "{{"', source.indexOf('}}', i));
        parts.push(text);
        break;
      }
      const stray = text.indexOf('}}');
      if (stray >= 0) throw new TemplateSyntaxError('"}}" without a matching "{{"', i + stray);
      let bodyStart = open + 2;
      if (source.startsWith('- ', bodyStart) || source.startsWith('-\t', bodyStart) || source.startsWith('-\n', bodyStart)) {
        text = text.replace(/\s+$/, '');
        bodyStart += 1;
      }
      parts.push(text);
      const close = source.indexOf('}}', bodyStart);
      if (close < 0) throw new TemplateSyntaxError('unclosed action: "{{" without "}}"', open);
      let bodyEnd = close;
      if (/\s-$/.test(source.slice(bodyStart, close))) {
        bodyEnd = close - 1;
        trimNext = true;
      }
      const body = source.slice(bodyStart, bodyEnd);
      if (body.includes('{{')) throw new TemplateSyntaxError('"{{" inside an action', bodyStart + body.indexOf('{{'));
      const trimmed = body.trim();
      if (!(trimmed.startsWith('/*') && trimmed.endsWith('*/'))) {
        parts.push(parseAction(body, bodyStart));
      }
      i = close + 2;
    }
  } catch (e) {
    if (e instanceof TemplateSyntaxError) {
      const position = positionOf(source, e.offset);
      throw new AlertStormError('BAD_TEMPLATE', `${path}: ${e.message} (at column ${position.column})\n${caretSnippet(source, e.offset)}`, { path, position });
    }
    throw e;
  }
  const usesValue = parts.some((p) => typeof p !== 'string' && p.arg.kind === 'value');
  return {
    source,
    usesValue,
    render(labels, value) {
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') {
          out += p;
          continue;
        }
        let v: string | number = p.arg.kind === 'label' ? (labels[p.arg.name] ?? '') : p.arg.kind === 'value' ? value : p.arg.text;
        for (const f of p.fns) v = applyFn(f, v);
        out += typeof v === 'number' ? goFloat(v) : v;
      }
      return out;
    },
  };
}

function toNumber(v: string | number): number {
  if (typeof v === 'number') return v;
  const n = Number(v.trim());
  return v.trim() === '' ? NaN : n;
}

function applyFn(f: Fn, v: string | number): string | number {
  if (typeof f === 'object') return goPrintf(f.printf, v);
  switch (f) {
    case 'humanize':
      return humanize(toNumber(v));
    case 'humanizePercentage':
      return `${goFormatG(toNumber(v) * 100, 4)}%`;
    case 'humanizeDuration':
      return humanizeDuration(toNumber(v));
    case 'toUpper':
      return String(typeof v === 'number' ? goFloat(v) : v).toUpperCase();
    case 'toLower':
      return String(typeof v === 'number' ? goFloat(v) : v).toLowerCase();
  }
}

// --- Go number formatting ------------------------------------------------------------------

function specials(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return undefined;
}

/** Decimal digits and exponent of `v` (|v| = 0.d1d2... x 10^(exp+1)); `prec` significant digits or shortest. */
function digitsOf(v: number, prec?: number): { neg: boolean; digits: string; exp: number } {
  const s = prec === undefined ? Math.abs(v).toExponential() : Math.abs(v).toExponential(Math.max(0, prec - 1));
  const [mant, e] = s.split('e') as [string, string];
  return { neg: v < 0 || Object.is(v, -0), digits: mant.replace('.', ''), exp: Number(e) };
}

function eNotation(neg: boolean, digits: string, exp: number): string {
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ae = Math.abs(exp);
  return `${neg ? '-' : ''}${mant}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
}

function fNotation(neg: boolean, digits: string, exp: number): string {
  let s: string;
  if (exp < 0) s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) s = digits + '0'.repeat(exp + 1 - digits.length);
  else s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return (neg ? '-' : '') + s;
}

/** Go's %g with `prec` significant digits (prec undefined: %v, the shortest representation). */
export function goFormatG(v: number, prec?: number): string {
  const sp = specials(v);
  if (sp !== undefined) return sp;
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const d = digitsOf(v, prec);
  const digits = d.digits.replace(/0+$/, '') || '0';
  // strconv 'g': %e when exp < -4 || exp >= eprec, where the shortest form (%v) uses eprec 6
  // (so Go prints 1e+06 and 1.234567e+06, unlike JavaScript).
  const eprec = prec === undefined ? 6 : prec;
  if (d.exp < -4 || d.exp >= eprec) return eNotation(d.neg, digits, d.exp);
  return fNotation(d.neg, digits, d.exp);
}

/** `{{ $value }}`: Go's fmt %v of a float64. */
export function goFloat(v: number): string {
  return goFormatG(v);
}

function goPrintf(format: string, v: string | number): string {
  return format.replace(/%%|%(\.(\d{1,2}))?([fgevsd])/g, (all, _p: string | undefined, prec: string | undefined, verb: string) => {
    if (all === '%%') return '%';
    if (verb === 's') return typeof v === 'number' ? `%!s(float64=${goFloat(v)})` : v;
    if (verb === 'v') return typeof v === 'number' ? goFloat(v) : v;
    const n = toNumber(v);
    if (typeof v === 'string' && Number.isNaN(n)) return `%!${verb}(string=${v})`;
    const sp = specials(n);
    if (verb === 'd') return Number.isInteger(n) ? String(n) : `%!d(float64=${goFloat(n)})`;
    if (sp !== undefined) return sp;
    if (verb === 'f') return n.toFixed(prec === undefined ? 6 : Number(prec));
    if (verb === 'e') {
      const d = digitsOf(n, (prec === undefined ? 6 : Number(prec)) + 1);
      return eNotation(d.neg, d.digits, d.exp);
    }
    return goFormatG(n, prec === undefined ? undefined : Math.max(1, Number(prec)));
  });
}

/** Prometheus' humanize: SI prefixes, 4 significant digits. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goFormatG(v, 4);
  let x = v;
  let prefix = '';
  if (Math.abs(x) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(x) < 1000) break;
      prefix = p;
      x /= 1000;
    }
  } else {
    for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
      if (Math.abs(x) >= 1) break;
      prefix = p;
      x *= 1000;
    }
  }
  return `${goFormatG(x, 4)}${prefix}`;
}

/** Prometheus' humanizeDuration: seconds as "1d 2h 3m 4s", or ms/us/ns below one second. */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return goFormatG(v, 4);
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    const abs = Math.abs(v);
    const days = Math.floor(abs / 86400);
    const hours = Math.floor(abs / 3600) % 24;
    const minutes = Math.floor(abs / 60) % 60;
    const seconds = Math.floor(abs) % 60;
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${goFormatG(abs, 4)}s`;
  }
  let x = v;
  let prefix = '';
  for (const p of ['m', 'u', 'n']) {
    if (Math.abs(x) >= 1 || x === 0) break;
    prefix = p;
    x *= 1000;
  }
  return `${goFormatG(x, 4)}${prefix}s`;
}
