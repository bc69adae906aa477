// `npm run correlate`: the offline replay of an alert stream (issue #8, Deliver 8), with the
// engine and `correlation:` configuration of central's online path (see replay.ts).
//
//   npm run correlate -- --alerts <alerts.jsonl> [--topology <graph.json>] --out <assignments.jsonl>
//
// Output: one JSON line per input alert, in input order: {"line","fingerprint","incident"}
// (incident null = unassigned); with --skip-invalid a bad line is written as
// {"line","incident":null,"error"} and counted instead of stopping the run.
// Exit codes: 0 done, 1 bad input (the message names the line and field), 2 bad command line.
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import type { CommandIo } from '../cli/io.js';
import { loadCentralConfig } from '../config/config.js';
import { EntityGraph, EntityGraphError } from './entities.js';
import { AlertLineError, parseAlertLine, replayAlerts } from './replay.js';
import type { ReplayAlert } from './replay.js';

interface Options {
  alerts: string;
  out: string;
  topology?: string;
  config?: string;
  incidents?: string;
  skipInvalid?: boolean;
  quiet?: boolean;
}

function program(io: CommandIo): Command {
  return new Command()
    .name('npm run correlate --')
    .description(
      'Correlate an alert stream into incidents offline, in event time, with the same engine and configuration as central.\n' +
        'Input: one JSON object per line with startsAt (RFC 3339 or Unix time), labels, and optionally endsAt and annotations.',
    )
    .requiredOption('--alerts <file>', 'alerts, one JSON object per line ("-" = standard input)')
    .requiredOption('--out <file>', 'where to write one {"line","fingerprint","incident"} line per input alert ("-" = standard output)')
    .option('--topology <file>', 'topology: the project\'s document (PUT /api/v1/config/topology) or node-link JSON {"nodes":[{"id","type"}],"edges":[{"source","target"}]}; without it, labels and time alone')
    .option('--config <central.yaml>', "central's config file: its correlation: section is used (default: the built-in defaults)")
    .option('--incidents <file>', 'also write the incidents (id, opened, resolved, representative fingerprint, alert count) as JSON lines')
    .option('--skip-invalid', 'write a bad line as an error entry and go on (default: stop at the first bad line)')
    .option('--quiet', 'no progress on standard error')
    .addHelpText('after', '\nExample:\n  npm run simulate -- run simulators/scenarios/ob-cpu-hog.yaml --out /tmp/ob\n  npm run correlate -- --alerts alerts.jsonl --topology /tmp/ob/topology.json --out /tmp/assignments.jsonl\n')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Runs the command; resolves to the exit code. */
export async function correlateCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const cmd = program(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = cmd.opts<Options>();
  const say = (s: string) => {
    if (!o.quiet) io.stderr.write(`${s}\n`);
  };
  try {
    const config = loadCentralConfig(o.config, {}).correlation;
    let graph: EntityGraph | undefined;
    if (o.topology) {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(o.topology, 'utf8'));
      } catch (err) {
        throw new EntityGraphError(`cannot read the topology ${o.topology}: ${(err as Error).message}`);
      }
      graph = EntityGraph.parse(doc);
      say(`topology: ${graph.size} nodes, effective diameter ${graph.effectiveDiameter()}`);
    }
    const t0 = performance.now();
    const alerts: ReplayAlert[] = [];
    /** Per input line with an alert or an error: its index in `alerts` or the error. */
    const rows: Array<{ line: number; alert: number } | { line: number; error: string }> = [];
    const input = o.alerts === '-' ? process.stdin : createReadStream(o.alerts);
    const rl = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    let invalid = 0;
    for await (const text of rl) {
      n++;
      try {
        const a = parseAlertLine(text, n);
        if (a === undefined) continue;
        rows.push({ line: n, alert: alerts.length });
        alerts.push(a);
      } catch (err) {
        if (!(err instanceof AlertLineError) || !o.skipInvalid) throw err;
        invalid++;
        rows.push({ line: n, error: err.message });
      }
      if (n % 100_000 === 0) say(`read ${n} lines`);
    }
    say(`read ${alerts.length} alerts${invalid ? ` (${invalid} invalid lines skipped)` : ''} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const t1 = performance.now();
    const result = replayAlerts(alerts, config, graph);
    const secs = (performance.now() - t1) / 1000;
    const out = o.out === '-' ? process.stdout : createWriteStream(o.out);
    for (const r of rows) {
      const line = 'error' in r ? { line: r.line, incident: null, error: r.error } : { line: r.line, fingerprint: alerts[r.alert]!.fingerprint, incident: result.assignments[r.alert] };
      await write(out, `${JSON.stringify(line)}\n`);
    }
    if (out !== process.stdout) await new Promise<void>((res, rej) => (out as Writable).end((err?: Error | null) => (err ? rej(err) : res())));
    if (o.incidents) {
      const inc = createWriteStream(o.incidents);
      for (const i of result.incidents) {
        await write(inc, `${JSON.stringify({ id: i.id, openedAt: new Date(i.openedAtMs).toISOString(), resolvedAt: i.resolvedAtMs ? new Date(i.resolvedAtMs).toISOString() : null, representative: i.representative, alerts: i.alerts })}\n`);
      }
      await new Promise<void>((res, rej) => inc.end((err?: Error | null) => (err ? rej(err) : res())));
    }
    const c = result.counters;
    say(
      `correlated ${alerts.length} alerts into ${result.incidents.length} incidents (${c.unassigned} unassigned, ${c.merged} merges, max hops ${result.maxHops}) ` +
        `in ${secs.toFixed(2)} s (${Math.round(alerts.length / Math.max(secs, 1e-9))} alerts/s)`,
    );
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e instanceof AlertLineError || e instanceof EntityGraphError || e.name === 'CentralConfigError') {
      io.stderr.write(`correlate: ${e.message}\n`);
      if (e instanceof AlertLineError) io.stderr.write('  fix the line, or pass --skip-invalid to record it as an error and go on\n');
      return 1;
    }
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      io.stderr.write(`correlate: ${e.message}\n`);
      return 1;
    }
    throw err;
  }
}
