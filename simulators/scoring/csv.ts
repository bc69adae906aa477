import { NabScoringError } from './errors.js';

/**
 * A strict reader for NAB's small numeric CSV files (`timestamp,value[,anomaly_score,...]`).
 * Columns are found by header name (extra columns are allowed, as in NAB's own result files);
 * every row must have as many fields as the header. Blank lines are skipped like pandas does.
 * Errors name the file, the 1-based line (the header is line 1) and the field.
 */
export interface CsvColumnSpec {
  readonly name: string;
  /** `timestamp` parses `YYYY-MM-DD HH:MM:SS[.ffffff]` to epoch microseconds (UTC, naive). */
  readonly kind: 'timestamp' | 'number';
  /** Inclusive bounds for `number` columns. */
  readonly min?: number;
  readonly max?: number;
}

export interface CsvColumns {
  readonly rowCount: number;
  /** One array per requested column, in the order of the specs. */
  readonly columns: readonly Float64Array[];
  /** 1-based file line of each data row (differs from row + 2 only when blank lines exist). */
  readonly lines: Uint32Array;
}

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:Z|[+-]00:?00)?$/;

/** Parses a NAB timestamp to integer epoch microseconds, or returns undefined. */
export function parseTimestamp(text: string): number | undefined {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  const micros = frac === undefined ? 0 : Number(frac.padEnd(6, '0'));
  return ms * 1000 + micros;
}

/** Formats epoch microseconds back to NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]`. */
export function formatTimestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const rest = micros - ms * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const fracMicros = (ms % 1000 + 1000) % 1000 * 1000 + rest;
  return fracMicros === 0 ? base : `${base}.${String(fracMicros).padStart(6, '0')}`;
}

function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        cur += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

function badCsv(file: string, line: number, message: string, field?: string): NabScoringError {
  return new NabScoringError('BAD_CSV', `${file}:${line}: ${message}`, {
    file,
    line,
    ...(field === undefined ? {} : { field }),
  });
}

export function parseCsvColumns(
  text: string,
  file: string,
  specs: readonly CsvColumnSpec[],
): CsvColumns {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rawLines = body.split('\n');
  let headerLineNo = 0;
  let header: string[] | undefined;
  let i = 0;
  for (; i < rawLines.length; i++) {
    const l = (rawLines[i] ?? '').replace(/\r$/, '');
    if (l.trim().length === 0) continue;
    header = splitLine(l).map((h) => h.trim());
    headerLineNo = i + 1;
    i++;
    break;
  }
  if (header === undefined) {
    throw new NabScoringError('BAD_CSV', `${file}: empty file (no header line)`, { file });
  }
  const width = header.length;
  const index = specs.map((spec) => {
    const at = header.indexOf(spec.name);
    if (at < 0) {
      throw badCsv(
        file,
        headerLineNo,
        `missing column "${spec.name}" in header (got ${header.map((h) => `"${h}"`).join(', ')})`,
        spec.name,
      );
    }
    return at;
  });

  const capacity = rawLines.length - i;
  const columns = specs.map(() => new Float64Array(capacity));
  const lines = new Uint32Array(capacity);
  let rows = 0;
  for (; i < rawLines.length; i++) {
    const raw = (rawLines[i] ?? '').replace(/\r$/, '');
    if (raw.trim().length === 0) continue;
    const lineNo = i + 1;
    const fields = splitLine(raw);
    if (fields.length !== width) {
      throw badCsv(
        file,
        lineNo,
        `expected ${width} fields (${header.join(',')}), got ${fields.length}: "${raw}"`,
      );
    }
    for (let c = 0; c < specs.length; c++) {
      const spec = specs[c]!;
      const cell = (fields[index[c]!] ?? '').trim();
      let v: number | undefined;
      if (spec.kind === 'timestamp') {
        v = parseTimestamp(cell);
        if (v === undefined) {
          throw badCsv(
            file,
            lineNo,
            `field "${spec.name}" is not a timestamp YYYY-MM-DD HH:MM:SS (got "${cell}")`,
            spec.name,
          );
        }
      } else {
        v = DECIMAL_RE.test(cell) ? Number(cell) : Number.NaN;
        if (!Number.isFinite(v)) {
          throw badCsv(file, lineNo, `field "${spec.name}" is not a number (got "${cell}")`, spec.name);
        }
        if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
          throw badCsv(
            file,
            lineNo,
            `field "${spec.name}" must be in [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}] (got ${cell})`,
            spec.name,
          );
        }
      }
      columns[c]![rows] = v;
    }
    lines[rows] = lineNo;
    rows++;
  }
  return {
    rowCount: rows,
    columns: columns.map((col) => col.slice(0, rows)),
    lines: lines.slice(0, rows),
  };
}
