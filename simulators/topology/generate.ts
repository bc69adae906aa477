// Turns a spec (preset or random) and a seed into a TopologyDocument: the blueprint's workloads
// and edges, plus hosts and a seeded, balanced placement of every workload on a host.
import { TOPOLOGY_DOCUMENT_VERSION } from '../../shared-schemas/src/index.js';
import type { TopologyDocument, TopologyEdge, TopologyNode } from '../../shared-schemas/src/index.js';
import { Rng } from '../model/index.js';
import { validateTopologySpec } from './config.js';
import type { TopologySpecInput } from './config.js';
import { buildTopologyGraph } from './graph.js';
import { listPresets, presetBlueprint } from './presets.js';
import type { Blueprint } from './presets.js';
import { randomBlueprint } from './random.js';

const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;

/** Node id convention: `<kind in lower case>:<name>`, e.g. `service:cart`, `host:node-1`. */
export function nodeId(kind: TopologyNode['kind'], name: string): string {
  return `${kind.toLowerCase()}:${name}`;
}

/** Places the blueprint's workloads on `hosts` hosts (seeded, balanced within one workload). */
export function blueprintToDocument(bp: Blueprint, hosts: number, rng: Rng): TopologyDocument {
  const ids = new Map(bp.nodes.map((n) => [n.name, nodeId(n.kind, n.name)]));
  const nodes: TopologyNode[] = bp.nodes.map((n) => ({
    id: ids.get(n.name)!,
    kind: n.kind,
    name: n.name,
    ...(n.engine === undefined ? {} : { properties: { engine: n.engine } }),
  }));
  const width = String(hosts).length;
  const hostNames = Array.from({ length: hosts }, (_, i) => `node-${String(i + 1).padStart(width, '0')}`);
  // Hosts carry only their zone: their size follows from what runs on them (metric generator).
  for (let i = 0; i < hosts; i++) {
    nodes.push({ id: nodeId('Host', hostNames[i]!), kind: 'Host', name: hostNames[i]!, properties: { zone: ZONES[i % ZONES.length]! } });
  }
  const edges: TopologyEdge[] = [];
  for (const c of bp.calls) {
    edges.push({ from: ids.get(c.from)!, to: ids.get(c.to)!, kind: 'CALLS', properties: { protocol: c.protocol, calls_per_request: c.callsPerRequest, criticality: c.criticality } });
  }
  for (const d of bp.dependsOn) {
    edges.push({ from: ids.get(d.from)!, to: ids.get(d.to)!, kind: 'DEPENDS_ON', properties: { protocol: d.protocol, criticality: d.criticality } });
  }
  // Balanced placement: a seeded shuffle dealt round-robin over a seeded host order.
  const placeRng = rng.fork('placement');
  const order = placeRng.shuffle(bp.nodes.map((n) => n.name));
  const hostOrder = placeRng.shuffle(hostNames);
  const placed = new Map<string, string>();
  order.forEach((name, i) => placed.set(name, hostOrder[i % hosts]!));
  for (const n of bp.nodes) edges.push({ from: ids.get(n.name)!, to: nodeId('Host', placed.get(n.name)!), kind: 'RUNS_ON' });
  return { version: TOPOLOGY_DOCUMENT_VERSION, name: bp.name, nodes, edges };
}

/**
 * Generates a topology document from a spec and a seed (or an Rng: its `topology` fork is
 * used). The same spec and seed always give the same document; the result passes
 * validateTopologyDocument and has an acyclic call graph (checked before returning).
 */
export function generateTopology(specInput: TopologySpecInput, seed: number | Rng): TopologyDocument {
  const spec = validateTopologySpec(specInput);
  const rng = (typeof seed === 'number' ? new Rng(seed) : seed).fork('topology');
  let bp: Blueprint;
  let defaultHosts: number;
  if (spec.preset !== undefined) {
    bp = presetBlueprint(spec.preset);
    defaultHosts = listPresets().find((p) => p.name === spec.preset)!.defaultHosts;
  } else {
    const random = spec.random!;
    bp = randomBlueprint(random, rng.fork('graph'), spec.name ?? `random-${random.services}`);
    defaultHosts = Math.max(1, Math.ceil(bp.nodes.length / 4));
  }
  if (spec.name !== undefined) bp.name = spec.name;
  const doc = blueprintToDocument(bp, spec.hosts ?? defaultHosts, rng);
  buildTopologyGraph(doc);
  return doc;
}
