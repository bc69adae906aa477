// Writes one benchmark's section of bench/RESULTS.md: the section titled `title` is replaced (or
// appended), keeping any hand-written analysis between the markers (ANALYSIS_BEGIN and
// ANALYSIS_END unless a bench has its own).
import { readFileSync, writeFileSync } from 'node:fs';

export const ANALYSIS_BEGIN = '<!-- analysis -->';
export const ANALYSIS_END = '<!-- /analysis -->';

export function replaceResultsSection(path: string, title: string, section: string, markers: { begin: string; end: string } = { begin: ANALYSIS_BEGIN, end: ANALYSIS_END }): void {
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(`${title}\n`);
  if (start < 0) {
    writeFileSync(path, `${text.replace(/\n*$/, '\n\n')}${section.replace(/\n*$/, '\n')}`);
    return;
  }
  const nextRel = text.slice(start + title.length).search(/\n## /);
  const end = nextRel < 0 ? text.length : start + title.length + nextRel + 1;
  const old = text.slice(start, end);
  let out = section;
  const a = old.indexOf(markers.begin);
  const b = old.indexOf(markers.end);
  const na = out.indexOf(markers.begin);
  const nb = out.indexOf(markers.end);
  if (a >= 0 && b > a && na >= 0 && nb > na) out = out.slice(0, na) + old.slice(a, b + markers.end.length) + out.slice(nb + markers.end.length);
  writeFileSync(path, text.slice(0, start) + out.replace(/\n*$/, '\n') + (end < text.length ? `\n${text.slice(end)}` : ''));
}
