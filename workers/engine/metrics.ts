/** Evaluation metrics over probabilities (NaN = not scored) and labels (1 fail, 0 pass, -1 unknown). */
import type { Evaluation } from '../api';

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
    if (p >= threshold) flagged++;
  }
  return { scored, flagged };
}

/** ROC-AUC by the rank-sum (Mann–Whitney U) with average ranks for ties. Null when a class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    const s = scores[idx[i] as number] as number;
    while (j + 1 < n && scores[idx[j + 1] as number] === s) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k] as number] === 1) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision as sklearn computes it: Σ (R_k − R_{k−1}) · P_k over distinct score thresholds, descending. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) pos++;
  if (pos === 0 || pos === n) return null;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < n) {
    const s = scores[idx[i] as number] as number;
    while (i < n && scores[idx[i] as number] === s) {
      if (labels[idx[i] as number] === 1) tp++;
      else fp++;
      i++;
    }
    const recall = tp / pos;
    const precision = tp / (tp + fp);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return ap;
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
    const flagged = (scores[i] as number) >= threshold;
    if (labels[i] === 1) {
      if (flagged) c.tp++;
      else c.fn++;
    } else if (flagged) c.fp++;
    else c.tn++;
  }
  return c;
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
  const c = confusion(s, l, threshold);
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : null;
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : null;
  const f1 = recall !== null && precision !== null && recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : recall !== null && precision !== null ? 0 : null;
  return {
    threshold,
    evaluated: s.length,
    ...c,
    recall,
    precision,
    f1,
    rocAuc: rocAuc(s, l),
    prAuc: averagePrecision(s, l),
  };
}

/**
 * Run the results code (counts, histogram, evaluation) on synthetic scores while the model loads, so the JIT has
 * compiled it before the first file: summarizing a 10k-wafer load (on the way to the first results) took
 * 21–24 ms cold and 10–14 ms after this. Returns the evaluation so the work is not optimized away.
 */
export function warmUpMetrics(n = 4096): Evaluation | null {
  const probs = new Float32Array(n);
  const labels = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    probs[i] = ((i * 7919) % n) / n;
    labels[i] = i % 13 === 0 ? 1 : 0;
  }
  let last: Evaluation | null = null;
  for (let k = 0; k < 3; k++) {
    countFlagged(probs, 0.3);
    histogram(probs);
    last = evaluate(probs, labels, 0.3);
  }
  return last;
}
