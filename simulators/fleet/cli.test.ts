// The `fleet` subcommand inside a small program, as simulators/cli.ts registers it: help, option
// errors (exit 2, naming the option), and a run with a credentials file against aedes, stopped
// by a signal once live.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { TestBroker } from '../../edge-agent/src/exporters/mqtt/testdata/aedes-broker.js';
import { ManualClock } from '../../edge-agent/src/testing/index.js';
import { fleetCommand } from './index.js';
import type { FleetCommandIO, FleetStatus } from './index.js';

function program(io: FleetCommandIO = {}): { prog: Command; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const fleet = fleetCommand({ stdout: (t) => out.push(t), stderr: (t) => err.push(t), ...io })
    .exitOverride()
    .configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  const prog = new Command('simulate').exitOverride().configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) }).addCommand(fleet);
  return { prog, out, err };
}

async function fails(args: string[], message: RegExp, exitCode: number): Promise<void> {
  const { prog, err } = program();
  await assert.rejects(prog.parseAsync(['node', 'simulate', 'fleet', ...args]), (e: unknown) => {
    assert.ok(e instanceof CommanderError, String(e));
    assert.equal(e.exitCode, exitCode, err.join(''));
    assert.match(err.join(''), message);
    return true;
  });
}

describe('simulate fleet (command line)', () => {
  it('explains itself with --help', async () => {
    const { prog, out } = program();
    await assert.rejects(prog.parseAsync(['node', 'simulate', 'fleet', '--help']), (e: CommanderError) => e.code === 'commander.helpDisplayed');
    const help = out.join('');
    for (const flag of ['--scenario <file>', '--target <url>', '--credentials-file <json>', '--username <name>', '--password <secret>', '--backfill <time>', '--fault-after <time>', '--data-dir <dir>']) {
      assert.ok(help.includes(flag), `help lists ${flag}`);
    }
    assert.match(help, /quickstart\.yaml/);
    assert.match(help, /history fed at start with past timestamps, 0s\.\.55m\s+\(default: 20m\)/);
  });

  it('refuses bad options with a message naming the option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiops-fleet-cli-'));
    try {
      await fails(['--target', 'grpc://127.0.0.1:4317', '--data-dir', dir], /fleet: --target must be mqtt:\/\/host:port or mqtts:\/\/host:port \(got "grpc:\/\/127\.0\.0\.1:4317"\)/, 2);
      await fails(['--backfill', '2h', '--data-dir', dir], /fleet: --backfill must be a duration from 0s to 55m/, 2);
      await fails(['--backfill', '24m', '--data-dir', dir], /fleet: --backfill 24m \+ --fault-after 3m = 27m must not exceed the onset of fault cpu-hog-productcatalog in quickstart/, 2);
      await fails(['--password', 'x', '--data-dir', dir], /fleet: --password needs --username/, 2);
      await fails(['--credentials-file', join(dir, 'none.json'), '--data-dir', dir], /fleet: --credentials-file .*none\.json cannot be read/, 2);
      writeFileSync(join(dir, 'bad.json'), '["sim-node-1"]');
      await fails(['--credentials-file', join(dir, 'bad.json'), '--data-dir', dir], /fleet: --credentials-file .*bad\.json must hold a JSON object/, 2);
      await fails(['--scenario', join(dir, 'nope.yaml'), '--data-dir', dir], /fleet: --scenario: cannot read scenario file/, 1);
      // Parse errors are commander's (exit code 1), naming the option too.
      await fails(['--fault-after', '3'], /option '--fault-after <time>' argument '3' is invalid\. must be a duration like 90s, 20m or 1h30m/, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the quickstart with per-agent credentials from a file, until stopped', async () => {
    const secrets = { 'sim-node-1': 'a1', 'sim-node-2': 'b2', 'sim-node-3': 'c3', 'sim-node-4': 'd4' };
    const broker = new TestBroker({ users: secrets, tenant: 'default' });
    const port = await broker.start();
    const dir = mkdtempSync(join(tmpdir(), 'aiops-fleet-cli-'));
    try {
      writeFileSync(join(dir, 'credentials.json'), JSON.stringify(secrets));
      const stop = new AbortController();
      const events: string[] = [];
      const { prog, out, err } = program({
        signal: stop.signal,
        hooks: {
          clock: new ManualClock(Date.UTC(2026, 0, 1, 12)),
          onStatus: (s: FleetStatus) => {
            events.push(s.event);
            if (s.event === 'started') stop.abort();
          },
        },
      });
      await prog.parseAsync(['node', 'simulate', 'fleet', '--target', `mqtt://127.0.0.1:${port}`, '--credentials-file', join(dir, 'credentials.json'), '--data-dir', join(dir, 'state'), '--json']);
      assert.deepEqual(events, ['started', 'stopped']);
      const summary = JSON.parse(out.join('')) as FleetStatus;
      assert.deepEqual(summary.agents.map((a) => a.agentId), Object.keys(secrets));
      assert.equal(summary.stepsFed, 601);
      assert.equal(summary.timeline.fault!.onsetMs - summary.timeline.liveStartMs, 3 * 60_000);
      assert.deepEqual([...new Set(broker.connects.map((c) => c.username))].sort(), Object.keys(secrets));
      assert.equal(broker.authFailures, 0);
      assert.equal(err.join(''), '', 'the test hooks replace the status lines; nothing else on stderr');
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
