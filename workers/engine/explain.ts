/**
 * Exact per-wafer explanations from explain.json (docs/bundle.md): path-dependent TreeSHAP for tree members
 * (treeshap.ts), the exact linear attribution coef·(x' − mean x') for linear members, summed over members with
 * their weights. Contributions are in log-odds of P(fail); they plus `base` equal the model's margin.
 */
import { fail } from './errors';
import { TreeExplainer, type ExplainTreeJson } from './treeshap';

/** Member input meaning "the count of missing readings over all model features". */
export const MISSING_COUNT_INPUT = -1;

interface TreesMemberJson {
  kind: 'trees';
  weight: number;
  base_margin: number;
  inputs: number[];
  trees: ExplainTreeJson[];
}

interface LinearMemberJson {
  kind: 'linear';
  weight: number;
  inputs: number[];
  impute: number[];
  center: number[];
  scale: number[];
  mean: number[];
  /** The scaled reading is clipped to [−clip, clip]; null or absent: not clipped. */
  clip?: number | null;
  coef: number[];
  intercept: number;
}

export interface ExplainJson {
  format: 1;
  output: 'margin';
  features: string[];
  missing_count_name: string;
  members: (TreesMemberJson | LinearMemberJson)[];
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNumArray = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number' && Number.isFinite(v));

function invalid(what: string): never {
  return fail('model-invalid', `The explanation file (explain.json) is invalid: ${what}.`);
}

function checkInputs(inputs: unknown, nFeatures: number, where: string): number[] {
  if (!isNumArray(inputs) || !inputs.every((j) => Number.isInteger(j) && j >= MISSING_COUNT_INPUT && j < nFeatures)) invalid(`${where}: inputs must be feature indices or -1`);
  return inputs as number[];
}

function checkTree(t: unknown, nInputs: number, where: string): ExplainTreeJson {
  if (!isObj(t)) return invalid(`${where} is not an object`);
  const keys = ['left_children', 'right_children', 'split_indices', 'split_conditions', 'default_left', 'sum_hessian'] as const;
  const n = Array.isArray(t['left_children']) ? t['left_children'].length : 0;
  for (const k of keys) if (!isNumArray(t[k]) || t[k].length !== n || n === 0) invalid(`${where}.${k} must be ${n || 'a non-empty list of'} numbers`);
  const tree = t as unknown as ExplainTreeJson;
  for (let i = 0; i < n; i++) {
    const l = tree.left_children[i] as number;
    const r = tree.right_children[i] as number;
    if (l === -1) continue;
    // Children come after their parent in xgboost's arrays: this also rules out cycles.
    if (!(l > i && l < n && r > i && r < n) || !((tree.split_indices[i] as number) >= 0 && (tree.split_indices[i] as number) < nInputs)) invalid(`${where} node ${i} has a bad child or split index`);
  }
  return tree;
}

/** Check the shape the explainer relies on; throws 'model-invalid' naming the first problem. */
export function validateExplainJson(x: unknown, features: string[]): ExplainJson {
  if (!isObj(x)) return invalid('not a JSON object');
  if (x['format'] !== 1 || x['output'] !== 'margin') invalid('unknown format (expected format 1, output "margin")');
  const names = x['features'];
  if (!Array.isArray(names) || names.length !== features.length || names.some((f, i) => f !== features[i])) invalid('its features differ from model.json');
  if (typeof x['missing_count_name'] !== 'string') invalid('missing "missing_count_name"');
  const members = x['members'];
  if (!Array.isArray(members) || members.length === 0) invalid('no members');
  (members as unknown[]).forEach((m, k) => {
    const where = `member ${k}`;
    if (!isObj(m) || typeof m['weight'] !== 'number') return invalid(`${where} has no weight`);
    const inputs = checkInputs(m['inputs'], features.length, where);
    if (m['kind'] === 'trees') {
      if (typeof m['base_margin'] !== 'number' || !Array.isArray(m['trees'])) invalid(`${where} needs base_margin and trees`);
      (m['trees'] as unknown[]).forEach((t, i) => checkTree(t, inputs.length, `${where} tree ${i}`));
    } else if (m['kind'] === 'linear') {
      for (const key of ['impute', 'center', 'scale', 'mean', 'coef']) if (!isNumArray(m[key]) || m[key].length !== inputs.length) invalid(`${where}.${key} must have one number per input`);
      if (typeof m['intercept'] !== 'number') invalid(`${where} has no intercept`);
      if (m['clip'] !== undefined && m['clip'] !== null && !(typeof m['clip'] === 'number' && m['clip'] > 0)) invalid(`${where}.clip must be a positive number or null`);
    } else invalid(`${where} has unknown kind ${String(m['kind'])}`);
  });
  return x as unknown as ExplainJson;
}

/** One row's explanation: contributions per model feature, the missing-count pseudo-feature's, base and margin. */
export interface RowContributions {
  /** Indexed by model feature; index nFeatures is the missing-reading count. Reused between calls. */
  phi: Float64Array;
  base: number;
  margin: number;
}

/** Trees up to this many internal nodes are tabulated per decision pattern (2^k rows each). */
const TABULATE_MAX_INTERNAL = 10;

/**
 * A trees member, flattened for speed: the tabulated trees as struct-of-arrays (their internal nodes' split
 * input, float32 threshold and default branch; per pattern the leaf value and the contributions to the tree's
 * inputs), the others kept as TreeExplainers and run per row.
 */
interface CompiledTrees {
  kind: 'trees';
  weight: number;
  baseMargin: number;
  inputs: Int32Array;
  trees: TreeExplainer[];
  table: TreeTable;
  /** Trees too large to tabulate. */
  untabulated: TreeExplainer[];
  /** The member's input values of the current row (float32-rounded), and its contributions by member input. */
  x: Float64Array;
  phi: Float64Array;
}

interface TreeTable {
  count: number;
  /** Per tree: first internal node in the node arrays, and how many. */
  nodeStart: Int32Array;
  nodeCount: Int32Array;
  split: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  /** Per tree: first of its 2^k patterns in `leaf`, and first of its inputs in `treeInputs`. */
  patternStart: Int32Array;
  leaf: Float64Array;
  inputStart: Int32Array;
  inputCount: Int32Array;
  treeInputs: Int32Array;
  /** Per tree: where its pattern × inputs block of contributions starts in `values`. */
  valueStart: Int32Array;
  values: Float64Array;
}

function tabulate(trees: TreeExplainer[]): TreeTable {
  const count = trees.length;
  const nodeStart = new Int32Array(count);
  const nodeCount = new Int32Array(count);
  const patternStart = new Int32Array(count);
  const inputStart = new Int32Array(count);
  const inputCount = new Int32Array(count);
  const valueStart = new Int32Array(count);
  let nodes = 0;
  let patterns = 0;
  let inputs = 0;
  let values = 0;
  trees.forEach((t, i) => {
    const k = t.internal.length;
    nodeStart[i] = nodes;
    nodeCount[i] = k;
    patternStart[i] = patterns;
    inputStart[i] = inputs;
    inputCount[i] = t.inputs.length;
    valueStart[i] = values;
    nodes += k;
    patterns += 1 << k;
    inputs += t.inputs.length;
    values += (1 << k) * t.inputs.length;
  });
  const table: TreeTable = {
    count,
    nodeStart,
    nodeCount,
    split: new Int32Array(nodes),
    threshold: new Float32Array(nodes),
    defaultLeft: new Uint8Array(nodes),
    patternStart,
    leaf: new Float64Array(patterns),
    inputStart,
    inputCount,
    treeInputs: new Int32Array(inputs),
    valueStart,
    values: new Float64Array(values),
  };
  trees.forEach((t, i) => fillTable(table, t, i));
  return table;
}

function fillTable(table: TreeTable, t: TreeExplainer, i: number): void {
  t.internal.forEach((node, k) => {
    const at = (table.nodeStart[i] as number) + k;
    table.split[at] = t.split[node] as number;
    table.threshold[at] = t.cond[node] as number;
    table.defaultLeft[at] = t.defaultLeft[node] as number;
  });
  table.treeInputs.set(t.inputs, table.inputStart[i] as number);
  const width = t.inputs.length;
  for (let pattern = 0; pattern < 1 << t.internal.length; pattern++) {
    t.setPattern(pattern);
    table.leaf[(table.patternStart[i] as number) + pattern] = t.leafValue();
    table.values.set(t.computeContributions(), (table.valueStart[i] as number) + pattern * width);
  }
}

interface CompiledLinear {
  kind: 'linear';
  weight: number;
  inputs: Int32Array;
  json: LinearMemberJson;
  /** Its contributions by member input, reused per row. */
  phi: Float64Array;
}

export class Explainer {
  /** The feature indices any member reads (ascending), and whether the missing count is one of its inputs. */
  readonly usedFeatures: number[];
  readonly usesMissingCount: boolean;
  readonly base: number;
  private readonly members: (CompiledTrees | CompiledLinear)[];
  private readonly out: RowContributions;

