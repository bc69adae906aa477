// The topology generator's spec: a named preset or a seeded random layered graph, plus the
// number of hosts the workloads are placed on. Validated whole before anything is generated;
// errors name the field path and the bad value.
import { z } from 'zod';
import { TopologyError } from './errors.js';
import { PRESET_NAMES } from './presets.js';
import type { PresetName } from './presets.js';

export const MAX_RANDOM_SERVICES = 2000;
export const MAX_HOSTS = 1000;

export const randomGraphSpecSchema = z
  .object({
    /** Number of Service nodes (the load balancer, datastores and queues come on top). */
    services: z.number().int().min(1).max(MAX_RANDOM_SERVICES),
    /** Maximum outgoing CALLS edges of any node (services, datastores and queues count). */
    fanOut: z.number().int().min(1).max(50),
    /** Number of service layers below the load balancer (default: about log2 of services). */
    depth: z.number().int().min(1).max(50).optional(),
    /** Probability that a service with a free call slot owns a Database or Cache. */
    datastoreRatio: z.number().min(0).max(1).default(0.35),
    /** Queues, each with one producer and one consumer service. */
    queues: z.number().int().min(0).max(50).default(0),
  })
  .strict();

export type RandomGraphSpec = z.output<typeof randomGraphSpecSchema>;
export type RandomGraphSpecInput = z.input<typeof randomGraphSpecSchema>;

export const topologySpecSchema = z
  .object({
    /** A preset shaped like a well-known demo system. Exactly one of preset / random. */
    preset: z.enum(PRESET_NAMES).optional(),
    random: randomGraphSpecSchema.optional(),
    /** Hosts the workloads are spread over (default: the preset's, or about one per 4 nodes). */
    hosts: z.number().int().min(1).max(MAX_HOSTS).optional(),
    /** Name of the system in the document (default: the preset name, or "random-<services>"). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, "_", "." or "-"')
      .max(100)
      .optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.preset === undefined) === (v.random === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'must set exactly one of "preset" or "random"', path: [] });
    }
  });

export type TopologySpec = z.output<typeof topologySpecSchema> & ({ preset: PresetName } | { random: RandomGraphSpec });
export type TopologySpecInput = z.input<typeof topologySpecSchema>;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Formats zod issues as `path message (got value)` lines. `data` is the input that was parsed
 * (the bad value is read from it); `prefix` is the path of `data` inside a bigger document.
 * Shared by the simulators' config modules (metrics, faults, scenario).
 */
export function formatSchemaIssues(error: z.ZodError, data: unknown, prefix = ''): string[] {
  return error.issues.map((i) => {
    const path = joinPath(prefix, i.path);
    if (i.code === 'unrecognized_keys') return `${path} has unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    const value = valueAt(data, i.path);
    return value === undefined ? `${path} ${describeIssue(i, value)}` : `${path} ${describeIssue(i, value)} (got ${show(value)})`;
  });
}

/** Plain-language text for the zod issues the simulators' schemas can raise. */
function describeIssue(i: z.core.$ZodIssue, value: unknown): string {
  switch (i.code) {
    case 'invalid_value':
      return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
    {
      const what = ({ int: 'an integer', object: 'an object', array: 'a list', record: 'an object' } as Record<string, string>)[i.expected] ?? `a ${i.expected}`;
      return value === undefined ? `is required (${what})` : `must be ${what}`;
    }
    case 'too_small':
    case 'too_big': {
      const bound = i.code === 'too_small' ? i.minimum : i.maximum;
      const op = i.code === 'too_small' ? (i.inclusive ? '>=' : '>') : i.inclusive ? '<=' : '<';
      if (i.origin === 'array' || i.origin === 'set') return `must have ${i.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} item(s)`;
      if (i.origin === 'string') return `must be ${i.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} character(s) long`;
      return `must be ${op} ${String(bound)}`;
    }
    case 'invalid_format':
      return i.message.startsWith('Invalid') ? `must match ${i.format}` : i.message;
    default:
      return i.message.replace(/^Invalid input: /, '');
  }
}

/** Validates a topology spec; throws TopologyError BAD_SPEC naming every bad field. */
export function validateTopologySpec(input: unknown, prefix = 'topology'): TopologySpec {
  const r = topologySpecSchema.safeParse(input);
  if (!r.success) {
    const lines = formatSchemaIssues(r.error, input, prefix);
    throw new TopologyError('BAD_SPEC', lines.length === 1 ? lines[0]! : `invalid topology spec:\n  ${lines.join('\n  ')}`);
  }
  return r.data as TopologySpec;
}
