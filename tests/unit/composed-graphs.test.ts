/**
 * Composed graphs the training pipeline exports (tests/fixtures/onnx/make_composed.py): a bag whose trees also
 * read the in-graph missing-reading count (IsNaN → Cast → ReduceSum → Concat), and one behind an in-graph median
 * Imputer. onnxruntime-web gives Python's probabilities within 1e-5 on every synthetic wafer (and one with no
 * readings), and the used-sensor reader finds the sensors Python says the trees split on — the count column is not
 * a sensor.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Model, sha256Hex, validateModelJson } from '../../workers/engine/model';
import { treeFeatureIndices } from '../../workers/engine/onnx-trees';
import type { ModelJson } from '../../workers/model-json';
import { path } from './helpers';

const base = JSON.parse(readFileSync(path('tests/fixtures/bundles/synthetic/model.json'), 'utf8')) as ModelJson;

describe.each(['xgb_count_d2_reg', 'xgb_smote_d2_reg'])('composed graph %s', (key) => {
  const bytes = new Uint8Array(readFileSync(path(`tests/fixtures/onnx/${key}.onnx`)));
  const want = JSON.parse(readFileSync(path(`tests/fixtures/onnx/${key}.json`), 'utf8')) as {
    features: string[];
    used: number[];
    values: (number | null)[][];
    probabilities: number[];
  };

  test('the used sensors are the ones the trees split on', () => {
    expect(treeFeatureIndices(bytes, want.features.length)).toEqual(want.used);
  });

  test('onnxruntime-web matches Python within 1e-5 on every wafer, including one without readings', async () => {
    const json = validateModelJson({ ...base, features: want.features, onnx: { ...base.onnx, file: `${key}.onnx`, sha256: await sha256Hex(bytes), bytes: bytes.length } });
    const model = await Model.create(json, bytes);
    const nF = want.features.length;
    const matrix = new Float32Array(want.values.length * nF);
    want.values.forEach((row, r) => row.forEach((v, c) => (matrix[r * nF + c] = v === null ? Number.NaN : v)));
    const probs = await model.score(matrix, want.values.length);
    let worst = 0;
    want.probabilities.forEach((p, r) => (worst = Math.max(worst, Math.abs((probs[r] as number) - p))));
    expect(worst).toBeLessThan(1e-5);
    expect(Math.max(...probs) - Math.min(...probs)).toBeGreaterThan(0.1);
  });
});