  private constructor(
    readonly json: ExplainJson,
    readonly nFeatures: number,
  ) {
    this.members = json.members.map((m) => this.compile(m));
    const inputs = json.members.flatMap((m) => m.inputs);
    this.usedFeatures = [...new Set(inputs.filter((j) => j !== MISSING_COUNT_INPUT))].sort((a, b) => a - b);
    this.usesMissingCount = inputs.includes(MISSING_COUNT_INPUT);
    this.base = this.members.reduce((sum, m) => sum + m.weight * memberBase(m), 0);
    this.out = { phi: new Float64Array(nFeatures + 1), base: this.base, margin: 0 };
  }

  static fromJson(x: unknown, features: string[]): Explainer {
    return new Explainer(validateExplainJson(x, features), features.length);
  }

  /** From an explain.json already checked by validateExplainJson (the engine checks at load, compiles on first use). */
  static fromValidJson(json: ExplainJson, nFeatures: number): Explainer {
    return new Explainer(json, nFeatures);
  }

  /** The name of contribution index `i` (a model feature, or the missing-reading count). */
  featureName(i: number): string {
    return i === this.nFeatures ? this.json.missing_count_name : (this.json.features[i] as string);
  }

  private compile(m: TreesMemberJson | LinearMemberJson): CompiledTrees | CompiledLinear {
    const inputs = Int32Array.from(m.inputs);
    if (m.kind === 'linear') return { kind: 'linear', weight: m.weight, inputs, json: m, phi: new Float64Array(inputs.length) };
    const trees = m.trees.map((t) => new TreeExplainer(t));
    const small = trees.filter((t) => t.internal.length <= TABULATE_MAX_INTERNAL);
    const untabulated = trees.filter((t) => t.internal.length > TABULATE_MAX_INTERNAL);
    const table = tabulate(small);
    return { kind: 'trees', weight: m.weight, baseMargin: m.base_margin, inputs, trees, table, untabulated, x: new Float64Array(inputs.length), phi: new Float64Array(inputs.length) };
  }

