// The README promises two commands that do all the set-up; CI must run exactly those.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const ci = readFileSync(new URL('.ci/run', root), 'utf8');

function quickStartCommands(): string[] {
  const section = readme.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/```sh\n([^`]+)```/g)].map((m) => m[1]!.trim());
}

it('the README quick start has exactly two commands', () => {
  const cmds = quickStartCommands();
  assert.equal(cmds.length, 2, `found ${JSON.stringify(cmds)}`);
  for (const c of cmds) assert.equal(c.split('\n').length, 1, `one line each: ${c}`);
});

it('.ci/run runs the README commands as written, in order, under CI=true', () => {
  const lines = ci.split('\n').map((l) => l.trim());
  let at = -1;
  for (const cmd of quickStartCommands()) {
    const i = lines.indexOf(cmd);
    assert.ok(i > at, `.ci/run runs "${cmd}" after the previous command`);
    at = i;
  }
  assert.match(ci, /set -euo pipefail/);
  assert.match(ci, /export CI=true/);
});

it('package.json has the scripts the README names', () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string>; engines: { node: string }; type: string };
  for (const s of ['build', 'test', 'bench', 'start', 'replay', 'score']) assert.ok(pkg.scripts[s], `script ${s}`);
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.engines.node, '>=20');
});
