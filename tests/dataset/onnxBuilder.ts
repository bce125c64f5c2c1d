import onnxProto from 'onnx-proto';

/** Builds tiny ONNX models in tests with onnx-proto, so real onnxruntime runs real graphs. */
const { onnx } = onnxProto;

export type Dim = number | string;
export type ElemType = 'float' | 'int64' | 'bool';

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

export function valueInfo(name: string, type: ElemType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function floatTensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

type AttrValue = number | number[] | string | onnxProto.onnx.ITensorProto;

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue> = {},
): onnxProto.onnx.INodeProto {
  const T = onnx.AttributeProto.AttributeType;
  const attribute = Object.entries(attrs).map(([name, v]): onnxProto.onnx.IAttributeProto => {
    if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
    if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
    if (typeof v === 'number') {
      return Number.isInteger(v) && !Object.is(v, -0)
        ? { name, type: T.INT, i: v }
        : { name, type: T.FLOAT, f: v };
    }
    return { name, type: T.TENSOR, t: v };
  });
  return { opType, input: inputs, output: outputs, attribute, name: `${opType}_${outputs[0]}` };
}

export function buildModel(graph: {
  nodes: onnxProto.onnx.INodeProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  opset?: number;
}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'loraflow-tests',
    opsetImport: [{ domain: '', version: graph.opset ?? 13 }],
    graph: {
      name: 'test',
      node: graph.nodes,
      input: graph.inputs,
      output: graph.outputs,
      initializer: graph.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
