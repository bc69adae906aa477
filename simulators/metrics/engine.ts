// The noise-free core of the simulation: one pass per step over the topology.
//
//   1. flow pass (callers before callees): offered rate = external demand + callers' served
//      rate hopLag steps ago x calls_per_request + consumed queues' served rate;
//   2. node pass (callees and dependencies first): CPU, memory, GC, pool saturation; own
//      latency from the node's work and its contention knees (CPU, pool, GC, host CPU, disk);
//      total latency = own + callees' latency hopLag steps ago x calls_per_request; errors
//      = own failures combined with callees' and dependencies' errors hopLag steps ago,
//      weighted by each edge's criticality;
//   3. host pass: sums of what runs on each host.
//
// Knees are `max(0, x - knee)^2` curves: below the knee an input has exactly no effect, so an
// effect that stays small does not leak into every node through rounding, and the ground truth
// can name exactly the nodes a fault reached. Everything here is deterministic: the same model
// and effects give bit-identical arrays.
import { compileEffects } from './effects.js';
import type { Effect } from './effects.js';
import type { MetricModel } from './model.js';

/** Per-workload arrays of one core run. NaN = no sample (the process was down). */
export interface WorkloadCore {
  rate: Float64Array;
  p50: Float64Array;
  p95: Float64Array;
  p99: Float64Array;
  err: Float64Array;
  cpu: Float64Array;
  mem: Float64Array;
  gc: Float64Array;
  sat: Float64Array;
  /** Internal: CPU demand / limit, pool utilisation, served rate, down flag. */
  util: Float64Array;
  poolUtil: Float64Array;
  served: Float64Array;
  down: Uint8Array;
}

export interface HostCore {
  cpu: Float64Array;
  mem: Float64Array;
  disk: Float64Array;
  rx: Float64Array;
  tx: Float64Array;
}

export interface CoreRun {
  length: number;
  workloads: WorkloadCore[];
  hosts: HostCore[];
}

/** Latency, seconds, of a call to a process that is not running (connection refused). */
export const FAST_FAIL_SECONDS = 0.001;
/** Seconds a process needs to come back after an OOM kill. */
export const OOM_RESTART_SECONDS = 20;

const DAY_MS = 86_400_000;

function cpuContention(util: number): number {
  const x = util - 0.7;
  return x > 0 ? Math.min(12, 1 + (6 * x * x) / 0.09) : 1;
}
function hostContention(cpu: number): number {
  const x = cpu - 0.8;
  return x > 0 ? 1 + (4 * x * x) / 0.04 : 1;
}
function poolQueueing(poolUtil: number): number {
  const x = poolUtil - 0.6;
  return x > 0 ? 1 + (8 * Math.min(x, 0.4) * Math.min(x, 0.4)) / 0.16 : 1;
}
function gcPressure(memFrac: number): number {
  const x = memFrac - 0.65;
  return x > 0 ? (0.5 * x * x) / 0.1225 : 0;
}
function diskPressure(disk: number): number {
  const x = disk - 0.92;
  return x > 0 ? Math.min(1, x / 0.08) : 0;
}

function workloadArrays(length: number): WorkloadCore {
  const f = (): Float64Array => new Float64Array(length);
  return { rate: f(), p50: f(), p95: f(), p99: f(), err: f(), cpu: f(), mem: f(), gc: f(), sat: f(), util: f(), poolUtil: f(), served: f(), down: new Uint8Array(length) };
}

