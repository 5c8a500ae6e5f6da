/**
 * Path-dependent TreeSHAP for one xgboost tree, a port of xgboost's `TreeShap` (src/predictor/cpu_treeshap.cc,
 * after Lundberg et al., "Consistent individualized feature attribution for tree ensembles"): the contributions
 * `pred_contribs` gives. Pure and allocation-free per call; the tree comes from explain.json (xgboost's JSON-model
 * arrays with `sum_hessian`, the node covers the ONNX file does not carry).
 *
 * A row enters only through its branch decisions (`decide`): a reading goes left when float32(x) < the split's
 * float32 threshold, and a missing one follows the default branch, as in xgboost. So a tree's contributions are a
 * function of the decisions at its internal nodes (a "decision pattern"), which lets explain.ts tabulate small
 * trees once per pattern: a depth-2 tree has 3 internal nodes, so 8 patterns, and a wafer then costs 3 compares
 * and 3 additions per tree.
 */

/** One tree as explain.json gives it (docs/bundle.md). */
export interface ExplainTreeJson {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: number[];
  sum_hessian: number[];
}

/** The unique path of the recursion: one slot per path element, in one buffer for every depth (as in xgboost). */
interface PathBuffer {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;
}

function newPathBuffer(maxDepth: number): PathBuffer {
  // Offsets grow by (depth + 1) per level below the root, plus the root's copy: (D+2)(D+3)/2 slots suffice.
  const size = ((maxDepth + 3) * (maxDepth + 4)) / 2;
  return { feature: new Int32Array(size), zero: new Float64Array(size), one: new Float64Array(size), weight: new Float64Array(size) };
}

function extendPath(p: PathBuffer, off: number, depth: number, zero: number, one: number, feature: number): void {
  p.feature[off + depth] = feature;
  p.zero[off + depth] = zero;
  p.one[off + depth] = one;
  p.weight[off + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    p.weight[off + i + 1] = (p.weight[off + i + 1] as number) + (one * (p.weight[off + i] as number) * (i + 1)) / (depth + 1);
    p.weight[off + i] = (zero * (p.weight[off + i] as number) * (depth - i)) / (depth + 1);
  }
}

