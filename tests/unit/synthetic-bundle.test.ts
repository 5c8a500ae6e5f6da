/**
 * The bundle the training pipeline writes for the synthetic data set (tests/fixtures/bundles/synthetic/, other
 * sensor names and count, Pass/Fail labels, rows out of time order on disk): its golden probabilities through
 * onnxruntime-web within 1e-5, on the golden wafers and on every training wafer loaded from the CSV.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { createEngine } from '../../workers/engine/engine';
import { Explainer } from '../../workers/engine/explain';
import { Model, sha256Hex, validateModelJson } from '../../workers/engine/model';
import { treeFeatureIndices } from '../../workers/engine/onnx-trees';
import type { ModelJson } from '../../workers/model-json';
import { fileFromDisk, path, unwrap } from './helpers';

const DIR = 'tests/fixtures/bundles/synthetic';
const modelJson = validateModelJson(JSON.parse(readFileSync(path(`${DIR}/model.json`), 'utf8')) as ModelJson);
const onnxBytes = new Uint8Array(readFileSync(path(`${DIR}/${modelJson.onnx.file}`)));
interface Golden {
  model_sha256: string;
  threshold: number;
  features: string[];
  wafers: { id: string; values: (number | null)[]; probability: number }[];
  training: { ids: string[]; probabilities: number[] };
}
const golden = JSON.parse(readFileSync(path(`${DIR}/golden.json`), 'utf8')) as Golden;

describe('synthetic bundle parity (onnxruntime-web)', () => {
  test('the bundle is consistent: hashes, features from the data, the golden file listed', async () => {
    expect(modelJson.features).toHaveLength(37);
    expect(modelJson.features[0]).toBe('chamber_pressure_01');
    expect(await sha256Hex(onnxBytes)).toBe(modelJson.onnx.sha256);
    expect(golden.model_sha256).toBe(modelJson.onnx.sha256);
    expect(golden.features).toEqual(modelJson.features);
    const entry = modelJson.bundle?.files['golden'];
    expect(entry?.file).toBe('golden.json');
    expect(entry?.sha256).toBe(await sha256Hex(new Uint8Array(readFileSync(path(`${DIR}/golden.json`)))));
    expect(modelJson.label.fail_values).toContain('Fail');
    // the sensors the model reads are found in the graph (trees or a linear model's Gather)
    const used = treeFeatureIndices(onnxBytes, modelJson.features.length);
    expect(used.length).toBe(modelJson.recipe.selected_features);
  });

  test('golden wafers scored directly match Python within 1e-5', async () => {
    const model = await Model.create(modelJson, onnxBytes);
    const nF = modelJson.features.length;
    const matrix = new Float32Array(golden.wafers.length * nF);
    golden.wafers.forEach((w, r) => w.values.forEach((v, c) => (matrix[r * nF + c] = v === null ? Number.NaN : v)));
    const probs = await model.score(matrix, golden.wafers.length);
    golden.wafers.forEach((w, r) => expect(Math.abs((probs[r] as number) - w.probability), w.id).toBeLessThan(1e-5));
    expect(Math.max(...probs) - Math.min(...probs)).toBeGreaterThan(0.1);
  });

  test('every training wafer of the CSV, loaded through load(), matches Python within 1e-5', async () => {
    const engine = createEngine();
    unwrap(await engine.initFromBytes(modelJson, onnxBytes));
    const loaded = unwrap(await engine.load(fileFromDisk('tests/fixtures/synthetic/synthetic.csv'), golden.threshold));
    expect(loaded.summary.rows).toBe(golden.training.ids.length);
    const win = unwrap(await engine.window({ start: 0, count: loaded.summary.rows, colStart: 0, colCount: 0, order: 'file' }));
    const want = new Map(golden.training.ids.map((id, i) => [id, golden.training.probabilities[i] as number]));
    let worst = 0;
    for (const row of win.rows) {
      const p = want.get(row.name ?? '');
      expect(p, `wafer ${row.name}`).toBeDefined();
      worst = Math.max(worst, Math.abs((row.probability ?? -1) - (p as number)));
    }
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('synthetic bundle explanations (a clipped logistic regression)', () => {
  interface ContribWafer {
    values: (number | null)[];
    probability: number;
    contribs: { bias: number; margin: number; values: Record<string, number> };
  }
  const explainFile = modelJson.bundle?.files['explain']?.file ?? 'explain.json';
  const explainer = Explainer.fromJson(JSON.parse(readFileSync(path(`${DIR}/${explainFile}`), 'utf8')) as unknown, modelJson.features);
  const wafers = (golden as unknown as { wafers: ContribWafer[] }).wafers;

  test('the exact linear attribution matches the training pipeline within 1e-5, clipped readings included, and adds up to the logit', () => {
    let worst = 0;
    for (const w of wafers) {
      const { phi, base, margin } = explainer.explain(Float32Array.from(w.values, (v) => (v === null ? Number.NaN : v)));
      worst = Math.max(worst, Math.abs(base - w.contribs.bias), Math.abs(margin - w.contribs.margin));
      modelJson.features.forEach((f, j) => (worst = Math.max(worst, Math.abs((phi[j] as number) - (w.contribs.values[f] ?? 0)))));
      const sum = base + Array.from(phi).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - Math.log(w.probability / (1 - w.probability)))).toBeLessThan(1e-4);
    }
    expect(wafers.length).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-5);
  });
});
