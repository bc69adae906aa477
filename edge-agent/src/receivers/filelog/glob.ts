// A small, bounded glob over absolute paths (Node 20 has no fs.glob): `*` matches any run of
// characters and `?` one character, both within one path segment; everything else is literal.
// Literal leading segments are not listed; each wildcard segment reads its folder once, up to
// `maxEntriesPerDir` entries, and the whole expansion stops at `maxMatches` paths and
// `maxDirs` folders, so a folder with a million files costs a bounded amount of work per poll.

import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeRegex } from '../../../../shared-schemas/src/runtime/index.js';

export interface GlobLimits {
  maxMatches: number;
  maxEntriesPerDir: number;
  maxDirs: number;
}

export const DEFAULT_GLOB_LIMITS: GlobLimits = { maxMatches: 10_000, maxEntriesPerDir: 20_000, maxDirs: 1000 };

export interface GlobResult {
  /** Matching paths (files or anything else: the caller checks the type), sorted, without duplicates. */
  paths: string[];
  /** A limit cut the expansion short. */
  limited: boolean;
}

const hasWildcard = (seg: string) => seg.includes('*') || seg.includes('?');

/** Segment pattern -> anchored RegExp. */
export function segmentRegExp(seg: string): RegExp {
  let src = '^';
  for (const ch of seg) {
    if (ch === '*') src += '[^/]*';
    else if (ch === '?') src += '[^/]';
    else src += escapeRegex(ch);
  }
  return new RegExp(`${src}$`, 's');
}

/** Whole-path pattern -> anchored RegExp (used for `exclude`). */
export function pathRegExp(pattern: string): RegExp {
  const parts = pattern.split('/').map((s) => segmentRegExp(s).source.slice(1, -1));
  return new RegExp(`^${parts.join('/')}$`, 's');
}

interface Compiled {
  base: string;
  rest: Array<string | RegExp>;
}

function compile(pattern: string): Compiled {
  const segs = pattern.split('/').filter((s, i) => i === 0 || s !== '');
  let i = 1;
  while (i < segs.length && !hasWildcard(segs[i]!)) i++;
  const base = segs.slice(0, i).join('/') || '/';
  const rest = segs.slice(i).map((s) => (hasWildcard(s) ? segmentRegExp(s) : s));
  return { base, rest };
}

export class GlobMatcher {
  private readonly compiled: Compiled[];
  private readonly excludes: RegExp[];

  constructor(
    include: readonly string[],
    exclude: readonly string[],
    private readonly limits: GlobLimits = DEFAULT_GLOB_LIMITS,
  ) {
    this.compiled = include.map(compile);
    this.excludes = exclude.map(pathRegExp);
  }

  excluded(path: string): boolean {
    return this.excludes.some((re) => re.test(path));
  }

  async expand(): Promise<GlobResult> {
    const out = new Set<string>();
    const budget = { dirs: this.limits.maxDirs, limited: false };
    for (const c of this.compiled) {
      if (out.size >= this.limits.maxMatches) {
        budget.limited = true;
        break;
      }
      await this.walk(c.base, c.rest, 0, out, budget);
    }
    return { paths: [...out].sort(), limited: budget.limited };
  }

  private async walk(dir: string, rest: Array<string | RegExp>, i: number, out: Set<string>, budget: { dirs: number; limited: boolean }): Promise<void> {
    if (i === rest.length) {
      if (!this.excluded(dir)) {
        if (out.size < this.limits.maxMatches) out.add(dir);
        else budget.limited = true;
      }
      return;
    }
    const seg = rest[i]!;
    // A literal segment after a wildcard one needs no listing.
    if (typeof seg === 'string') return this.walk(join(dir, seg), rest, i + 1, out, budget);
    if (budget.dirs <= 0) {
      budget.limited = true;
      return;
    }
    budget.dirs--;
    const names: string[] = [];
    try {
      const d = await opendir(dir, { bufferSize: 256 });
      try {
        let seen = 0;
        let ent;
        while ((ent = await d.read()) !== null) {
          if (++seen > this.limits.maxEntriesPerDir) {
            budget.limited = true;
            break;
          }
          if (seg.test(ent.name)) {
            // Intermediate segments must be folders (or links to them).
            if (i < rest.length - 1 && !ent.isDirectory() && !ent.isSymbolicLink()) continue;
            names.push(ent.name);
          }
        }
      } finally {
        try {
          await d.close();
        } catch {
          // already closed
        }
      }
    } catch {
      return; // missing or unreadable folder: nothing matches there
    }
    names.sort();
    for (const name of names) {
      if (out.size >= this.limits.maxMatches) {
        budget.limited = true;
        return;
      }
      const p = join(dir, name);
      if (i < rest.length - 1) {
        const st = await stat(p).catch(() => undefined);
        if (!st?.isDirectory()) continue;
      }
      await this.walk(p, rest, i + 1, out, budget);
    }
  }
}
