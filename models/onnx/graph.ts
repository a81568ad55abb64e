// Builds an ONNX ModelProto node by node. Large initializers go to external data as they
// are added; the graph itself holds only names, shapes and small constants.
import type { ExternalDataWriter } from './external-data.ts';
import { ProtoWriter } from './protobuf.ts';

/** onnx.TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** Below this many bytes an initializer is stored inline, above it in the external file. */
const INLINE_LIMIT = 1024;

export type Dim = number | string;

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  ints: (value: number[]): Attribute => ({ kind: 'ints', value }),
};

export interface NodeOptions {
  /** Output names, or how many outputs to name automatically (default 1). `''` skips an optional output. */
  outputs?: string[] | number;
  attrs?: Record<string, Attribute>;
  domain?: string;
  /** Prefix for the node and automatic output names, to keep the graph readable. */
  name?: string;
}

export interface Opset {
  domain: string;
  version: number;
}

type TypedData = Float32Array | Uint8Array | Int32Array | BigInt64Array | Uint16Array;

function bytesOf(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function valueInfo(name: string, elemType: DataTypeId, dims: Dim[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, type);
}

function attributeProto(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      return w.float(2, a.value).int(20, 1);
    case 'int':
      return w.int(3, a.value).int(20, 2);
    case 'string':
      return w.string(4, a.value).int(20, 3);
    case 'ints':
      for (const v of a.value) w.int(8, v);
      return w.int(20, 7);
  }
}

export class GraphBuilder {
  private readonly nodes: ProtoWriter[] = [];
  private readonly initializers: ProtoWriter[] = [];
  private readonly inputs: ProtoWriter[] = [];
  private readonly outputs: ProtoWriter[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** Without `external`, every initializer must be small enough to be stored inline. */
  constructor(private readonly external?: ExternalDataWriter) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph: duplicate value name ${name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: DataTypeId, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node. */
  output(name: string, elemType: DataTypeId, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  initializer(name: string, elemType: DataTypeId, dims: number[], data: TypedData): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const bytes = bytesOf(data);
    const width = elemType === DataType.INT64 ? 8 : elemType === DataType.FLOAT || elemType === DataType.INT32 ? 4 : elemType === DataType.FLOAT16 ? 2 : 1;
    if (bytes.length !== count * width) {
      throw new Error(`ONNX graph: initializer ${name} has ${bytes.length} bytes, shape [${dims}] needs ${count * width}`);
    }
    const t = new ProtoWriter();
    for (const d of dims) t.int(1, d);
    t.int(2, elemType).string(8, this.claim(name));
    if (bytes.length <= INLINE_LIMIT) {
      t.bytes(9, bytes);
    } else {
      if (!this.external) throw new Error(`ONNX graph: initializer ${name} (${bytes.length} bytes) needs an external data file`);
      const loc = this.external.append(bytes);
      const entry = (key: string, value: string) => new ProtoWriter().string(1, key).string(2, value);
      t.message(13, entry('location', loc.location));
      t.message(13, entry('offset', String(loc.offset)));
      t.message(13, entry('length', String(loc.length)));
      t.int(14, 1);
    }
    this.initializers.push(t);
    return name;
  }

  /** Small constants: an int64 vector, a float scalar, … stored inline. */
  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.initializer(name, DataType.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
  }

  float32s(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.initializer(name, DataType.FLOAT, dims, Float32Array.from(values));
  }

  node(opType: string, inputs: string[], options: NodeOptions = {}): string[] {
    const prefix = options.name ?? opType;
    const nodeName = `${prefix}#${this.counter++}`;
    const requested = options.outputs ?? 1;
    const outputs =
      typeof requested === 'number'
        ? Array.from({ length: requested }, (_, i) => this.claim(requested === 1 ? `${prefix}/out#${this.counter}` : `${prefix}/out${i}#${this.counter}`))
        : requested.map((n) => (n === '' ? n : this.claim(n)));
    const n = new ProtoWriter();
    for (const i of inputs) n.string(1, i);
    for (const o of outputs) n.string(2, o);
    n.string(3, nodeName).string(4, opType);
    if (options.domain) n.string(7, options.domain);
    for (const [key, value] of Object.entries(options.attrs ?? {})) n.message(5, attributeProto(key, value));
    this.nodes.push(n);
    return outputs;
  }

  /** A node with exactly one output, returned by name. */
  op(opType: string, inputs: string[], options: Omit<NodeOptions, 'outputs'> & { output?: string } = {}): string {
    const { output, ...rest } = options;
    return this.node(opType, inputs, { ...rest, outputs: output ? [output] : 1 })[0]!;
  }

  serialize(graphName: string, opsets: Opset[]): Uint8Array {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, graphName);
    for (const t of this.initializers) g.message(5, t);
    for (const i of this.inputs) g.message(11, i);
    for (const o of this.outputs) g.message(12, o);
    const model = new ProtoWriter().int(1, 8).string(2, 'xllm-ts');
    for (const o of opsets) model.message(8, new ProtoWriter().string(1, o.domain).int(2, o.version));
    return model.message(7, g).finish();
  }
}
