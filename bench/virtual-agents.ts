// Virtual agents against an MQTT broker: can one simulator process sustain 200,000
// series-windows per second for 60 s on this machine?
//
// The broker (aedes, loopback) runs in a CHILD process so its CPU is not the simulator's; it has
// central's embedded consumer shape (an in-process QoS 1 subscription on every agent's features
// topic) that counts frames and bytes and fully decodes every 100th frame (envelope, CRC,
// protobuf, validation) to prove the frames are valid. The simulator (runVirtualAgents) runs in
// this process. The first --warmup seconds of the send phase (every agent's first, dictionary-
// carrying 'reset' frame) are excluded from the measured window; CPU is read from /proc for
// both processes over the measured window.
//
//   npx tsx bench/virtual-agents.ts [--count 1000] [--series 2000] [--rate 0.1] [--seconds 60]
//       [--warmup 10] [--brotli-quality 5] [--max-in-flight 8] [--json out.json]
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    count: { type: 'string', default: '1000' },
    series: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '0.1' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    'brotli-quality': { type: 'string', default: '5' },
    'max-in-flight': { type: 'string', default: '8' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const TICKS = 100; // USER_HZ

/** utime + stime of one process, in seconds, and its RSS in MB. */
function procCpu(pid: number): { cpuS: number; rssMb: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: (Number(f[11]) + Number(f[12])) / TICKS, rssMb: m ? Number(m[1]) / 1024 : 0 };
}

// ---------------------------------------------------------------- broker (child process)
async function brokerMain(): Promise<void> {
  const { Aedes } = await import('aedes');
  const { decodeFrame } = await import('../shared-schemas/src/index.js');
  const broker = await Aedes.createBroker();
  let frames = 0;
  let bytes = 0;
  let heartbeats = 0;
  let decoded = 0;
  let decodeErrors = 0;
  const agents = new Set<string>();
  await new Promise<void>((resolve) =>
    broker.subscribe(
      'aiops/v1/+/agents/+/+',
      (packet, cb) => {
        const parts = packet.topic.split('/');
        if (parts[5] === 'features') {
          frames++;
          bytes += packet.payload.length;
          agents.add(parts[4] as string);
          if (frames % 100 === 0) {
            try {
              decodeFrame(packet.payload as Buffer);
              decoded++;
            } catch {
              decodeErrors++;
            }
          }
        } else if (parts[5] === 'heartbeat') heartbeats++;
        cb();
      },
      () => resolve(),
    ),
  );
  const server = createServer((s: Socket) => broker.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send?.({ frames, bytes, heartbeats, decoded, decodeErrors, agents: agents.size });
    if (m.cmd === 'stop') {
      server.close();
      broker.close(() => process.exit(0));
    }
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

// ---------------------------------------------------------------- bench (parent)
interface BrokerStats {
  frames: number;
  bytes: number;
  heartbeats: number;
  decoded: number;
  decodeErrors: number;
  agents: number;
}

function ask(child: ChildProcess): Promise<BrokerStats> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as BrokerStats));
    child.send({ cmd: 'stats' });
  });
}