function unwindPath(p: PathBuffer, off: number, depth: number, pathIndex: number): void {
  const one = p.one[off + pathIndex] as number;
  const zero = p.zero[off + pathIndex] as number;
  let next = p.weight[off + depth] as number;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = p.weight[off + i] as number;
      p.weight[off + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - ((p.weight[off + i] as number) * zero * (depth - i)) / (depth + 1);
    } else {
      p.weight[off + i] = ((p.weight[off + i] as number) * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = pathIndex; i < depth; i++) {
    p.feature[off + i] = p.feature[off + i + 1] as number;
    p.zero[off + i] = p.zero[off + i + 1] as number;
    p.one[off + i] = p.one[off + i + 1] as number;
  }
}

/** The total permutation weight of the path with element `pathIndex` taken out (without changing the path). */
function unwoundPathSum(p: PathBuffer, off: number, depth: number, pathIndex: number): number {
  const one = p.one[off + pathIndex] as number;
  const zero = p.zero[off + pathIndex] as number;
  let next = p.weight[off + depth] as number;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = (p.weight[off + i] as number) - tmp * zero * ((depth - i) / (depth + 1));
    } else if (zero !== 0) {
      total += (p.weight[off + i] as number) / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

export class TreeExplainer {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly split: Int32Array;
  /** float32 thresholds; at a leaf, the leaf value. */
  readonly cond: Float32Array;
  readonly defaultLeft: Uint8Array;
  readonly cover: Float64Array;
  /** The tree's expected value over the training rows (cover-weighted leaf mean): its share of the bias. */
  readonly expected: number;
  /** Internal node ids, in order: bit k of a decision pattern is the decision at internal[k]. */
  readonly internal: Int32Array;
  private readonly maxDepth: number;
  private readonly path: PathBuffer;
  /** Per node: 1 when the row goes left (internal nodes only). */
  private readonly dirs: Uint8Array;
  /** The distinct inputs the tree splits on (ascending): the order of computeContributions' answer. */
  readonly inputs: Int32Array;
  private readonly scratch: Float64Array;

  constructor(t: ExplainTreeJson) {
    const n = t.left_children.length;
    this.left = Int32Array.from(t.left_children);
    this.right = Int32Array.from(t.right_children);
    this.split = Int32Array.from(t.split_indices);
    this.cond = Float32Array.from(t.split_conditions);
    this.defaultLeft = Uint8Array.from(t.default_left);
    this.cover = Float64Array.from(t.sum_hessian);
    this.dirs = new Uint8Array(n);
    const internal: number[] = [];
    for (let i = 0; i < n; i++) if ((this.left[i] as number) !== -1) internal.push(i);
    this.internal = Int32Array.from(internal);
    this.inputs = Int32Array.from([...new Set(internal.map((i) => this.split[i] as number))].sort((a, b) => a - b));
    this.maxDepth = this.depthOf(0);
    this.path = newPathBuffer(this.maxDepth);
    this.expected = this.meanValue(0);
    this.scratch = new Float64Array(Math.max(1, (this.inputs.at(-1) ?? 0) + 1));
  }

  private isLeaf(node: number): boolean {
    return (this.left[node] as number) === -1;
  }

  private depthOf(node: number): number {
    if (this.isLeaf(node)) return 0;
    return 1 + Math.max(this.depthOf(this.left[node] as number), this.depthOf(this.right[node] as number));
  }

  private meanValue(node: number): number {
    if (this.isLeaf(node)) return this.cond[node] as number;
    const l = this.left[node] as number;
    const r = this.right[node] as number;
    return (this.meanValue(l) * (this.cover[l] as number) + this.meanValue(r) * (this.cover[r] as number)) / (this.cover[node] as number);
  }

  /** The branch decisions for one row of member inputs (NaN = missing); answers the decision pattern. */
  decide(x: ArrayLike<number>): number {
    let pattern = 0;
    for (let k = 0; k < this.internal.length; k++) {
      const node = this.internal[k] as number;
      const v = x[this.split[node] as number] as number;
      const goLeft = Number.isNaN(v) ? (this.defaultLeft[node] as number) === 1 : Math.fround(v) < (this.cond[node] as number);
      this.dirs[node] = goLeft ? 1 : 0;
      if (goLeft && k < 31) pattern |= 1 << k;
    }
    return pattern;
  }

  /** The leaf value the last decided row reaches. */
  leafValue(): number {
    let node = 0;
    while (!this.isLeaf(node)) node = (this.dirs[node] as number) === 1 ? (this.left[node] as number) : (this.right[node] as number);
    return this.cond[node] as number;
  }

  /** Set the branch decisions from a pattern (bit k: internal[k] goes left), as if a row had been decided. */
  setPattern(pattern: number): void {
    for (let k = 0; k < this.internal.length; k++) this.dirs[this.internal[k] as number] = (pattern >>> k) & 1;
  }

  /** TreeSHAP of the last decided row (or set pattern): the contributions per entry of `inputs`. */
  computeContributions(): Float64Array {
    const phi = this.scratch.fill(0);
    this.recurse(phi, 0, 0, 0, 1, 1, -1);
    return Float64Array.from(this.inputs, (i) => phi[i] as number);
  }

  private recurse(phi: Float64Array, node: number, depthIn: number, parentOff: number, parentZero: number, parentOne: number, parentFeature: number): void {
    const p = this.path;
    let depth = depthIn;
    const off = parentOff + depth + 1;
    for (let i = 0; i <= depth; i++) {
      p.feature[off + i] = p.feature[parentOff + i] as number;
      p.zero[off + i] = p.zero[parentOff + i] as number;
      p.one[off + i] = p.one[parentOff + i] as number;
      p.weight[off + i] = p.weight[parentOff + i] as number;
    }
    extendPath(p, off, depth, parentZero, parentOne, parentFeature);
    if (this.isLeaf(node)) {
      const leaf = this.cond[node] as number;
      for (let i = 1; i <= depth; i++) {
        const w = unwoundPathSum(p, off, depth, i);
        const f = p.feature[off + i] as number;
        phi[f] = (phi[f] as number) + w * ((p.one[off + i] as number) - (p.zero[off + i] as number)) * leaf;
      }
      return;
    }
    const goLeft = (this.dirs[node] as number) === 1;
    const hot = goLeft ? (this.left[node] as number) : (this.right[node] as number);
    const cold = goLeft ? (this.right[node] as number) : (this.left[node] as number);
    const w = this.cover[node] as number;
    const hotZero = (this.cover[hot] as number) / w;
    const coldZero = (this.cover[cold] as number) / w;
    const feature = this.split[node] as number;
    let incomingZero = 1;
    let incomingOne = 1;
    let pathIndex = 0;
    while (pathIndex <= depth && (p.feature[off + pathIndex] as number) !== feature) pathIndex++;
    // The feature was split on above: undo its earlier extension, so it is counted once on the path.
    if (pathIndex !== depth + 1) {
      incomingZero = p.zero[off + pathIndex] as number;
      incomingOne = p.one[off + pathIndex] as number;
      unwindPath(p, off, depth, pathIndex);
      depth -= 1;
    }
    this.recurse(phi, hot, depth + 1, off, hotZero * incomingZero, incomingOne, feature);
    this.recurse(phi, cold, depth + 1, off, coldZero * incomingZero, 0, feature);
  }
}
