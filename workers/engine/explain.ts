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

/** Trees up to this many internal nodes are tabulated per decision pattern (2^k patterns × their inputs each). */
const TABULATE_MAX_INTERNAL = 8;
/**
 * Trees with at most this many internal nodes (depth ≤ 2: the shipped bag's) share one table padded to exactly
 * this many nodes and inputs, which lookUpSmall walks unrolled and without branches: 1.5× faster than the
 * general loop in V8 (which does not unroll a loop over a runtime count), whose mispredicted branches on the
 * readings cost more than the look-ups.
 */
const SMALL = 3;

/**
 * Every row the explainer reads is first copied into one float32 "wide row": the model features, then the
 * missing-reading count, then a constant 0 the padding nodes split on (0 < 1: they always go left). Copying
 * rounds each reading to float32 once, so the compares are xgboost's float32 compares (NaN stays NaN).
 */
const countSlot = (nFeatures: number) => nFeatures;
const padSlot = (nFeatures: number) => nFeatures + 1;
const PAD_THRESHOLD = 1;

/**
 * Tabulated trees flattened into fixed strides for the download's hot loop: per tree `k` internal nodes (wide-row
 * slot, float32 threshold, default branch) and, per decision pattern, the leaf value and the contributions to its
 * `width` inputs, with the member's weight folded in. A smaller tree is padded: nodes that always go left (their
 * pattern bits always set) and inputs whose contributions (0) go to the pad slot, which nobody reads.
 */
interface TreeTable {
  count: number;
  k: number;
  width: number;
  slot: Int32Array;
  threshold: Float32Array;
  /** 1 where a missing reading goes left. */
  defaultLeft: Int32Array;
  /** count × 2^k: the weighted leaf value per pattern (bit q: internal node q goes left). */
  leaf: Float64Array;
  /** count × width: the contribution slot of each input (model feature, missing count, or the pad slot). */
  target: Int32Array;
  /** count × 2^k × width: the weighted contributions per pattern. */
  values: Float64Array;
}

/** One tree with its inputs as wide-row slots, and its member's weight. */
interface WeightedTree {
  tree: TreeExplainer;
  weight: number;
}

/** A table of `trees` padded to `k` internal nodes and `width` inputs (by default the most any tree has). */
function tabulate(trees: WeightedTree[], k: number, pad: number, width = Math.max(1, ...trees.map(({ tree }) => tree.inputs.length))): TreeTable {
  const count = trees.length;
  const patterns = 1 << k;
  const table: TreeTable = {
    count,
    k,
    width,
    slot: new Int32Array(count * k).fill(pad),
    threshold: new Float32Array(count * k).fill(PAD_THRESHOLD),
    defaultLeft: new Int32Array(count * k).fill(1),
    leaf: new Float64Array(count * patterns),
    target: new Int32Array(count * width).fill(pad),
    values: new Float64Array(count * patterns * width),
  };
  trees.forEach(({ tree, weight }, t) => {
    const real = tree.internal.length;
    tree.internal.forEach((node, q) => {
      table.slot[t * k + q] = tree.split[node] as number;
      table.threshold[t * k + q] = tree.cond[node] as number;
      table.defaultLeft[t * k + q] = tree.defaultLeft[node] as number;
    });
    table.target.set(tree.inputs, t * width);
    const padBits = (patterns - 1) ^ ((1 << real) - 1);
    for (let pattern = 0; pattern < 1 << real; pattern++) {
      tree.setPattern(pattern);
      const row = t * patterns + (pattern | padBits);
      table.leaf[row] = weight * tree.leafValue();
      const values = tree.computeContributions();
      for (let q = 0; q < values.length; q++) table.values[row * width + q] = weight * (values[q] as number);
    }
  });
  return table;
}

/**
 * The trees sorted by how they are walked: the small ones in one SMALL × SMALL table, the larger tabulated ones in
 * a table per size, and the rest (single leaves, and trees too large for a table) kept for TreeSHAP per row.
 */
