/**
 * Exact explanations (workers/engine/explain.ts, treeshap.ts) against the training library: the golden wafers'
 * xgboost pred_contribs within 1e-5 (missing readings included), and, for generated wafers, contributions plus the
 * base value equal the logit of the ONNX model's P(fail).
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { Explainer, validateExplainJson } from '../../workers/engine/explain';
import { Model } from '../../workers/engine/model';
import { TreeExplainer } from '../../workers/engine/treeshap';
import { explainJson, modelJson, onnxBytes, path } from './helpers';

interface GoldenWafer {
  row: number;
  values: (number | null)[];
  probability: number;
  contribs: { bias: number; margin: number; values: Record<string, number> };
}
const golden = JSON.parse(readFileSync(path('public/models/golden.json'), 'utf8')) as { wafers: GoldenWafer[]; model_sensors: string[] };
const features = modelJson.features;
const nF = features.length;
const explainer = Explainer.fromJson(explainJson, features);
const logit = (p: number) => Math.log(p / (1 - p));

function rowOf(values: (number | null)[]): Float32Array {
  return Float32Array.from(values, (v) => (v === null ? Number.NaN : v));
}

/** Max |contribution − golden| over every model feature (absent in golden = 0) and the bias, for one wafer. */
function maxGoldenDiff(w: GoldenWafer, memo: boolean): number {
  const { phi, base } = explainer.explain(rowOf(w.values), memo);
  let worst = Math.abs(base - w.contribs.bias);
  for (let j = 0; j <= nF; j++) worst = Math.max(worst, Math.abs((phi[j] as number) - (w.contribs.values[explainer.featureName(j)] ?? 0)));
  return worst;
}

describe('TreeSHAP parity with xgboost pred_contribs', () => {
  test('every golden wafer, TreeSHAP per tree and the per-pattern tables, within 1e-5 in log-odds', () => {
    expect(golden.wafers.length).toBeGreaterThanOrEqual(30);
    const withMissing = golden.wafers.filter((w) => w.values.filter((v) => v === null).length > 50);
    expect(withMissing.length).toBeGreaterThan(0);
    for (const w of golden.wafers) {
      expect(maxGoldenDiff(w, false), `wafer ${w.row}`).toBeLessThanOrEqual(1e-5);
      expect(maxGoldenDiff(w, true), `wafer ${w.row} (tables)`).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(explainer.explain(rowOf(w.values)).margin - w.contribs.margin)).toBeLessThanOrEqual(1e-5);
    }
  });

  test('a missing reading the trees split on gets a contribution (it follows the default branch)', () => {
    const w = golden.wafers.find((g) => g.values.some((v, j) => v === null && explainer.usedFeatures.includes(j)));
    expect(w).toBeDefined();
    const j = (w as GoldenWafer).values.findIndex((v, k) => v === null && explainer.usedFeatures.includes(k));
    const { phi } = explainer.explain(rowOf((w as GoldenWafer).values));
    expect(phi[j]).toBeCloseTo((w as GoldenWafer).contribs.values[features[j] as string] ?? 0, 6);
  });

  test('the shipped explain.json has the ONNX trees: a bag of 5, 1/5 each, contributions only on the sensors the graph reads', () => {
    expect(explainJson.members.map((m) => m.weight)).toEqual([0.2, 0.2, 0.2, 0.2, 0.2]);
    // the members' inputs (after screening) hold every sensor the trees split on
    const inputs = new Set(explainer.usedFeatures.map((j) => features[j]));
    expect(golden.model_sensors.every((f) => inputs.has(f))).toBe(true);
    for (const w of golden.wafers) for (const f of Object.keys(w.contribs.values)) expect(golden.model_sensors).toContain(f);
  });
});