  /**
   * Explain one row of model features (float32 readings, NaN = missing). `tabulated` off runs TreeSHAP on every
   * tree (for tests of the tables); the answer's arrays are reused by the next call.
   */
  explain(row: ArrayLike<number>, tabulated = true): RowContributions {
    const phi = this.out.phi.fill(0);
    const missing = this.usesMissingCount ? countMissing(row, this.nFeatures) : 0;
    let margin = 0;
    for (const m of this.members) {
      const value = m.kind === 'trees' ? explainTrees(m, row, missing, tabulated) : explainLinear(m, row, missing);
      margin += m.weight * value.margin;
      const contributions = value.phi;
      for (let k = 0; k < m.inputs.length; k++) {
        const j = m.inputs[k] as number;
        const at = j === MISSING_COUNT_INPUT ? this.nFeatures : j;
        phi[at] = (phi[at] as number) + m.weight * (contributions[k] as number);
      }
    }
    this.out.margin = margin;
    return this.out;
  }
}

function countMissing(row: ArrayLike<number>, n: number): number {
  let missing = 0;
  for (let j = 0; j < n; j++) if (Number.isNaN(row[j] as number)) missing++;
  return missing;
}

function memberBase(m: CompiledTrees | CompiledLinear): number {
  if (m.kind === 'trees') return m.trees.reduce((sum, t) => sum + t.expected, m.baseMargin);
  const { coef, mean, intercept } = m.json;
  return coef.reduce((sum, c, k) => sum + c * (mean[k] as number), intercept);
}

function inputValue(row: ArrayLike<number>, j: number, missing: number): number {
  return j === MISSING_COUNT_INPUT ? missing : (row[j] as number);
}

function explainTrees(m: CompiledTrees, row: ArrayLike<number>, missing: number, tabulated: boolean): { phi: Float64Array; margin: number } {
  const x = m.x;
  // float32 once per input, so the compares below are xgboost's float32 compares (NaN stays NaN)
  for (let k = 0; k < m.inputs.length; k++) x[k] = Math.fround(inputValue(row, m.inputs[k] as number, missing));
  const phi = m.phi.fill(0);
  if (!tabulated) return { phi, margin: m.baseMargin + runTrees(m.trees, x, phi) };
  return { phi, margin: m.baseMargin + lookUpTrees(m.table, x, phi) + runTrees(m.untabulated, x, phi) };
}

/** TreeSHAP per tree, for trees too large to tabulate (and for tests of the tables); answers the leaf sum. */
function runTrees(trees: TreeExplainer[], x: Float64Array, phi: Float64Array): number {
  let margin = 0;
  for (const t of trees) {
    t.decide(x);
    margin += t.leafValue();
    const values = t.computeContributions();
    for (let k = 0; k < t.inputs.length; k++) phi[t.inputs[k] as number] = (phi[t.inputs[k] as number] as number) + (values[k] as number);
  }
  return margin;
}

/** The hot loop of the download: per tabulated tree, its decision pattern, then a table look-up; answers the leaf sum. */
function lookUpTrees(tb: TreeTable, x: Float64Array, phi: Float64Array): number {
  // Locals, not property loads in the loop: this runs 300 times per wafer.
  const { count, nodeStart, nodeCount, split, threshold, defaultLeft, patternStart, leaf, inputStart, inputCount, treeInputs, valueStart, values } = tb;
  let margin = 0;
  for (let t = 0; t < count; t++) {
    const start = nodeStart[t] as number;
    const end = start + (nodeCount[t] as number);
    let pattern = 0;
    for (let q = start, bit = 1; q < end; q++, bit <<= 1) {
      const v = x[split[q] as number] as number;
      // v !== v: missing (NaN), which follows the default branch
      if (v !== v ? defaultLeft[q] === 1 : v < (threshold[q] as number)) pattern |= bit;
    }
    margin += leaf[(patternStart[t] as number) + pattern] as number;
    const width = inputCount[t] as number;
    const first = inputStart[t] as number;
    const at = (valueStart[t] as number) + pattern * width;
    for (let q = 0; q < width; q++) {
      const i = treeInputs[first + q] as number;
      phi[i] = (phi[i] as number) + (values[at + q] as number);
    }
  }
  return margin;
}

function explainLinear(m: CompiledLinear, row: ArrayLike<number>, missing: number): { phi: Float64Array; margin: number } {
  const { impute, center, scale, mean, coef, intercept } = m.json;
  const clip = m.json.clip ?? Number.POSITIVE_INFINITY;
  const phi = m.phi;
  let margin = intercept;
  for (let k = 0; k < m.inputs.length; k++) {
    const v = inputValue(row, m.inputs[k] as number, missing);
    const scaled = ((Number.isNaN(v) ? (impute[k] as number) : v) - (center[k] as number)) / (scale[k] as number);
    const x = Math.min(clip, Math.max(-clip, scaled));
    phi[k] = (coef[k] as number) * (x - (mean[k] as number));
    margin += (coef[k] as number) * x;
  }
  return { phi, margin };
}
