/**
 * The input columns the model reads, from the ONNX file itself (a TreeEnsembleClassifier's nodes_featureids on
 * its branch nodes, or a linear model's Gather indices), so the coverage rule counts exactly the sensors the model
 * uses. A minimal protobuf walk: ModelProto.graph (7) → GraphProto.node (1) / initializer (5) → NodeProto.input
 * (1) / op_type (4) / attribute (5) → AttributeProto.name (1) / ints (8) / strings (9); TensorProto.int64_data (7)
 * / name (8) / raw_data (9).
 */
import { fail } from './errors';

interface Field {
  field: number;
  /** Varint value (wire type 0), else 0. */
  value: number;
  /** Payload span of a length-delimited field (wire type 2). */
  start: number;
  end: number;
  wire: number;
}

function readVarint(b: Uint8Array, at: { i: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = b[at.i++];
    if (byte === undefined) throw new Error('truncated varint');
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value;
    scale *= 128;
  }
}

/** The fields of a message in b[start, end). */
function messageFields(b: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  const at = { i: start };
  while (at.i < end) {
    const key = readVarint(b, at);
    const wire = key % 8;
    const field = Math.floor(key / 8);
    if (wire === 0) out.push({ field, wire, value: readVarint(b, at), start: 0, end: 0 });
    else if (wire === 2) {
      const len = readVarint(b, at);
      out.push({ field, wire, value: 0, start: at.i, end: at.i + len });
      at.i += len;
    } else if (wire === 1) at.i += 8;
    else if (wire === 5) at.i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  if (at.i !== end) throw new Error('truncated message');
  return out;
}

const text = (b: Uint8Array, f: Field) => new TextDecoder().decode(b.subarray(f.start, f.end));

/** An attribute's repeated int64 values, packed or not. */
function ints(b: Uint8Array, attribute: Field[]): number[] {
  const values: number[] = [];
  for (const f of attribute) {
    if (f.field !== 8) continue;
    if (f.wire === 0) values.push(f.value);
    else for (const at = { i: f.start }; at.i < f.end; ) values.push(readVarint(b, at));
  }
  return values;
}

/** An initializer's int64 values (raw_data little-endian, or int64_data), by tensor name. */
function int64Initializer(b: Uint8Array, graph: Field[], name: string): number[] | null {
  for (const init of graph.filter((f) => f.field === 5 && f.wire === 2)) {
    const parts = messageFields(b, init.start, init.end);
    const n = parts.find((f) => f.field === 8 && f.wire === 2);
    if (!n || text(b, n) !== name) continue;
    const raw = parts.find((f) => f.field === 9 && f.wire === 2);
    if (raw) {
      const view = new DataView(b.buffer, b.byteOffset + raw.start, raw.end - raw.start);
      return Array.from({ length: view.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
    }
    const values: number[] = [];
    for (const f of parts.filter((p) => p.field === 7)) {
      if (f.wire === 0) values.push(f.value);
      else for (const at = { i: f.start }; at.i < f.end; ) values.push(readVarint(b, at));
    }
    return values;
  }
  return null;
}

/**
 * Indices (ascending) of the input columns the model reads: the columns some tree splits on, or — for a
 * linear model — the columns its Gather node selects (all columns without one). A composed graph may feed
 * the trees one extra column after the sensors, the in-graph count of missing readings (an IsNaN node);
 * that column is derived from every sensor and is not itself a sensor, so it is left out.
 */
export function treeFeatureIndices(onnx: Uint8Array, inputWidth: number): number[] {
  const used = new Set<number>();
  let trees = 0;
  let linear = false;
  let hasMissingCount = false;
  let gathered: number[] | null = null;
  try {
    const graphField = messageFields(onnx, 0, onnx.length).find((f) => f.field === 7 && f.wire === 2);
    const graph = graphField ? messageFields(onnx, graphField.start, graphField.end) : [];
    const nodes = graph.filter((f) => f.field === 1 && f.wire === 2);
    for (const node of nodes) {
      const fields = messageFields(onnx, node.start, node.end);
      const opType = fields.find((f) => f.field === 4 && f.wire === 2);
      const op = opType ? text(onnx, opType) : '';
      if (op === 'IsNaN') hasMissingCount = true;
      if (op === 'LinearClassifier') linear = true;
      if (op === 'Gather') {
        const inputs = fields.filter((f) => f.field === 1 && f.wire === 2).map((f) => text(onnx, f));
        gathered = inputs[1] === undefined ? null : int64Initializer(onnx, graph, inputs[1]);
      }
      if (!op.startsWith('TreeEnsemble')) continue;
      trees++;
      const attributes = new Map<string, Field[]>();
      for (const a of fields.filter((f) => f.field === 5 && f.wire === 2)) {
        const parts = messageFields(onnx, a.start, a.end);
        const name = parts.find((f) => f.field === 1 && f.wire === 2);
        if (name) attributes.set(text(onnx, name), parts);
      }
      const featureIds = ints(onnx, attributes.get('nodes_featureids') ?? []);
      const modes = (attributes.get('nodes_modes') ?? []).filter((f) => f.field === 9 && f.wire === 2).map((f) => text(onnx, f));
      if (modes.length !== featureIds.length) throw new Error('nodes_modes and nodes_featureids differ in length');
      featureIds.forEach((id, k) => {
        if (modes[k] !== 'LEAF') used.add(id);
      });
    }
  } catch (e) {
    fail('model-invalid', `The model file could not be read to find the sensors it uses: ${e instanceof Error ? e.message : String(e)}.`);
  }
  if (trees === 0 && linear) {
    for (const i of gathered ?? Array.from({ length: inputWidth }, (_, k) => k)) used.add(i);
  }
  if (hasMissingCount) used.delete(inputWidth);
  if ((trees === 0 && !linear) || used.size === 0) fail('model-invalid', 'The model file has no tree ensemble or linear model, so the sensors it uses are unknown.');
  const indices = [...used].sort((a, b) => a - b);
  if ((indices.at(-1) as number) >= inputWidth) fail('model-invalid', `The model file uses input column ${indices.at(-1) as number}, beyond the ${inputWidth} features model.json lists.`);
  return indices;
}
