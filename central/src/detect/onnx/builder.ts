// A small builder for the project's ONNX graphs (Tier-2 and Tier-3): named nodes and constants
// without bookkeeping, and the robust statistics the detectors are made of (medians along an
// axis by TopK, slices), so a model's graph reads like its TypeScript reference.
import type { GraphNode, GraphSpec } from './graph.js';

export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly inits: NonNullable<GraphSpec['initializers']>[number][] = [];
  private n = 0;

  private fresh(stem: string): string {
    return `${stem}_${this.n++}`;
  }

  /** A float32 constant. */
  float(values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    const name = this.fresh('c');
    this.inits.push({ name, dims, data: Float32Array.from(values) });
    return name;
  }

  /** A float32 scalar broadcastable against anything. */
  scalar(v: number): string {
    return this.float([v], []);
  }

  /** An int64 constant (shapes, indices, axes, sizes). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh('i');
    this.inits.push({ name, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  /** One node with one output; returns the output's name. */
  op(op: string, inputs: readonly string[], attributes?: GraphNode['attributes'], output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  }

  add(a: string, b: string, out?: string): string {
    return this.op('Add', [a, b], undefined, out);
  }
  sub(a: string, b: string, out?: string): string {
    return this.op('Sub', [a, b], undefined, out);
  }
  mul(a: string, b: string, out?: string): string {
    return this.op('Mul', [a, b], undefined, out);
  }
  div(a: string, b: string, out?: string): string {
    return this.op('Div', [a, b], undefined, out);
  }
  abs(a: string): string {
    return this.op('Abs', [a]);
  }
  max(a: string, b: string): string {
    return this.op('Max', [a, b]);
  }

  /** x[..., start:end, ...] along one axis. */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.op('Slice', [x, this.int64([start]), this.int64([end]), this.int64([axis])]);
  }

  /** The median along `axis` (of static size `size`), keeping the axis (size 1). */
  median(x: string, axis: number, size: number): string {
    const sorted = this.fresh('sorted');
    this.nodes.push({ op: 'TopK', inputs: [x, this.int64([size])], outputs: [sorted, this.fresh('topk_idx')], attributes: { axis: { int: axis }, largest: { int: 1 }, sorted: { int: 1 } } });
    if (size % 2 === 1) return this.op('Gather', [sorted, this.int64([(size - 1) / 2])], { axis: { int: axis } });
    const two = this.op('Gather', [sorted, this.int64([size / 2 - 1, size / 2])], { axis: { int: axis } });
    return this.op('ReduceMean', [two], { axes: { ints: [axis] }, keepdims: { int: 1 } });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.op('Unsqueeze', [x, this.int64(axes)]);
  }

  /** Reshapes to one dimension [batch]. */
  flat(x: string, out: string): string {
    return this.op('Reshape', [x, this.int64([-1])], undefined, out);
  }

  /** The outputs `expected`, `lower` and `upper` ([batch]) from an expectation and a band half-width. */
  band(expected: string, half: string): void {
    this.flat(expected, 'expected');
    this.flat(this.sub(expected, half), 'lower');
    this.flat(this.add(expected, half), 'upper');
  }

  spec(name: string, io: Pick<GraphSpec, 'inputs' | 'outputs'>, metadata?: Record<string, string>): GraphSpec {
    return { name, ...io, nodes: [...this.nodes], initializers: [...this.inits], ...(metadata ? { metadata } : {}) };
  }
}
