// Bounded decoding of OTLP request bodies: gzip with an output cap, a protobuf pre-pass that
// counts what protobufjs would materialise (elements and data points) before it does, and a
// JSON pre-scan that does the same for JSON.parse. Every refusal is a BadInputError carrying
// the HTTP status (400 malformed, 413 too large).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import type { Reader, Type } from 'protobufjs';
import { BadInputError } from '../../errors.js';
import { otlpTypes } from './otlp-proto.js';

const gunzipAsync = promisify(zlib.gunzip);

export interface DecodeLimits {
  maxRequestBytes: number;
  maxElements: number;
  maxDataPoints: number;
}

/** Nesting deeper than this is refused (protobuf messages, JSON containers). */
export const MAX_DEPTH = 32;

export function tooLarge(message: string): BadInputError {
  return new BadInputError('TOO_LARGE', message, 413);
}

export function malformed(message: string, cause?: unknown): BadInputError {
  return new BadInputError('MALFORMED', message, 400, cause === undefined ? undefined : { cause });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Gunzips `data`, refusing (413) as soon as the output would pass `max` bytes: zlib stops at
 * maxOutputLength, so a gzip bomb never allocates more than the bound plus one chunk.
 */
export async function gunzipBounded(data: Uint8Array, max: number): Promise<Buffer> {
  try {
    return await gunzipAsync(data, { maxOutputLength: max });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(`gzip body expands beyond max_request_bytes (${max} bytes)`);
    }
    throw malformed(`invalid gzip body: ${describe(err)}`, err);
  }
}

interface Budget {
  elements: number;
  points: number;
}

const FIXED64 = new Set(['double', 'fixed64', 'sfixed64']);
const FIXED32 = new Set(['float', 'fixed32', 'sfixed32']);

function isDataPointType(t: Type): boolean {
  return t.name.endsWith('DataPoint');
}

/**
 * Walks the wire format of `type` without allocating, charging one element per sub-message and
 * repeated value and one point per *DataPoint; stops as soon as a budget is spent. Structural
 * errors (bad tags, lengths past the end) throw.
 */
function prepass(type: Type, reader: Reader, end: number, budget: Budget, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`nesting deeper than ${MAX_DEPTH}`);
  const fields = type.fieldsById;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new Error('illegal field number 0');
    const field = fields[id];
    if (field === undefined) {
      reader.skipType(wireType, 0, id);
      if (reader.pos > end) throw new Error('field runs past the end of its message');
      continue;
    }
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
      if (wireType !== 2) throw new Error(`field ${type.name}.${field.name} has wire type ${wireType}, expected 2`);
      const length = reader.uint32();
      const subEnd = reader.pos + length;
      if (subEnd > end) throw new Error(`${type.name}.${field.name}: length ${length} runs past the end`);
      if (--budget.elements < 0) return;
      if (isDataPointType(resolved) && --budget.points < 0) return;
      prepass(resolved, reader, subEnd, budget, depth + 1);
      if (budget.elements < 0 || budget.points < 0) return;
      reader.pos = subEnd;
      continue;
    }
    if (field.repeated && wireType === 2 && field.type !== 'string' && field.type !== 'bytes') {
      // Packed scalars: count elements from the byte length (varints: bytes without the high bit).
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > end) throw new Error(`${type.name}.${field.name}: length ${length} runs past the end`);
      let count: number;
      if (FIXED64.has(field.type)) count = Math.ceil(length / 8);
      else if (FIXED32.has(field.type)) count = Math.ceil(length / 4);
      else {
        count = 0;
        const buf = reader.buf;
        for (let i = start; i < start + length; i++) if (((buf[i] as number) & 0x80) === 0) count++;
      }
      budget.elements -= count;
      if (budget.elements < 0) return;
      reader.pos = start + length;
      continue;
    }
    if (field.repeated && --budget.elements < 0) return;
    reader.skipType(wireType, 0, id);
    if (reader.pos > end) throw new Error('field runs past the end of its message');
  }
  if (reader.pos !== end) throw new Error('message runs past its declared length');
}

/**
 * Decodes an ExportMetricsServiceRequest from protobuf bytes with bounded work and memory.
 * Returns the protobufjs message (fields in lowerCamelCase, 64-bit integers as Long or number).
 */
export function decodeProtobufRequest(bytes: Uint8Array, limits: DecodeLimits): unknown {
  if (bytes.length > limits.maxRequestBytes) throw tooLarge(`request of ${bytes.length} bytes exceeds max_request_bytes (${limits.maxRequestBytes})`);
  const { request } = otlpTypes();
  const budget: Budget = { elements: limits.maxElements, points: limits.maxDataPoints };
  try {
    prepass(request, protobuf.Reader.create(bytes), bytes.length, budget, 0);
  } catch (err) {
    throw malformed(`malformed protobuf ExportMetricsServiceRequest: ${describe(err)}`, err);
  }
  if (budget.points < 0) throw tooLarge(`more than max_data_points (${limits.maxDataPoints}) data points in one request`);
  if (budget.elements < 0) throw tooLarge(`more than max_elements (${limits.maxElements}) protobuf elements in one request`);
  try {
    return request.decode(bytes);
  } catch (err) {
    throw malformed(`malformed protobuf ExportMetricsServiceRequest: ${describe(err)}`, err);
  }
}

/**
 * Counts JSON values (every container and every comma-separated item) and nesting depth in
 * one pass over the bytes, outside strings, so JSON.parse only runs on bodies whose object
 * graph fits the budget.
 */
export function scanJson(bytes: Uint8Array, maxElements: number, maxDepth = MAX_DEPTH): void {
  let elements = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    switch (c) {
      case 0x22: // "
        inString = true;
        break;
      case 0x7b: // {
      case 0x5b: // [
        if (++depth > maxDepth) throw malformed(`JSON nesting deeper than ${maxDepth}`);
        if (++elements > maxElements) throw tooLarge(`more than max_elements (${maxElements}) JSON values in one request`);
        break;
      case 0x7d: // }
      case 0x5d: // ]
        depth--;
        break;
      case 0x2c: // ,
        if (++elements > maxElements) throw tooLarge(`more than max_elements (${maxElements}) JSON values in one request`);
        break;
    }
  }
}

/** Parses an OTLP/JSON body after the pre-scan; the result is checked field by field by the converter. */
export function decodeJsonRequest(bytes: Uint8Array, limits: DecodeLimits): unknown {
  if (bytes.length > limits.maxRequestBytes) throw tooLarge(`request of ${bytes.length} bytes exceeds max_request_bytes (${limits.maxRequestBytes})`);
  scanJson(bytes, limits.maxElements);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw malformed('JSON body is not valid UTF-8', err);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw malformed(`invalid JSON: ${describe(err)}`, err);
  }
}