/** Runs the core over the whole grid with the model's benign effects plus `extra`. */
export function simulateCore(model: MetricModel, extra: readonly Effect[] = []): CoreRun {
  const { graph, length } = model;
  const L = model.options.hopLagSteps;
  const nW = graph.workloads.length;
  const nH = graph.hosts.length;
  const fx = compileEffects([...model.benignEffects, ...extra], nW, nH, length);
  const W = Array.from({ length: nW }, () => workloadArrays(length));
  const H: HostCore[] = Array.from({ length: nH }, () => ({ cpu: new Float64Array(length), mem: new Float64Array(length), disk: new Float64Array(length), rx: new Float64Array(length), tx: new Float64Array(length) }));
  const P = model.profiles.workloads;
  const HP = model.profiles.hosts;
  const { calls, callers, dependsOn, consumes, hostOf, onHost, flowOrder, depOrder } = graph;
  const stepsPerDay = DAY_MS / model.options.stepMs;
  const tauMem = Math.max(1, 1_800_000 / model.options.stepMs); // memory regrows over ~30 min after a restart
  const tauCpu = Math.max(1, 60_000 / model.options.stepMs); // CPU warm-up ~1 min
  const restartSteps = Math.max(1, Math.round((OOM_RESTART_SECONDS * 1000) / model.options.stepMs));

  // Dynamic state per workload.
  const leak = new Float64Array(nW);
  const restartAt = new Float64Array(nW).fill(-Infinity);
  const oomUntil = new Int32Array(nW).fill(-1);

  for (let t = 0; t < length; t++) {
    const tl = t >= L ? t - L : 0;
    const tp = t > 0 ? t - 1 : 0;
    const th = t >= Math.max(1, L) ? t - Math.max(1, L) : 0;

    // 1. Flow pass.
    for (let o = 0; o < nW; o++) {
      const i = flowOrder[o]!;
      const w = W[i]!;
      const ch = fx.workloads[i]!;
      const ext = model.demand[i];
      let d = ext === undefined ? 0 : ext[t]!;
      if (ch.demand_mul !== undefined) d *= ch.demand_mul[t]!;
      if (ch.demand_add !== undefined) d += ch.demand_add[t]! * P[i]!.meanRate;
      let r = d;
      for (let k = callers.start[i]!; k < callers.start[i + 1]!; k++) r += W[callers.to[k]!]!.served[tl]! * callers.weight[k]!;
      for (let k = consumes.start[i]!; k < consumes.start[i + 1]!; k++) r += W[consumes.to[k]!]!.served[tl]!;
      const down = (ch.down !== undefined && ch.down[t]! > 0) || t < oomUntil[i]!;
      w.down[t] = down ? 1 : 0;
      w.rate[t] = down ? 0 : r;
      w.served[t] = down ? 0 : r;
    }

    // 2. Node pass.
    for (let o = 0; o < nW; o++) {
      const i = depOrder[o]!;
      const w = W[i]!;
      const p = P[i]!;
      const ch = fx.workloads[i]!;
      if (ch.restart !== undefined && ch.restart[t]! > 0) restartAt[i] = t;
      if (w.down[t] === 1) {
        w.p50[t] = w.p95[t] = w.p99[t] = w.err[t] = w.cpu[t] = w.mem[t] = w.gc[t] = w.sat[t] = NaN;
        w.util[t] = w.poolUtil[t] = 0;
        leak[i] = 0;
        restartAt[i] = t + 1; // when it runs again, it runs as a fresh process
        continue;
      }
      const r = w.rate[t]!;
      const load = r / p.meanRate;
      const age = t - restartAt[i]!;
      const memDip = age === Infinity ? 1 : 1 - 0.2 * Math.exp(-age / tauMem);
      const cpuWarm = age === Infinity ? 1 : 1 + 0.6 * Math.exp(-age / tauCpu);

      // CPU.
      const perReq = ch.cpu_per_req_mul === undefined ? p.cpuPerReq : p.cpuPerReq * ch.cpu_per_req_mul[t]!;
      let demand = (p.cpuBase + perReq * r) * cpuWarm;
      if (ch.cpu_add !== undefined) demand += ch.cpu_add[t]!;
      const util = demand / p.cpuLimit;
      w.util[t] = util;
      w.cpu[t] = Math.min(demand, p.cpuLimit);

      // Memory: at rest x load x restart dip, plus leaked bytes; an OOM kill at the limit.
      if (ch.leak !== undefined) {
        if (ch.leak[t]! > 0) leak[i]! += ch.leak[t]!;
        else if (leak[i]! > 0) {
          leak[i] = 0; // the leak ended: the fix was rolled out with a restart
          restartAt[i] = t;
        }
      }
      let mem = p.memBase * (ch.mem_mul === undefined ? 1 : ch.mem_mul[t]!) * memDip * (1 + p.memLoadSens * (load - 1)) + leak[i]!;
      if (mem >= p.memLimit) {
        mem = p.memLimit;
        oomUntil[i] = t + 1 + restartSteps;
        leak[i] = 0;
      }
      w.mem[t] = mem;
      const gc = Math.min(0.9, p.gcBase * (0.6 + 0.4 * load) + gcPressure(mem / p.memLimit));
      w.gc[t] = gc;

      // Own latency from the previous step's contention state (a queue builds up over time).
      const h = hostOf[i]!;
      const prevUtil = w.util[tp]!;
      const prevPool = w.poolUtil[tp]!;
      const prevGc = t > 0 && !Number.isNaN(w.gc[tp]!) ? w.gc[tp]! : gc;
      let factor = cpuContention(prevUtil) * poolQueueing(prevPool) / (1 - prevGc);
      let diskP = 0;
      if (h >= 0) {
        factor *= hostContention(H[h]!.cpu[tp]!);
        diskP = diskPressure(H[h]!.disk[th]!);
        factor *= 1 + diskP;
      }
      const own = p.work * (ch.work_mul === undefined ? 1 : ch.work_mul[t]!) * factor;
      const add = ch.lat_add === undefined ? 0 : ch.lat_add[t]!;
      let l50 = own + add;
      let l95 = own * p.tail95 + add * 1.2;
      let l99 = own * p.tail99 + add * 1.5;

      // Errors: own failures (baseline, injected, shed under pool overload, disk full).
      let ownErr = p.baseErr + (ch.err_add === undefined ? 0 : ch.err_add[t]!);
      if (prevPool > 1) ownErr += 1 - 1 / prevPool; // requests beyond the pool are rejected
      ownErr += 0.3 * diskP;
      let keep = 1 - Math.min(1, ownErr);

      for (let k = calls.start[i]!; k < calls.start[i + 1]!; k++) {
        const v = W[calls.to[k]!]!;
        const cpr = calls.weight[k]!;
        if (v.down[tl] === 1) {
          l50 += cpr * FAST_FAIL_SECONDS;
          l95 += cpr * FAST_FAIL_SECONDS;
          l99 += cpr * FAST_FAIL_SECONDS;
          keep *= Math.pow(1 - calls.criticality[k]!, cpr);
        } else {
          l50 += cpr * v.p50[tl]!;
          l95 += cpr * v.p95[tl]!;
          l99 += cpr * v.p99[tl]!;
          const e = v.err[tl]!;
          if (e > 0) keep *= Math.pow(1 - calls.criticality[k]! * e, cpr);
        }
      }
      for (let k = dependsOn.start[i]!; k < dependsOn.start[i + 1]!; k++) {
        const v = W[dependsOn.to[k]!]!;
        const e = v.down[tl] === 1 ? 1 : v.err[tl]!;
        if (e > 0) keep *= 1 - dependsOn.criticality[k]! * e;
      }
      w.p50[t] = l50;
      w.p95[t] = l95;
      w.p99[t] = l99;
      w.err[t] = 1 - keep;

      // Pool: requests in flight (Little's law) over the pool size; saturation is the busier of
      // the pool and the CPU. Added network delay is time on the wire, not in this node's pool
      // (its callers' pools hold it).
      const poolUtil = (r * (l50 - add)) / p.pool;
      w.poolUtil[t] = poolUtil;
      w.sat[t] = Math.min(1, Math.max(poolUtil, util));
    }

    // 3. Host pass.
    for (let j = 0; j < nH; j++) {
      const hp = HP[j]!;
      const hc = H[j]!;
      const ch = fx.hosts[j]!;
      let cores = hp.baseCores;
      let mem = hp.baseMem;
      let rx = hp.netBase;
      let tx = hp.netBase;
      for (let k = onHost.start[j]!; k < onHost.start[j + 1]!; k++) {
        const i = onHost.to[k]!;
        const w = W[i]!;
        if (w.down[t] === 1) continue;
        cores += w.cpu[t]!;
        mem += w.mem[t]!;
        rx += w.served[t]! * P[i]!.bytesIn;
        tx += w.served[t]! * P[i]!.bytesOut;
      }
      hc.cpu[t] = Math.min(1, cores / hp.cores);
      hc.mem[t] = Math.min(1, mem / hp.memBytes + (ch.mem_add === undefined ? 0 : ch.mem_add[t]!));
      hc.disk[t] = Math.max(0, Math.min(1, hp.diskBase + (hp.diskGrowthPerDay * t) / stepsPerDay + (ch.disk_add === undefined ? 0 : ch.disk_add[t]!)));
      hc.rx[t] = rx;
      hc.tx[t] = tx;
    }
  }
  return { length, workloads: W, hosts: H };
}
