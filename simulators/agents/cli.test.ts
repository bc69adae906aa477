// The `agents` subcommand inside a small program, as simulators/cli.ts registers it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { TestBroker } from '../../edge-agent/src/exporters/mqtt/testdata/aedes-broker.js';
import { virtualAgentsCommand } from './index.js';
import type { VirtualAgentsSummary } from './index.js';

function program(): { prog: Command; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const agents = virtualAgentsCommand({ stdout: (t) => out.push(t), stderr: (t) => err.push(t) })
    .exitOverride()
    .configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  const prog = new Command('simulate').exitOverride().configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) }).addCommand(agents);
  return { prog, out, err };
}

async function fails(args: string[], message: RegExp, exitCode: number): Promise<void> {
  const { prog, err } = program();
  await assert.rejects(prog.parseAsync(['node', 'simulate', 'agents', ...args]), (e: unknown) => {
    assert.ok(e instanceof CommanderError, String(e));
    assert.equal(e.exitCode, exitCode);
    assert.match(err.join(''), message);
    return true;
  });
}

describe('simulate agents (command line)', () => {
  it('explains itself with --help', async () => {
    const { prog, out } = program();
    await assert.rejects(prog.parseAsync(['node', 'simulate', 'agents', '--help']), (e: CommanderError) => e.code === 'commander.helpDisplayed');
    const help = out.join('');
    for (const flag of ['--target <url>', '--count <n>', '--series <m>', '--rate <r>', '--duration <time>', '--max-in-flight <n>', '--brotli-quality <q>']) {
      assert.ok(help.includes(flag), `help lists ${flag}`);
    }
    assert.match(help, /PER AGENT/);
    assert.match(help, /series-windows/);
  });

  it('refuses bad options with a message naming the option', async () => {
    await fails(['--target', 'mqtt://127.0.0.1:1', '--count', '0'], /agents: --count must be >= 1 \(got 0\)/, 2);
    await fails(['--target', 'http://127.0.0.1:1'], /agents: --target has an unknown scheme "http:"/, 2);
    await fails(['--target', 'mqtt://127.0.0.1:1', '--duration', '0'], /agents: --duration must be >= 1 \(got 0\)/, 2);
    // Parse errors are commander's (exit code 1), naming the option too.
    await fails(['--target', 'mqtt://127.0.0.1:1', '--duration', '-5'], /option '--duration <time>' argument '-5' is invalid\. must not be negative/, 1);
    await fails(['--target', 'mqtt://127.0.0.1:1', '--series', 'many'], /option '--series <m>' argument 'many' is invalid\. must be a number/, 1);
    await fails(['--count', '3'], /required option '--target <url>' not specified/, 1);
  });

  it('runs against a broker, progress on stderr, JSON summary on stdout', async () => {
    const tb = new TestBroker({ tenant: 'default' });
    const port = await tb.start();
    try {
      const { prog, out, err } = program();
      await prog.parseAsync(['node', 'simulate', 'agents', '--target', `mqtt://127.0.0.1:${port}`, '--count', '2', '--series', '30', '--rate', '10', '--duration', '600ms', '--progress-interval', '200ms', '--json']);
      const s = JSON.parse(out.join('')) as VirtualAgentsSummary;
      assert.equal(s.agents, 2);
      assert.equal(s.framesSent, 12);
      assert.equal(s.framesAcked, 12);
      assert.equal(s.seriesWindowsAcked, 360);
      assert.equal(tb.recorder.arrivals.length, 12);
      assert.equal(tb.recorder.decodeErrors, 0);
      assert.match(err.join(''), /^\[agents\] sending \d/m);
    } finally {
      await tb.stop();
    }
  });

  it('takes per-agent secrets from --credentials-file, and refuses a bad file with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagent-creds-'));
    const users = { 'vagent-00000': 'aiops_a_zero', 'vagent-00001': 'aiops_a_one' };
    const tb = new TestBroker({ tenant: 'default', users });
    const port = await tb.start();
    try {
      const file = join(dir, 'secrets.json');
      writeFileSync(file, JSON.stringify(users));
      const { prog, out } = program();
      await prog.parseAsync(['node', 'simulate', 'agents', '--target', `mqtt://127.0.0.1:${port}`, '--count', '2', '--series', '5', '--rate', '10', '--duration', '300ms', '--credentials-file', file, '--json', '--quiet']);
      const s = JSON.parse(out.join('')) as VirtualAgentsSummary;
      assert.equal(s.agentsConnected, 2);
      assert.equal(s.framesAcked, s.framesSent);
      assert.equal(tb.authFailures, 0);
      assert.deepEqual(tb.connects.map((c) => c.username).sort(), Object.keys(users));

      writeFileSync(join(dir, 'one.json'), JSON.stringify({ 'vagent-00000': 'x' }));
      await fails(['--target', `mqtt://127.0.0.1:${port}`, '--count', '2', '--credentials-file', join(dir, 'one.json')], /agents: --credentials-file has no credentials for agent "vagent-00001"/, 2);
      writeFileSync(join(dir, 'bad.json'), '{not json');
      await fails(['--target', `mqtt://127.0.0.1:${port}`, '--credentials-file', join(dir, 'bad.json')], /agents: --credentials-file is not valid JSON/, 2);
      await fails(['--target', `mqtt://127.0.0.1:${port}`, '--credentials-file', join(dir, 'missing.json')], /agents: --credentials-file cannot be read: ENOENT/, 2);
      await fails(['--target', `mqtt://127.0.0.1:${port}`, '--credentials-file', file, '--username', 'u'], /agents: --credentials-file cannot be combined with --username\/--password/, 2);
    } finally {
      await tb.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