function tabulateAll(trees: WeightedTree[], pad: number): { small: TreeTable | null; larger: TreeTable[]; untabulated: WeightedTree[] } {
  const bySize = new Map<number, WeightedTree[]>();
  for (const t of trees) {
    const k = t.tree.internal.length;
    const key = k === 0 || k > TABULATE_MAX_INTERNAL ? -1 : Math.max(k, SMALL);
    const group = bySize.get(key);
    if (group) group.push(t);
    else bySize.set(key, [t]);
  }
  const small = bySize.get(SMALL);
  const larger: TreeTable[] = [];
  for (let k = SMALL + 1; k <= TABULATE_MAX_INTERNAL; k++) {
    const sized = bySize.get(k);
    if (sized) larger.push(tabulate(sized, k, pad));
  }
  return { small: small ? tabulate(small, SMALL, pad, SMALL) : null, larger, untabulated: bySize.get(-1) ?? [] };
}

interface CompiledLinear {
  weight: number;
  /** Its inputs as wide-row slots. */
  inputs: Int32Array;
  json: LinearMemberJson;
}

export class Explainer {
  /** The feature indices any member reads (ascending), and whether the missing count is one of its inputs. */
  readonly usedFeatures: number[];
  readonly usesMissingCount: boolean;
  readonly base: number;
  /** Every tree of every trees member (for TreeSHAP per tree), the tabulated ones by size, and the others. */
  private readonly trees: WeightedTree[];
  private readonly small: TreeTable | null;
  private readonly larger: TreeTable[];
  private readonly untabulated: WeightedTree[];
  private readonly baseMargin: number;
  private readonly linear: CompiledLinear[];
  private readonly wide: Float32Array;
  /** phi over every wide-row slot (the last one discards padding); `out.phi` is its model-feature + count view. */
  private readonly phiWide: Float64Array;
  private readonly out: RowContributions;

