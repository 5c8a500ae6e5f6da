/** ROC, PR, reliability and cost counts (workers/engine/curves.ts) against direct counts, and through the engine. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectedCost } from '../../workers/cost';
import { COST_GRID, costCounts, reliability, rocPr, sortedByClass } from '../../workers/engine/curves';
import { averagePrecision, rocAuc } from '../../workers/engine/metrics';
import { bundleFiles, fileFromText, loadOk, path, readyEngine, SAMPLE, SAMPLE_NO_LABEL, THRESHOLD, unwrap } from './helpers';

const p = [0.05, 0.1, 0.1, 0.2, 0.35, 0.4, 0.4, 0.6, 0.8, 0.9, 0.95, 0.3];
const y = [0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0];
const { pos, neg } = sortedByClass(p, y);

describe('curves', () => {
  it('the ROC polygon has the Mann–Whitney area and the PR steps the average precision', () => {
    const { roc, pr } = rocPr(pos, neg);
    let area = 0;
    for (let k = 1; k < roc.length; k++) area += ((roc[k]!.x - roc[k - 1]!.x) * (roc[k]!.y + roc[k - 1]!.y)) / 2;
    expect(area).toBeCloseTo(rocAuc(p, y)!, 12);
    let ap = 0;
    let prev = 0;
    for (const q of pr) {
      ap += (q.x - prev) * q.y;
      prev = q.x;
    }
    expect(ap).toBeCloseTo(averagePrecision(p, y)!, 12);
    expect(roc.at(-1)).toMatchObject({ x: 1, y: 1 });
  });

  it('reliability bins count every wafer with its mean prediction and fail rate', () => {
    const bins = reliability(pos, neg);
    expect(bins.reduce((n, b) => n + b.wafers, 0)).toBe(p.length);
    for (const b of bins) {
      const inBin = p.map((v, i) => ({ v, y: y[i]! })).filter(({ v }) => v >= b.lo && (b.hi === 1 ? v <= 1 : v < b.hi));
      expect(b.wafers).toBe(inBin.length);
      expect(b.meanPredicted).toBeCloseTo(inBin.reduce((s, x) => s + x.v, 0) / inBin.length, 12);
      expect(b.observedFailRate).toBeCloseTo(inBin.filter((x) => x.y === 1).length / inBin.length, 12);
    }
  });

  it('cost counts are the misses (p < t) and false alarms (p ≥ t) at each grid threshold', () => {
    const c = costCounts(pos, neg);
    COST_GRID.forEach((t, i) => {
      expect(c.missed[i]).toBe(p.filter((v, k) => y[k] === 1 && v < t).length);
      expect(c.falseAlarms[i]).toBe(p.filter((v, k) => y[k] === 0 && v >= t).length);
    });
  });

  it('the expected cost is minimised where a brute force over the grid finds it', () => {
    const c = costCounts(pos, neg);
    for (const [miss, fa] of [
      [10, 1],
      [1, 1],
      [1, 10],
    ] as const) {
      const { cost, best } = expectedCost(c, miss, fa);
      const brute = COST_GRID.map((t) => p.reduce((s, v, k) => s + (y[k] === 1 ? (v < t ? miss : 0) : v >= t ? fa : 0), 0) / p.length);
      expect(cost).toEqual(brute.map((b) => expect.closeTo(b, 12)));
      expect(cost[best]).toBe(Math.min(...brute));
      expect(brute.findIndex((b) => b === Math.min(...brute))).toBe(best);
    }
    // a miss costing far more than a false alarm pushes the threshold down
    expect(expectedCost(c, 100, 1).best).toBeLessThan(expectedCost(c, 1, 100).best);
  });
});

describe('engine curves()', () => {
  it('answers the curves of the labelled sample and the training out-of-fold cost counts', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(readFileSync(path(SAMPLE), 'utf8'), 'sample.csv'));
    const curves = unwrap(await engine.curves());
    expect(curves).not.toBeNull();
    const results = unwrap(await engine.summarize(THRESHOLD)).results!;
    const ev = results.evaluation!;
    expect(curves!.file.fails).toBe(ev.tp + ev.fn);
    expect(curves!.file.passes).toBe(ev.fp + ev.tn);
    const oof = JSON.parse(new TextDecoder().decode(bundleFiles['reference'])) as { oof: { y: number[] } };
    expect(curves!.training?.fails).toBe(oof.oof.y.filter((y) => y === 1).length);
    expect(curves!.training?.passes).toBe(oof.oof.y.filter((y) => y === 0).length);
    expect(curves!.training?.protocol).toBeTruthy();
    expect(curves!.reliability.reduce((n, b) => n + b.wafers, 0)).toBe(ev.evaluated);
  });

  it('answers null for a file without labels', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(readFileSync(path(SAMPLE_NO_LABEL), 'utf8'), 'test2.csv'));
    expect(unwrap(await engine.curves())).toBeNull();
  });
});
