// Seeded random topologies: a layered DAG of services behind one load balancer. Every service
// sits in a layer; a service only calls services in deeper layers, so the call graph is acyclic
// by construction. Every service below the first layer has at least one caller, and no node
// has more than `fanOut` outgoing CALLS edges (datastores and queues count).
import type { Rng } from '../model/index.js';
import type { RandomGraphSpec } from './config.js';
import { TopologyError } from './errors.js';
import type { Blueprint } from './presets.js';

interface Svc {
  name: string;
  layer: number;
  callees: Set<number>;
}

const DB_ENGINES = ['mongodb', 'mysql', 'postgres'] as const;
const CACHE_ENGINES = ['redis', 'memcached'] as const;
const PROTOCOLS: Record<string, string> = { mongodb: 'mongodb', mysql: 'sql', postgres: 'sql', redis: 'redis', memcached: 'memcached' };

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Default number of service layers for n services: about log2(n), 1..8. */
export function defaultDepth(services: number): number {
  return Math.min(8, Math.max(1, Math.round(Math.log2(services))));
}

export function randomBlueprint(spec: RandomGraphSpec, rng: Rng, name: string): Blueprint {
  const n = spec.services;
  const f = spec.fanOut;
  const width = String(n).length;
  const front = Math.min(f, n, 1 + rng.int(0, Math.floor(n / 15)));
  let depth = spec.depth ?? defaultDepth(n);
  if (n > front) depth = Math.max(depth, 2);

  // Layers: the first `front` services form layer 0; every deeper layer gets one service, the
  // rest land uniformly at random.
  const layers: number[] = [];
  for (let i = 0; i < front; i++) layers.push(0);
  for (let i = 0; i < n - front; i++) layers.push(i < depth - 1 ? i + 1 : rng.int(1, depth - 1));
  layers.sort((a, b) => a - b);
  const svcs: Svc[] = layers.map((layer, i) => ({ name: `svc-${String(i + 1).padStart(width, '0')}`, layer, callees: new Set() }));

  // One caller for every service below layer 0, preferring the layer just above. When every
  // shallower service has used its fanOut, the service moves one layer down (its former layer
  // mates become possible callers); some earlier service always has a free slot, since n
  // services hold n*fanOut slots and only n - front are taken by these edges.
  for (let v = front; v < n; v++) {
    const sv = svcs[v]!;
    for (;;) {
      const near: number[] = [];
      const far: number[] = [];
      for (let u = 0; u < v; u++) {
        const su = svcs[u]!;
        if (su.layer >= sv.layer || su.callees.size >= f) continue;
        (su.layer === sv.layer - 1 ? near : far).push(u);
      }
      if (near.length + far.length === 0) {
        sv.layer++;
        continue;
      }
      const pool = near.length > 0 && (far.length === 0 || rng.chance(0.75)) ? near : far;
      svcs[rng.pick(pool)]!.callees.add(v);
      break;
    }
  }

  // Extra calls: each service aims for 1..fanOut callees among deeper services.
  for (let u = 0; u < n; u++) {
    const su = svcs[u]!;
    const target = rng.int(1, f);
    const deeper: number[] = [];
    for (let v = 0; v < n; v++) if (svcs[v]!.layer > su.layer && !su.callees.has(v)) deeper.push(v);
    const order = rng.shuffle(deeper);
    for (const v of order) {
      if (su.callees.size >= target) break;
      su.callees.add(v);
    }
  }

  const bp: Blueprint = { name, nodes: [{ name: 'edge-lb', kind: 'LoadBalancer', engine: 'envoy' }], calls: [], dependsOn: [] };
  const outdeg = svcs.map((s) => s.callees.size);
  for (const s of svcs) bp.nodes.push({ name: s.name, kind: 'Service' });

  // The load balancer spreads each request over the first layer.
  const weights = svcs.filter((s) => s.layer === 0).map(() => rng.between(0.5, 1.5));
  const total = weights.reduce((a, b) => a + b, 0);
  svcs
    .filter((s) => s.layer === 0)
    .forEach((s, i) => bp.calls.push({ from: 'edge-lb', to: s.name, protocol: 'http', callsPerRequest: Math.max(0.01, Math.round((weights[i]! / total) * 100) / 100), criticality: 1 }));
  svcs.forEach((su) => {
    for (const v of [...su.callees].sort((a, b) => a - b)) {
      bp.calls.push({ from: su.name, to: svcs[v]!.name, protocol: 'grpc', callsPerRequest: round1(rng.between(0.3, 2)), criticality: round1(rng.between(0.3, 1)) });
    }
  });

  // Datastores for services with a free slot.
  svcs.forEach((su, u) => {
    if (outdeg[u]! >= f || !rng.chance(spec.datastoreRatio)) return;
    const cache = rng.chance(0.3);
    const engine = cache ? rng.pick(CACHE_ENGINES) : rng.pick(DB_ENGINES);
    const store = `${su.name}-${cache ? 'cache' : 'db'}`;
    bp.nodes.push({ name: store, kind: cache ? 'Cache' : 'Database', engine });
    bp.calls.push({ from: su.name, to: store, protocol: PROTOCOLS[engine]!, callsPerRequest: round1(rng.between(1, 3)), criticality: cache ? 0.3 : 1 });
    outdeg[u]!++;
  });

  // Queues: a producer with a free slot and a consumer in a deeper layer (so the flow
  // producer -> queue -> consumer cannot loop back).
  const consumers = new Set<number>();
  for (let q = 1; q <= spec.queues; q++) {
    const producers = svcs.map((_s, u) => u).filter((u) => outdeg[u]! < f && svcs.some((s, v) => s.layer > svcs[u]!.layer && !consumers.has(v)));
    if (producers.length === 0) {
      throw new TopologyError('BAD_SPEC', `topology.random.queues cannot place queue ${q} of ${spec.queues}: no service has a free call slot above a free consumer (raise fanOut or lower queues; got fanOut ${f})`);
    }
    const p = rng.pick(producers);
    const cands = svcs.map((_s, v) => v).filter((v) => svcs[v]!.layer > svcs[p]!.layer && !consumers.has(v));
    const c = rng.pick(cands);
    consumers.add(c);
    outdeg[p]!++;
    const queue = `queue-${q}`;
    bp.nodes.push({ name: queue, kind: 'Queue', engine: 'rabbitmq' });
    bp.calls.push({ from: svcs[p]!.name, to: queue, protocol: 'amqp', callsPerRequest: round1(rng.between(0.2, 1)), criticality: 0.9 });
    bp.dependsOn.push({ from: svcs[c]!.name, to: queue, protocol: 'amqp', criticality: 0.9 });
  }
  return bp;
}
