// Writes one benchmark's section of bench/RESULTS.md: the section titled `title` is replaced (or
// appended), keeping any hand-written analysis between ANALYSIS_BEGIN and ANALYSIS_END.
import { readFileSync, writeFileSync } from 'node:fs';

export const ANALYSIS_BEGIN = '<!-- analysis -->';
export const ANALYSIS_END = '<!-- /analysis -->';

export function replaceResultsSection(path: string, title: string, section: string): void {
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
  const a = old.indexOf(ANALYSIS_BEGIN);
  const b = old.indexOf(ANALYSIS_END);
  const na = out.indexOf(ANALYSIS_BEGIN);
  const nb = out.indexOf(ANALYSIS_END);
  if (a >= 0 && b > a && na >= 0 && nb > na) out = out.slice(0, na) + old.slice(a, b + ANALYSIS_END.length) + out.slice(nb + ANALYSIS_END.length);
  writeFileSync(path, text.slice(0, start) + out.replace(/\n*$/, '\n') + (end < text.length ? `\n${text.slice(end)}` : ''));
}