async function benchMain(): Promise<void> {
  if (args.help) {
    console.log('usage: npx tsx bench/virtual-agents.ts [--count 1000] [--series 2000] [--rate 0.1] [--seconds 60] [--warmup 10] [--brotli-quality 5] [--max-in-flight 8] [--json file]');
    return;
  }
  const { runVirtualAgents, formatSummary } = await import('../simulators/agents/index.js');
  const count = Number(args.count);
  const series = Number(args.series);
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const warmup = Number(args.warmup);
  const say = (s: string): void => void process.stderr.write(`[virtual-agents] ${s}\n`);
  const load0 = loadavg();
  say(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}`);

  const child = fork(new URL(import.meta.url).pathname, ['--role', 'broker'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  const brokerPid = child.pid as number;
  say(`broker (aedes, pid ${brokerPid}) on 127.0.0.1:${port}; simulator pid ${process.pid}`);
  say(`${count} agents x ${series} series at ${rate} windows/s per agent = ${(count * series * rate).toLocaleString('en-US')} series-windows/s offered; ${warmup} s warm-up + ${seconds} s measured`);

  // CPU samples once a second; the send phase's start is learnt from the first progress report.
  const samples: Array<{ t: number; self: { cpuS: number; rssMb: number }; broker: { cpuS: number; rssMb: number } }> = [];
  const sampler = setInterval(() => samples.push({ t: performance.now(), self: procCpu(process.pid), broker: procCpu(brokerPid) }), 1000);
  let t0: number | undefined;
  const summary = await runVirtualAgents(
    {
      target: `mqtt://127.0.0.1:${port}`,
      count,
      series,
      rate,
      durationMs: (warmup + seconds) * 1000,
      brotliQuality: Number(args['brotli-quality']),
      maxInFlight: Number(args['max-in-flight']),
      connectConcurrency: 100,
      progressIntervalMs: 5000,
      drainTimeoutMs: 15_000,
    },
    {
      onProgress: (p) => {
        if (p.phase !== 'connecting' && t0 === undefined) t0 = performance.now() - p.elapsedMs;
        say(
          `${p.phase} ${(p.elapsedMs / 1000).toFixed(0)} s: sent ${p.framesSent} frames, acked ${p.framesAcked}; ` +
            `${Math.round(p.ackedPerSec).toLocaleString('en-US')} acked series-windows/s; in flight ${p.inFlight}, backlog ${p.backlog}, errors ${p.errors}`,
        );
      },
    },
  );
  clearInterval(sampler);
  const bstats = await ask(child);
  child.send({ cmd: 'stop' });

  // Measured window: [t0 + warmup, t0 + warmup + seconds].
  const from = (t0 ?? 0) + warmup * 1000;
  const to = from + seconds * 1000;
  const near = (t: number) => samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), samples[0]!);
  const a = near(from);
  const b = near(to);
  const span = (b.t - a.t) / 1000;
  const inWindow = samples.filter((s) => s.t >= a.t && s.t <= b.t);
  const med = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length === 0 ? 0 : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const measured = summary.perSecond.slice(warmup, warmup + seconds);
  const ackedPerSec = measured.map((p) => p.ackedSeriesWindows);
  const sentPerSec = measured.map((p) => p.sentSeriesWindows);
  const result = {
    node: process.version,
    cpus: cpus().length,
    loadBefore: load0,
    loadAfter: loadavg(),
    shape: { count, series, rate, offered: count * series * rate, codec: summary.codec, maxInFlight: Number(args['max-in-flight']) },
    measuredSeconds: measured.length,
    medianAckedPerSec: med(ackedPerSec),
    minAckedPerSec: Math.min(...ackedPerSec),
    maxAckedPerSec: Math.max(...ackedPerSec),
    medianSentPerSec: med(sentPerSec),
    measuredAckedTotal: ackedPerSec.reduce((x, y) => x + y, 0),
    measuredAckedPerSec: ackedPerSec.reduce((x, y) => x + y, 0) / Math.max(1, measured.length),
    wholeRun: {
      sentPerSec: summary.seriesWindowsSentPerSec,
      ackedPerSec: summary.seriesWindowsAckedPerSec,
      framesSent: summary.framesSent,
      framesAcked: summary.framesAcked,
      seriesWindowsAcked: summary.seriesWindowsAcked,
      bytesPerSeriesWindow: summary.bytesPerSeriesWindow,
      ackLatencyMs: summary.ackLatencyMs,
      errors: summary.errorCount,
      connectMs: summary.connectMs,
      drained: summary.drained,
    },
    cpu: {
      windowSeconds: span,
      simulatorPercent: ((b.self.cpuS - a.self.cpuS) / span) * 100,
      brokerPercent: ((b.broker.cpuS - a.broker.cpuS) / span) * 100,
      simulatorRssMedianMb: med(inWindow.map((s) => s.self.rssMb)),
      brokerRssMedianMb: med(inWindow.map((s) => s.broker.rssMb)),
    },
    broker: bstats,
  };
  process.stdout.write(formatSummary(summary));
  console.log(JSON.stringify(result, null, 2));
  if (args.json) writeFileSync(args.json, JSON.stringify({ result, summary }, null, 2));
}

if (args.role === 'broker') await brokerMain();
else await benchMain();