  private constructor(
    readonly json: ExplainJson,
    readonly nFeatures: number,
  ) {
    const slotOf = (j: number) => (j === MISSING_COUNT_INPUT ? countSlot(nFeatures) : j);
    this.trees = json.members.flatMap((m) => (m.kind === 'trees' ? m.trees.map((t) => ({ tree: new TreeExplainer({ ...t, split_indices: t.split_indices.map((i) => slotOf(m.inputs[i] as number)) }), weight: m.weight })) : []));
    ({ small: this.small, larger: this.larger, untabulated: this.untabulated } = tabulateAll(this.trees, padSlot(nFeatures)));
    this.baseMargin = json.members.reduce((sum, m) => sum + (m.kind === 'trees' ? m.weight * m.base_margin : 0), 0);
    this.linear = json.members.flatMap((m) => (m.kind === 'linear' ? [{ weight: m.weight, inputs: Int32Array.from(m.inputs, slotOf), json: m }] : []));
    const inputs = json.members.flatMap((m) => m.inputs);
    this.usedFeatures = [...new Set(inputs.filter((j) => j !== MISSING_COUNT_INPUT))].sort((a, b) => a - b);
    this.usesMissingCount = inputs.includes(MISSING_COUNT_INPUT);
    this.base = this.trees.reduce((sum, { tree, weight }) => sum + weight * tree.expected, this.baseMargin) + this.linear.reduce((sum, m) => sum + m.weight * linearBase(m.json), 0);
    // The pad slot stays 0: explain() writes only the features and the count.
    this.wide = new Float32Array(nFeatures + 2);
    this.phiWide = new Float64Array(nFeatures + 2);
    this.out = { phi: this.phiWide.subarray(0, nFeatures + 1), base: this.base, margin: 0 };
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

  /**
   * Explain one row of model features (float32 readings, NaN = missing). `tabulated` off runs TreeSHAP on every
   * tree (for tests of the tables); the answer's arrays are reused by the next call.
   */
  explain(row: ArrayLike<number>, tabulated = true): RowContributions {
    const nF = this.nFeatures;
    const x = this.wide;
    if (row.length !== nF) throw new RangeError(`explain(): a row has ${nF} readings, not ${row.length}`);
    x.set(row);
    x[countSlot(nF)] = this.usesMissingCount ? countMissing(x, nF) : 0;
    const phi = this.phiWide.fill(0);
    let margin = this.baseMargin;
    if (tabulated) {
      if (this.small) margin += lookUpSmall(this.small, x, phi);
      for (const table of this.larger) margin += lookUp(table, x, phi);
      margin += runTrees(this.untabulated, x, phi);
    } else margin += runTrees(this.trees, x, phi);
    for (const m of this.linear) margin += m.weight * explainLinear(m, x, phi);
    this.out.margin = margin;
    return this.out;
  }
}

function countMissing(row: ArrayLike<number>, n: number): number {
  let missing = 0;
  for (let j = 0; j < n; j++) if (Number.isNaN(row[j] as number)) missing++;
  return missing;
}

function linearBase({ coef, mean, intercept }: LinearMemberJson): number {
  return coef.reduce((sum, c, k) => sum + c * (mean[k] as number), intercept);
}

/** TreeSHAP per tree, for trees too large to tabulate (and for tests of the tables); answers the weighted leaf sum. */
function runTrees(trees: WeightedTree[], x: Float32Array, phi: Float64Array): number {
  let margin = 0;
  for (const { tree, weight } of trees) {
    tree.decide(x);
    margin += weight * tree.leafValue();
    const values = tree.computeContributions();
    for (let q = 0; q < tree.inputs.length; q++) phi[tree.inputs[q] as number] = (phi[tree.inputs[q] as number] as number) + weight * (values[q] as number);
  }
  return margin;
}

/**
 * Whether a reading goes left at a node, as 1 or 0 and without a branch (the readings make branches unpredictable):
 * below the threshold, or missing (v !== v) where the default branch is left.
 */
function goesLeft(v: number, threshold: number, defaultLeft: number): number {
  return +(v < threshold) | (+(v !== v) & defaultLeft);
}

/**
 * The hot loop of the download, for the SMALL table: per tree its decision pattern, then one table row added;
 * answers the leaf sum. Unrolled, with locals rather than property loads: it runs 1,500 times per wafer for the
 * shipped bag.
 */
function lookUpSmall(tb: TreeTable, x: Float32Array, phi: Float64Array): number {
  const { count, slot, threshold, defaultLeft, leaf, target, values } = tb;
  let margin = 0;
  for (let t = 0, n = 0; t < count; t++, n += SMALL) {
    const pattern =
      goesLeft(x[slot[n] as number] as number, threshold[n] as number, defaultLeft[n] as number) |
      (goesLeft(x[slot[n + 1] as number] as number, threshold[n + 1] as number, defaultLeft[n + 1] as number) << 1) |
      (goesLeft(x[slot[n + 2] as number] as number, threshold[n + 2] as number, defaultLeft[n + 2] as number) << 2);
    const row = (t << SMALL) + pattern;
    margin += leaf[row] as number;
    const at = row * SMALL;
    const i0 = target[n] as number;
    const i1 = target[n + 1] as number;
    const i2 = target[n + 2] as number;
    phi[i0] = (phi[i0] as number) + (values[at] as number);
    phi[i1] = (phi[i1] as number) + (values[at + 1] as number);
    phi[i2] = (phi[i2] as number) + (values[at + 2] as number);
  }
  return margin;
}

/** lookUpSmall for tables of larger trees (any k and width). */
function lookUp(tb: TreeTable, x: Float32Array, phi: Float64Array): number {
  const { count, k, width, slot, threshold, defaultLeft, leaf, target, values } = tb;
  const patterns = 1 << k;
  let margin = 0;
  for (let t = 0, node = 0; t < count; t++) {
    let pattern = 0;
    for (let q = 0; q < k; q++, node++) {
      pattern |= goesLeft(x[slot[node] as number] as number, threshold[node] as number, defaultLeft[node] as number) << q;
    }
    const row = t * patterns + pattern;
    margin += leaf[row] as number;
    for (let q = 0, at = row * width, to = t * width; q < width; q++) {
      const i = target[to + q] as number;
      phi[i] = (phi[i] as number) + (values[at + q] as number);
    }
  }
  return margin;
}

/** A linear member's exact attribution coef·(x' − mean x') added to phi (weighted); answers its margin. */
function explainLinear(m: CompiledLinear, x: Float32Array, phi: Float64Array): number {
  const { impute, center, scale, mean, coef, intercept } = m.json;
  const clip = m.json.clip ?? Number.POSITIVE_INFINITY;
  let margin = intercept;
  for (let k = 0; k < m.inputs.length; k++) {
    const v = x[m.inputs[k] as number] as number;
    const scaled = ((Number.isNaN(v) ? (impute[k] as number) : v) - (center[k] as number)) / (scale[k] as number);
    const clipped = Math.min(clip, Math.max(-clip, scaled));
    const slot = m.inputs[k] as number;
    phi[slot] = (phi[slot] as number) + m.weight * (coef[k] as number) * (clipped - (mean[k] as number));
    margin += (coef[k] as number) * clipped;
  }
  return margin;
}
