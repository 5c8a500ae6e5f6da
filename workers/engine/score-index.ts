/**
 * The labelled scores of a session kept sorted by class, with their threshold-free areas (ROC-AUC, PR-AUC), so
 * that the results at any threshold need no sort and a re-scored or relabelled wafer shifts one value instead of
 * sorting again. The results follow every edit and every threshold move, over up to millions of rows: the
 * counts (scored, the histogram, and the flagged count at the last threshold asked for) follow each change too,
 * so an edit costs no pass over the rows; a new threshold costs one.
 */
import type { Evaluation, ResultsSummary } from '../api';
import { isFlagged } from '../format';
import { averagePrecisionOf, countFlagged, evaluationAt, HISTOGRAM_BINS, histogram, rocAucOf, type ClassScores } from './metrics';

/** The results the scores give (the session adds the coverage counts). */
export type ScoreResults = Omit<ResultsSummary, 'modelSensors' | 'lowCoverage' | 'lowCoverageScored' | 'lowCoverageWafers'>;

/** Index of the first value ≥ x in an ascending array (its length when none): the count of values below x. */
export function countBelow(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One class's scores, ascending, in a buffer with room to grow: a change shifts the values after it in place, so
 * an edit allocates nothing.
 */
class SortedScores {
  private constructor(
    private buffer: Float64Array,
    private length: number,
  ) {}

  static of(sorted: Float64Array): SortedScores {
    return new SortedScores(sorted, sorted.length);
  }

  /** The values, as a view valid until the next change. */
  get values(): Float64Array {
    return this.buffer.subarray(0, this.length);
  }

  add(x: number): void {
    if (this.length === this.buffer.length) {
      const grown = new Float64Array(Math.ceil(this.length * 1.25) + 16);
      grown.set(this.values);
      this.buffer = grown;
    }
    const at = countBelow(this.values, x);
    this.buffer.copyWithin(at + 1, at, this.length);
    this.buffer[at] = x;
    this.length++;
  }

  remove(x: number): void {
    const at = countBelow(this.values, x);
    if (at >= this.length || this.buffer[at] !== x) throw new Error(`score index: ${x} is not indexed`);
    this.buffer.copyWithin(at, at + 1, this.length);
    this.length--;
  }
}

/** A row counts in the evaluation when it is scored and its label is known. */
const isEvaluated = (p: number, y: number) => !Number.isNaN(p) && (y === 0 || y === 1);

function binOf(p: number): number {
  return Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(p * HISTOGRAM_BINS)));
}

export class ScoreIndex {
  private areas: Pick<Evaluation, 'rocAuc' | 'prAuc'> | null = null;
  /** The flagged count at the last threshold asked for. */
  private flaggedAt: { threshold: number; flagged: number } | null = null;

  private constructor(
    private readonly pos: SortedScores,
    private readonly neg: SortedScores,
    private scored: number,
    private readonly bins: number[],
  ) {}

  static build(probs: Float32Array, labels: Int8Array): ScoreIndex {
    let nPos = 0;
    let nNeg = 0;
    for (let i = 0; i < probs.length; i++) {
      if (!isEvaluated(probs[i] as number, labels[i] as number)) continue;
      if (labels[i] === 1) nPos++;
      else nNeg++;
    }
    const pos = new Float64Array(nPos);
    const neg = new Float64Array(nNeg);
    let kp = 0;
    let kn = 0;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i] as number;
      if (!isEvaluated(p, labels[i] as number)) continue;
      if (labels[i] === 1) pos[kp++] = p;
      else neg[kn++] = p;
    }
    const { scored } = countFlagged(probs, 1);
    return new ScoreIndex(SortedScores.of(pos.sort()), SortedScores.of(neg.sort()), scored, histogram(probs));
  }

  /** One row's (probability, label) changed from `before` to `after` (NaN = unscored, -1 = unknown). */
  change(before: { p: number; y: number }, after: { p: number; y: number }): void {
    this.count(before.p, -1);
    this.count(after.p, +1);
    if (isEvaluated(before.p, before.y)) this.classOf(before.y).remove(before.p);
    if (isEvaluated(after.p, after.y)) this.classOf(after.y).add(after.p);
    if (isEvaluated(before.p, before.y) || isEvaluated(after.p, after.y)) this.areas = null;
  }

  private count(p: number, sign: 1 | -1): void {
    if (Number.isNaN(p)) return;
    this.scored += sign;
    this.bins[binOf(p)] = (this.bins[binOf(p)] as number) + sign;
    if (this.flaggedAt && isFlagged(p, this.flaggedAt.threshold)) this.flaggedAt.flagged += sign;
  }

  private classOf(y: number): SortedScores {
    return y === 1 ? this.pos : this.neg;
  }

  /** The evaluated scores of each class, ascending (views valid until the next change). */
  classScores(): { pos: Float64Array; neg: Float64Array } {
    return { pos: this.pos.values, neg: this.neg.values };
  }

  /** Counts and metrics at `threshold` over `probs` (the rows this index was built from and kept up with). */
  resultsAt(probs: Float32Array, threshold: number, withEvaluation: boolean): ScoreResults {
    if (this.flaggedAt?.threshold !== threshold) this.flaggedAt = { threshold, flagged: countFlagged(probs, threshold).flagged };
    const { scored } = this;
    return {
      rows: probs.length,
      scored,
      threshold,
      flagged: this.flaggedAt.flagged,
      histogram: [...this.bins],
      evaluation: withEvaluation && scored > 0 ? this.evaluation(threshold) : null,
    };
  }

  private evaluation(threshold: number): Evaluation | null {
    const byClass: ClassScores = { pos: this.pos.values, neg: this.neg.values };
    const { pos, neg } = byClass;
    if (pos.length + neg.length === 0) return null;
    const fn = countBelow(pos, threshold);
    const tn = countBelow(neg, threshold);
    this.areas ??= { rocAuc: rocAucOf(byClass), prAuc: averagePrecisionOf(byClass) };
    return evaluationAt(threshold, { tp: pos.length - fn, fp: neg.length - tn, tn, fn }, this.areas);
  }
}

/**
 * Run the results code on synthetic scores while the model loads, so the JIT has compiled it before the first
 * file (the first results come right after the load). Returns the results so the work is not optimized away.
 */
export function warmUpResults(n = 4096): ScoreResults {
  const probs = new Float32Array(n);
  const labels = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    probs[i] = ((i * 7919) % n) / n;
    labels[i] = i % 13 === 0 ? 1 : 0;
  }
  let last = ScoreIndex.build(probs, labels).resultsAt(probs, 0.3, true);
  for (let k = 0; k < 3; k++) {
    const index = ScoreIndex.build(probs, labels);
    index.change({ p: probs[k] as number, y: labels[k] as number }, { p: 0.5, y: 1 });
    probs[k] = 0.5;
    labels[k] = 1;
    last = index.resultsAt(probs, 0.3, true);
  }
  return last;
}
