/** Parity with the Python pipeline: the real ONNX model in onnxruntime-web vs golden.json probabilities. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Model, sha256Hex } from '../../workers/engine/model';
import { createEngine } from '../../workers/engine/engine';
import { fileFromDisk, fileFromText, modelJson, onnxBytes, path, readyEngine, SAMPLE, SAMPLE_NO_LABEL, THRESHOLD, unwrap } from './helpers';

interface Golden {
  model_sha256: string;
  threshold: number;
  features: string[];
  wafers: { id: string; row: number; values: (number | null)[]; probability: number }[];
  sample: { file: string; probabilities: number[] };
  /** Every training wafer's probability, in time order (= the UCI files' order for SECOM). */
  training: { ids: string[]; probabilities: number[] };
}
const golden = JSON.parse(readFileSync(path('public/models/golden.json'), 'utf8')) as Golden;

describe('golden parity', () => {
  test('golden.json describes the shipped model', async () => {
    expect(await sha256Hex(onnxBytes)).toBe(modelJson.onnx.sha256);
    expect(golden.model_sha256).toBe(modelJson.onnx.sha256);
    expect(golden.features).toEqual(modelJson.features);
    expect(golden.threshold).toBe(modelJson.threshold.value);
    expect(golden.wafers.length).toBeGreaterThan(0);
    expect(golden.sample.probabilities).toHaveLength(100);
  });

  test('scoring golden wafers directly matches Python within 1e-5', async () => {
    const model = await Model.create(modelJson, onnxBytes);
    const nF = modelJson.features.length;
    const matrix = new Float32Array(golden.wafers.length * nF);
    golden.wafers.forEach((w, r) => {
      expect(w.values).toHaveLength(nF);
      w.values.forEach((v, c) => (matrix[r * nF + c] = v === null ? Number.NaN : v));
    });
    const probs = await model.score(matrix, golden.wafers.length);
    golden.wafers.forEach((w, r) => expect(Math.abs((probs[r] as number) - w.probability)).toBeLessThan(1e-5));
    // Not a constant model: the golden set spans a range of probabilities.
    expect(Math.max(...probs) - Math.min(...probs)).toBeGreaterThan(0.1);
  });

  test('every training wafer (training/data, 1175 × 590) scored in onnxruntime-web matches Python within 1e-5', async () => {
    const model = await Model.create(modelJson, onnxBytes);
    const lines = readFileSync(path('training/data/secom_train.data'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(golden.training.probabilities.length);
    const nF = modelJson.features.length;
    const matrix = new Float32Array(lines.length * nF);
    lines.forEach((line, r) => line.trim().split(/\s+/).forEach((t, c) => (matrix[r * nF + c] = t === 'NaN' ? Number.NaN : Number(t))));
    const probs = await model.score(matrix, lines.length);
    let worst = 0;
    golden.training.probabilities.forEach((p, r) => (worst = Math.max(worst, Math.abs((probs[r] as number) - p))));
    expect(worst).toBeLessThan(1e-5);
  });

  test('golden wafers written as a CSV and loaded through load() match', async () => {
    const engine = await readyEngine();
    const header = ['wafer_id', ...modelJson.features].join(',');
    const lines = golden.wafers.map((w) => [w.id, ...w.values.map((v) => (v === null ? '' : String(v)))].join(','));
    const loaded = unwrap(await engine.load(fileFromText(`${header}\n${lines.join('\n')}\n`, 'golden.csv'), THRESHOLD));
    const summary = loaded.summary;
    expect(summary.rows).toBe(golden.wafers.length);
    expect(loaded.results?.scored).toBe(golden.wafers.length);
    expect(summary.idColumn).toBe(0);
    const win = unwrap(await engine.window({ start: 0, count: golden.wafers.length, colStart: 0, colCount: 1, order: 'file' }));
    win.rows.forEach((row, i) => {
      expect(row.name).toBe(golden.wafers[i]?.id);
      expect(Math.abs((row.probability ?? -1) - (golden.wafers[i]?.probability ?? 0))).toBeLessThan(1e-5);
    });
  });

  test.each([SAMPLE, SAMPLE_NO_LABEL])('the sample file %s through load() matches golden sample probabilities', async (rel) => {
    expect(golden.sample.file).toBe('wafer_23012020_041211.csv');
    const engine = await readyEngine();
    const loaded = unwrap(await engine.load(fileFromDisk(rel), THRESHOLD));
    expect(loaded.summary.rows).toBe(100);
    expect(loaded.results?.scored).toBe(100);
    const win = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 0, order: 'file' }));
    expect(win.rows).toHaveLength(100);
    win.rows.forEach((row, i) => {
      expect(row.row).toBe(i);
      expect(Math.abs((row.probability ?? -1) - (golden.sample.probabilities[i] ?? 0))).toBeLessThan(1e-5);
    });
  });

  test('a tampered ONNX file is refused with both hashes', async () => {
    const tampered = onnxBytes.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff;
    const engine = createEngine();
    const res = await engine.initFromBytes(modelJson, tampered);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.error.code).toBe('model-hash-mismatch');
    expect(res.error.message).toContain(modelJson.onnx.sha256);
    expect(res.error.message).toContain(await sha256Hex(tampered));
    // And load() before a model exists is a typed error, not a throw.
    const load = await engine.load(fileFromDisk(SAMPLE), THRESHOLD);
    expect(load.ok === false && load.error.code).toBe('model-not-ready');
  });

  test('init() fetches model.json and the onnx file relative to modelDir', async () => {
    const engine = await readyEngine();
    const res = await engine.init({ modelJson: 'http://x/public/models/model.json', modelDir: 'http://x/public/models' });
    expect(unwrap(res).onnx.sha256).toBe(modelJson.onnx.sha256);
    const missing = await engine.init({ modelJson: 'http://x/public/nothing/model.json', modelDir: 'http://x/public/nothing/' });
    expect(missing.ok === false && missing.error.code).toBe('model-fetch-failed');
  });
});
