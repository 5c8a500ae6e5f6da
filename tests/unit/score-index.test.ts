/** The sorted-score index gives the results a full pass would, after any sequence of single-row changes. */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { countFlagged, evaluate, histogram } from '../../workers/engine/metrics';
import { ScoreIndex, type ScoreResults } from '../../workers/engine/score-index';

/** The results by full passes over the rows, as the engine computed them before the index. */
function fullPass(probs: Float32Array, labels: Int8Array, threshold: number): ScoreResults {
  const { scored, flagged } = countFlagged(probs, threshold);
  return { rows: probs.length, scored, threshold, flagged, histogram: histogram(probs), evaluation: scored > 0 ? evaluate(probs, labels, threshold) : null };
}

// Probabilities on a coarse grid (ties are common, as with real tree-model outputs), NaN for unscored rows.
const prob = fc.oneof(fc.integer({ min: 0, max: 40 }).map((k) => Math.fround(k / 40)), fc.constant(Number.NaN));
const label = fc.constantFrom(-1, 0, 1);
const row = fc.tuple(prob, label);

test('incremental changes give exactly the full-pass results at every threshold', () => {
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 120 }), fc.array(fc.tuple(fc.nat(), row), { maxLength: 40 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }), (rows, changes, thresholds) => {
      const probs = Float32Array.from(rows.map(([p]) => p));
      const labels = Int8Array.from(rows.map(([, y]) => y));
      const index = ScoreIndex.build(probs, labels);
      for (const [at, [p, y]] of changes) {
        const r = at % rows.length;
        index.change({ p: probs[r]!, y: labels[r]! }, { p, y });
        probs[r] = p;
        labels[r] = y;
        for (const t of Number.isNaN(p) ? thresholds : [...thresholds, Math.fround(p)]) expect(index.resultsAt(probs, t, true)).toEqual(fullPass(probs, labels, t));
      }
      for (const t of thresholds) expect(index.resultsAt(probs, t, true)).toEqual(fullPass(probs, labels, t));
    }),
    { numRuns: 300, seed: 20261201 },
  );
});

test('without a label column there is no evaluation; a change to a value it does not hold is refused loudly', () => {
  const index = ScoreIndex.build(new Float32Array([0.1, 0.6, Number.NaN]), new Int8Array([-1, -1, -1]));
  expect(index.resultsAt(new Float32Array([0.1, 0.6, Number.NaN]), 0.5, false)).toEqual({ rows: 3, scored: 2, threshold: 0.5, flagged: 1, histogram: histogram(new Float32Array([0.1, 0.6])), evaluation: null });
  const labelled = ScoreIndex.build(new Float32Array([0.3]), new Int8Array([1]));
  expect(() => labelled.change({ p: 0.4, y: 1 }, { p: 0.5, y: 1 })).toThrow(/not indexed/);
});
