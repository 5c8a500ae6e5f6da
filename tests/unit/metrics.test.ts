/** Metrics against hand-computed values. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { averagePrecision, confusion, countFlagged, evaluate, histogram, rocAuc } from '../../workers/engine/metrics';

describe('metrics', () => {
  // Scores with labels; hand-computed below.
  const scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
  const labels = [1, 0, 1, 1, 0, 0, 1, 0];

  test('confusion at a threshold (≥ flags)', () => {
    expect(confusion(scores, labels, 0.6)).toEqual({ tp: 3, fp: 1, tn: 3, fn: 1 });
    expect(confusion(scores, labels, 0.95)).toEqual({ tp: 0, fp: 0, tn: 4, fn: 4 });
  });

  test('ROC-AUC by pairs: 11 of 16 positive/negative pairs ordered correctly', () => {
    // Positives 0.9, 0.7, 0.6, 0.3 vs negatives 0.8, 0.55, 0.4, 0.2: 4 + 3 + 3 + 1 = 11.
    expect(rocAuc(scores, labels)).toBeCloseTo(11 / 16, 12);
  });

  test('ROC-AUC counts ties as half', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.1], [1, 0, 1, 0])).toBeCloseTo((1.5 + 1.5) / 4, 12);
    expect(rocAuc([0.5, 0.5], [1, 1])).toBeNull();
  });

  test('average precision as sklearn: Σ ΔR·P', () => {
    // Positives found at ranks 1, 3, 4, 7 → P = 1, 2/3, 3/4, 4/7; each ΔR = 1/4.
    expect(averagePrecision(scores, labels)).toBeCloseTo((1 + 2 / 3 + 3 / 4 + 4 / 7) / 4, 12);
    // Ties form one threshold step: sklearn gives 0.5 for [0.5,0.5] with labels [1,0].
    expect(averagePrecision([0.5, 0.5], [1, 0])).toBeCloseTo(0.5, 12);
    // sklearn.metrics.average_precision_score([1,0,1,0],[0.5,0.5,0.5,0.1]) = 2/3
    expect(averagePrecision([0.5, 0.5, 0.5, 0.1], [1, 0, 1, 0])).toBeCloseTo(2 / 3, 12);
    expect(averagePrecision([0.1, 0.2], [0, 0])).toBeNull();
  });

  test('histogram: 20 bins, 1.0 in the last bin, NaN skipped', () => {
    const h = histogram(new Float32Array([0, 0.049, 0.05, 0.5, 0.99, 1, Number.NaN]));
    expect(h).toHaveLength(20);
    expect(h[0]).toBe(2);
    expect(h[1]).toBe(1);
    expect(h[10]).toBe(1);
    expect(h[19]).toBe(2);
    expect(h.reduce((a, b) => a + b, 0)).toBe(6);
    expect(countFlagged(new Float32Array([0.1, 0.5, Number.NaN, 0.7]), 0.5)).toEqual({ scored: 3, flagged: 2 });
  });

  test('evaluate skips unknown labels and unscored rows', () => {
    const probs = new Float32Array([...scores, 0.99, Number.NaN]);
    const ys = new Int8Array([...labels, -1, 1]);
    const e = evaluate(probs, ys, 0.6);
    expect(e).not.toBeNull();
    expect(e!.evaluated).toBe(8);
    expect([e!.tp, e!.fp, e!.tn, e!.fn]).toEqual([3, 1, 3, 1]);
    expect(e!.recall).toBeCloseTo(0.75, 6);
    expect(e!.precision).toBeCloseTo(0.75, 6);
    expect(e!.f1).toBeCloseTo(0.75, 6);
    expect(e!.rocAuc).toBeCloseTo(11 / 16, 6);
    expect(evaluate(new Float32Array([0.5]), new Int8Array([-1]), 0.5)).toBeNull();
    const noFlags = evaluate(new Float32Array([0.1, 0.2]), new Int8Array([1, 0]), 0.9)!;
    expect(noFlags.precision).toBeNull();
    expect(noFlags.recall).toBe(0);
    expect(noFlags.f1).toBeNull();
  });

  test('ROC-AUC and average precision equal the rank-sum and sorted-sweep definitions exactly (ties included)', () => {
    // The references: an index sort with average ranks (ROC-AUC) and a descending sweep (AP), as sklearn does.
    const refAuc = (sc: number[], ys: number[]): number | null => {
      const idx = sc.map((_, i) => i).sort((a, b) => sc[a]! - sc[b]!);
      const pos = ys.filter((y) => y === 1).length;
      const neg = ys.length - pos;
      if (pos === 0 || neg === 0) return null;
      let rankSum = 0;
      for (let i = 0; i < idx.length; ) {
        let j = i;
        while (j + 1 < idx.length && sc[idx[j + 1]!] === sc[idx[i]!]) j++;
        for (let k = i; k <= j; k++) if (ys[idx[k]!] === 1) rankSum += (i + j) / 2 + 1;
        i = j + 1;
      }
      return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
    };
    const refAp = (sc: number[], ys: number[]): number | null => {
      const pos = ys.filter((y) => y === 1).length;
      if (pos === 0 || pos === ys.length) return null;
      const idx = sc.map((_, i) => i).sort((a, b) => sc[b]! - sc[a]!);
      let tp = 0;
      let fp = 0;
      let prev = 0;
      let ap = 0;
      for (let i = 0; i < idx.length; ) {
        const s0 = sc[idx[i]!]!;
        while (i < idx.length && sc[idx[i]!] === s0) (ys[idx[i++]!] === 1 ? tp++ : fp++);
        ap += (tp / pos - prev) * (tp / (tp + fp));
        prev = tp / pos;
      }
      return ap;
    };
    const sample = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 300 });
    fc.assert(
      fc.property(sample, (pairs) => {
        const sc = pairs.map(([k]) => Math.fround(k / 20));
        const ys = pairs.map(([, y]) => (y ? 1 : 0));
        expect(rocAuc(sc, ys)).toBe(refAuc(sc, ys));
        expect(averagePrecision(sc, ys)).toBe(refAp(sc, ys));
      }),
      { numRuns: 500, seed: 20261201 },
    );
  });
});