describe('the sum property: contributions + base = logit of the ONNX P(fail)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.create(modelJson, onnxBytes);
  });

  /** A reading for sensor j: inside or well outside its training range, or missing. */
  const reading = (j: number) => {
    const s = modelJson.sensors[features[j] as string];
    const lo = s?.min ?? -10;
    const hi = s?.max ?? 10;
    const span = hi - lo || 1;
    return fc.oneof(
      { weight: 6, arbitrary: fc.double({ min: lo, max: hi, noNaN: true }) },
      { weight: 1, arbitrary: fc.double({ min: lo - 2 * span, max: hi + 2 * span, noNaN: true }) },
      { weight: 2, arbitrary: fc.constant(Number.NaN) },
    );
  };
  const used = explainer.usedFeatures;
  const wafer = fc.tuple(...used.map((j) => reading(j)), fc.double({ min: 0, max: 1, noNaN: true })).map((vals) => {
    const row = new Float32Array(nF).fill(Number.NaN);
    // The other sensors: missing or not (they change no tree, only a missing count would see them).
    const present = vals.at(-1) as number;
    for (let j = 0; j < nF; j++) if (j / nF < present) row[j] = 0;
    used.forEach((j, k) => (row[j] = vals[k] as number));
    return row;
  });

  test('for generated wafers (readings in and out of range, missing ones)', async () => {
    const rows = fc.sample(wafer, { numRuns: 300, seed: 20080719 });
    const matrix = new Float32Array(rows.length * nF);
    rows.forEach((r, i) => matrix.set(r, i * nF));
    const probs = await model.score(matrix, rows.length);
    rows.forEach((r, i) => {
      const { phi, base, margin } = explainer.explain(r);
      const total = phi.reduce((a, b) => a + b, 0) + base;
      expect(Math.abs(total - margin)).toBeLessThan(1e-9);
      // float32 in onnxruntime: 1500 leaf values summed and a float32 probability; 1e-4 in log-odds covers both.
      expect(Math.abs(total - logit(probs[i] as number))).toBeLessThan(1e-4);
      // contributions only where the trees read
      for (let j = 0; j < nF; j++) if (!used.includes(j)) expect(phi[j]).toBe(0);
    });
  });

  test('a single tree: contributions sum to its leaf minus its expected value, for every path', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 299 }), fc.array(fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constant(Number.NaN)), { minLength: 600, maxLength: 600 }), (k, x) => {
        const member = explainJson.members[0];
        if (member?.kind !== 'trees') throw new Error('expected a trees member');
        const tree = new TreeExplainer(member.trees[k] as never);
        const scaled = Float64Array.from(x, (v, i) => v * (1 + i));
        tree.decide(scaled);
        const phi = tree.computeContributions();
        expect(Math.abs(phi.reduce((a, b) => a + b, 0) - (tree.leafValue() - tree.expected))).toBeLessThan(1e-6);
      }),
    );
  });
});

describe('explain.json validation', () => {
  test('refuses a tree with a child before its parent, and features that differ from model.json', () => {
    const bad = structuredClone(explainJson) as { members: { trees: { left_children: number[] }[] }[] };
    (bad.members[0]?.trees[0] as { left_children: number[] }).left_children[0] = 0;
    expect(() => validateExplainJson(bad, features)).toThrow(/bad child/);
    expect(() => validateExplainJson(explainJson, [...features].reverse())).toThrow(/features differ/);
  });
});

describe('members the shipped model does not have: the missing-reading count, a linear model, weights', () => {
  // Written by tests/training/test_explain.py (mixed_fixture): 0.7 × trees with the count + 0.3 × a median-imputed,
  // robust-scaled logistic regression, with the training library's contributions for 12 wafers.
  const mixed = JSON.parse(readFileSync(path('tests/fixtures/explain-mixed.json'), 'utf8')) as { explain: unknown; wafers: Omit<GoldenWafer, 'row' | 'probability'>[] };
  const mixedExplainer = Explainer.fromJson(mixed.explain, features);

  test('contributions per feature, the count and the bias match Python within 1e-5, and add up to the margin', () => {
    expect(mixedExplainer.usesMissingCount).toBe(true);
    let countSeen = false;
    for (const w of mixed.wafers) {
      for (const tabulated of [true, false]) {
        const { phi, base, margin } = mixedExplainer.explain(rowOf(w.values), tabulated);
        expect(Math.abs(base - w.contribs.bias)).toBeLessThanOrEqual(1e-5);
        for (let j = 0; j <= nF; j++) expect(Math.abs((phi[j] as number) - (w.contribs.values[mixedExplainer.featureName(j)] ?? 0))).toBeLessThanOrEqual(1e-5);
        expect(Math.abs(margin - w.contribs.margin)).toBeLessThanOrEqual(1e-5);
        expect(Math.abs(phi.reduce((a, b) => a + b, 0) + base - margin)).toBeLessThan(1e-9);
        countSeen ||= phi[nF] !== 0;
      }
    }
    expect(countSeen).toBe(true);
  });
});

describe('the per-pattern tables agree with TreeSHAP per tree', () => {
  test('for a member of trees all smaller than the padded table (2 internal nodes, at most 2 inputs)', () => {
    const member = explainJson.members[0];
    if (member?.kind !== 'trees') throw new Error('expected a trees member');
    const twoNodes = member.trees.filter((t) => t.left_children.filter((c) => c !== -1).length === 2);
    expect(twoNodes.length).toBeGreaterThan(5);
    const small = Explainer.fromJson({ ...explainJson, members: [{ ...member, weight: 0.5, trees: twoNodes }] }, features);
    for (const w of golden.wafers) {
      const tables = small.explain(rowOf(w.values));
      const [phi, margin] = [Float64Array.from(tables.phi), tables.margin];
      const perTree = small.explain(rowOf(w.values), false);
      expect(Math.abs(perTree.margin - margin)).toBeLessThan(1e-12);
      for (let j = 0; j <= nF; j++) expect(Math.abs((perTree.phi[j] as number) - (phi[j] as number))).toBeLessThan(1e-12);
    }
  });
});
