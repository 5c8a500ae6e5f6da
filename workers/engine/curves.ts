/**
 * The evaluation curves from the scores of each class sorted ascending (the ScoreIndex keeps them): ROC and PR at
 * every distinct score (thinned to at most MAX_POINTS for drawing), a binned reliability curve, and the misses
 * and false alarms on a fixed threshold grid for the cost helper (file and training out-of-fold predictions).
 */
import type { CostCounts, CurvePoint, EvaluationCurves, ReliabilityBin } from '../api';
import { forEachScoreDown } from './metrics';
import { countBelow } from './score-index';

const MAX_POINTS = 400;
export const RELIABILITY_BINS = 10;
/** Thresholds 0, 0.002, …, 1 for the cost curves: finer than the slider's 0.001 steps would be for drawing. */
export const COST_GRID = Array.from({ length: 501 }, (_, i) => i / 500);


/** ROC and PR points at every distinct score, from the highest down (a wafer is flagged when p ≥ threshold). */
export function rocPr(pos: Float64Array, neg: Float64Array): { roc: CurvePoint[]; pr: CurvePoint[] } {
  const roc: CurvePoint[] = [{ threshold: 1.0000001, x: 0, y: 0 }];
  const pr: CurvePoint[] = [];
  forEachScoreDown(pos, neg, (s, tp, fp) => {
    roc.push({ threshold: s, x: neg.length > 0 ? fp / neg.length : 0, y: pos.length > 0 ? tp / pos.length : 0 });
    pr.push({ threshold: s, x: pos.length > 0 ? tp / pos.length : 0, y: tp / (tp + fp) });
  });
  return { roc: thin(roc), pr: thin(pr) };
}

/** At most MAX_POINTS points, evenly spaced along the list, the first and last kept. */
function thin(points: CurvePoint[]): CurvePoint[] {
  if (points.length <= MAX_POINTS) return points;
  const step = (points.length - 1) / (MAX_POINTS - 1);
  return Array.from({ length: MAX_POINTS }, (_, k) => points[Math.round(k * step)] as CurvePoint);
}

/** Equal-width bins of predicted P(fail): wafers, mean prediction and observed fail rate; empty bins left out. */
export function reliability(pos: Float64Array, neg: Float64Array, bins = RELIABILITY_BINS): ReliabilityBin[] {
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const lo = b / bins;
    const hi = (b + 1) / bins;
    // The last bin holds p = 1 too.
    const upper = (a: Float64Array) => (b === bins - 1 ? a.length : countBelow(a, hi));
    const p0 = countBelow(pos, lo);
    const p1 = upper(pos);
    const n0 = countBelow(neg, lo);
    const n1 = upper(neg);
    const wafers = p1 - p0 + (n1 - n0);
    if (wafers === 0) continue;
    let sum = 0;
    for (let k = p0; k < p1; k++) sum += pos[k] as number;
    for (let k = n0; k < n1; k++) sum += neg[k] as number;
    out.push({ lo, hi, wafers, meanPredicted: sum / wafers, observedFailRate: (p1 - p0) / wafers });
  }
  return out;
}

export function costCounts(pos: Float64Array, neg: Float64Array, grid: number[] = COST_GRID): CostCounts {
  return {
    fails: pos.length,
    passes: neg.length,
    missed: grid.map((t) => countBelow(pos, t)),
    falseAlarms: grid.map((t) => neg.length - countBelow(neg, t)),
  };
}

/** Scores split by class, each sorted ascending. */
export function sortedByClass(p: ArrayLike<number>, y: ArrayLike<number>): { pos: Float64Array; neg: Float64Array } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < p.length; i++) (y[i] === 1 ? pos : neg).push(p[i] as number);
  return { pos: Float64Array.from(pos).sort(), neg: Float64Array.from(neg).sort() };
}

export function evaluationCurves(pos: Float64Array, neg: Float64Array, training: { protocol: string; pos: Float64Array; neg: Float64Array } | null): EvaluationCurves {
  return {
    ...rocPr(pos, neg),
    reliability: reliability(pos, neg),
    thresholds: COST_GRID,
    file: costCounts(pos, neg),
    training: training ? { protocol: training.protocol, ...costCounts(training.pos, training.neg) } : null,
  };
}
