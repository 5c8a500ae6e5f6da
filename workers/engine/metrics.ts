/** Evaluation metrics over probabilities (NaN = not scored) and labels (1 fail, 0 pass, -1 unknown). */
import type { Evaluation } from '../api';
import { isFlagged } from '../format';

export const HISTOGRAM_BINS = 20;

export function histogram(probs: Float32Array, bins = HISTOGRAM_BINS): number[] {
  const h = new Array<number>(bins).fill(0);
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    if (Number.isNaN(p)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    h[b] = (h[b] ?? 0) + 1;
  }
  return h;
}

export function countFlagged(probs: Float32Array, threshold: number): { scored: number; flagged: number } {
  let scored = 0;
  let flagged = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    if (Number.isNaN(p)) continue;
    scored++;
    if (isFlagged(p, threshold)) flagged++;
  }
  return { scored, flagged };
}

/**
 * The scores of each class, each sorted ascending: typed arrays sort natively, far faster than an index sort with
 * a comparator, and the results are counted after every edit. Both metrics below walk the two lists together,
 * so they need no ranks.
 */
export interface ClassScores {
  pos: Float64Array;
  neg: Float64Array;
}

export function scoresByClass(scores: ArrayLike<number>, labels: ArrayLike<number>): ClassScores {
  let nPos = 0;
  for (let i = 0; i < scores.length; i++) if (labels[i] === 1) nPos++;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(scores.length - nPos);
  let p = 0;
  let q = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 1) pos[p++] = scores[i] as number;
    else neg[q++] = scores[i] as number;
  }
  return { pos: pos.sort(), neg: neg.sort() };
}

/**
 * ROC-AUC as the Mann–Whitney U over all positive/negative pairs, ties counting half (the same number as the
 * rank-sum with average ranks: both are exact sums of halves). Null when a class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  return rocAucOf(scoresByClass(scores, labels));
}

export function rocAucOf({ pos, neg }: ClassScores): number | null {
  if (pos.length === 0 || neg.length === 0) return null;
  let u = 0;
  let below = 0; // negatives scored lower than the current positive
  let i = 0;
  while (i < pos.length) {
    const s = pos[i] as number;
    while (below < neg.length && (neg[below] as number) < s) below++;
    let tied = 0;
    while (below + tied < neg.length && neg[below + tied] === s) tied++;
    let same = 0; // positives with this score
    while (i < pos.length && pos[i] === s) {
      same++;
      i++;
    }
    u += same * (below + tied / 2);
  }
  return u / (pos.length * neg.length);
}

/** Average precision as sklearn computes it: Σ (R_k − R_{k−1}) · P_k over distinct score thresholds, descending. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  return averagePrecisionOf(scoresByClass(scores, labels));
}

export function averagePrecisionOf({ pos, neg }: ClassScores): number | null {
  const nPos = pos.length;
  if (nPos === 0 || neg.length === 0) return null;
  let prevRecall = 0;
  let ap = 0;
  forEachScoreDown(pos, neg, (_s, tp, fp) => {
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  });
  return ap;
}

/**
 * Walk two ascending score lists from the top, one distinct score at a time: `visit(score, tp, fp)` with the
 * counts of each class at or above it (a wafer is flagged when p ≥ threshold).
 */
export function forEachScoreDown(pos: ArrayLike<number>, neg: ArrayLike<number>, visit: (score: number, tp: number, fp: number) => void): void {
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  while (i >= 0 || j >= 0) {
    const s = Math.max(i >= 0 ? (pos[i] as number) : -Infinity, j >= 0 ? (neg[j] as number) : -Infinity);
    while (i >= 0 && pos[i] === s) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === s) {
      fp++;
      j--;
    }
    visit(s, tp, fp);
  }
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusion(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const flagged = isFlagged(scores[i] as number, threshold);
    if (labels[i] === 1) {
      if (flagged) c.tp++;
      else c.fn++;
    } else if (flagged) c.fp++;
    else c.tn++;
  }
  return c;
}

/** The metrics at a threshold from its confusion counts and the threshold-free areas. */
export function evaluationAt(threshold: number, c: Confusion, areas: Pick<Evaluation, 'rocAuc' | 'prAuc'>): Evaluation {
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : null;
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : null;
  const f1 = recall !== null && precision !== null && recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : recall !== null && precision !== null ? 0 : null;
  return { threshold, evaluated: c.tp + c.fp + c.tn + c.fn, ...c, recall, precision, f1, ...areas };
}

/** Full evaluation over rows with a known label and a probability; null when no row qualifies. */
export function evaluate(probs: Float32Array, labels: Int8Array, threshold: number): Evaluation | null {
  const s: number[] = [];
  const l: number[] = [];
  const n = Math.min(probs.length, labels.length);
  for (let i = 0; i < n; i++) {
    const p = probs[i] as number;
    const y = labels[i] as number;
    if (Number.isNaN(p) || (y !== 0 && y !== 1)) continue;
    s.push(p);
    l.push(y);
  }
  if (s.length === 0) return null;
  const byClass = scoresByClass(s, l);
  return evaluationAt(threshold, confusion(s, l, threshold), { rocAuc: rocAucOf(byClass), prAuc: averagePrecisionOf(byClass) });
}
