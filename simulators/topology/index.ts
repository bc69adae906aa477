// Public surface of the topology generator: presets shaped like well-known demo systems and
// seeded random layered graphs, as shared-schemas TopologyDocuments, plus the indexed graph
// view the metric and fault simulators run on.
export { MAX_HOSTS, MAX_RANDOM_SERVICES, formatSchemaIssues, randomGraphSpecSchema, topologySpecSchema, validateTopologySpec } from './config.js';
export type { RandomGraphSpec, RandomGraphSpecInput, TopologySpec, TopologySpecInput } from './config.js';
export { TopologyError } from './errors.js';
export type { TopologyErrorCode } from './errors.js';
export { blueprintToDocument, generateTopology, nodeId } from './generate.js';
export { buildTopologyGraph, downstreamOf, findNode } from './graph.js';
export type { Adjacency, TopologyGraph } from './graph.js';
export { PRESET_NAMES, listPresets, presetBlueprint } from './presets.js';
export type { Blueprint, PresetInfo, PresetName } from './presets.js';
export { defaultDepth, randomBlueprint } from './random.js';
