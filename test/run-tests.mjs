#!/usr/bin/env node
// Runs every *.test.ts in the repository on node's built-in test runner, with TypeScript
// loaded through tsx. Node 20's `--test` does not expand globs, so the files are found here.
// Usage: node test/run-tests.mjs [path-filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const skipDirs = new Set(['node_modules', '.git', 'build', 'dist', '.cache']);

function find(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) find(join(dir, entry.name), out);
    } else if (entry.name.endsWith('.test.ts')) {
      out.push(relative(root, join(dir, entry.name)).split(sep).join('/'));
    }
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find(root, [])
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
console.log(`running ${files.length} test files`);
const res = spawnSync(
  process.execPath,
  // A test that hangs fails after 15 minutes instead of stalling the run, and a file whose
  // tests are done exits even when something it started keeps a timer or a socket alive (a
  // failed test that never reached its cleanup did, once, for the whole CI budget).
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=900000', '--test-force-exit', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
