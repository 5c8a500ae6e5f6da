/** The shipped public/models/model.json against the ModelJson contract and the ONNX file next to it. */
import { statSync } from 'node:fs';
import { expect, test } from 'vitest';
import { sha256Hex, validateModelJson } from '../../workers/engine/model';
import { modelJson, onnxBytes, path } from './helpers';

test('model.json passes the engine validation and matches the ONNX file', async () => {
  const m = validateModelJson(modelJson);
  expect(m.features).toHaveLength(590);
  expect(m.bundle?.format).toBe(2);
  expect(Object.keys(m.bundle?.files ?? {})).toEqual(expect.arrayContaining(['golden', 'report']));
  expect(new Set(m.features).size).toBe(590);
  expect(m.onnx.file).toBe('secom-xgb.onnx');
  expect(m.onnx.bytes).toBe(statSync(path(`public/models/${m.onnx.file}`)).size);
  expect(await sha256Hex(onnxBytes)).toBe(m.onnx.sha256);
  expect(m.threshold.value).toBeGreaterThan(0);
  expect(m.threshold.value).toBeLessThan(1);
  expect(m.threshold.rule.length).toBeGreaterThan(10);
});

test('aliases refer to known features and never map one header to two features', () => {
  const owner = new Map<string, string>();
  for (const [feature, aliases] of Object.entries(modelJson.aliases)) {
    expect(modelJson.features).toContain(feature);
    for (const a of [feature, ...aliases]) {
      const key = a.trim().toLowerCase();
      const prev = owner.get(key);
      if (prev !== undefined) expect(prev).toBe(feature);
      owner.set(key, feature);
    }
  }
  // Label and id names do not collide with sensor names.
  for (const n of [...modelJson.label.column_names, ...modelJson.id_column_names]) expect(owner.has(n.trim().toLowerCase())).toBe(false);
});

test('metrics, sensors and provenance have the documented shape', () => {
  // The shipped SECOM data has a time column: the forward-in-time headline and the 75/25 split are present.
  const { rolling_origin: ro, cv, time_forward: tf } = modelJson.metrics;
  if (!ro || !tf) throw new Error('the shipped model.json lacks the forward-in-time metrics');
  expect(ro.rows).toBeGreaterThanOrEqual(Math.floor(modelJson.training.rows / 2));
  for (const protocol of [ro, cv, tf]) {
    for (const key of ['roc_auc', 'pr_auc', 'balanced_error_rate', 'g_mean', 'recall', 'precision', 'f1', 'flagged_share'] as const) {
      const metric = protocol[key];
      expect(metric.value).toBeGreaterThanOrEqual(0);
      expect(metric.value).toBeLessThanOrEqual(1);
      expect(metric.ci95[0]).toBeLessThanOrEqual(metric.ci95[1]);
    }
    expect(protocol.rows).toBeGreaterThan(protocol.fails);
  }
  expect(Object.keys(modelJson.sensors).sort()).toEqual([...modelJson.features].sort());
  for (const s of Object.values(modelJson.sensors)) {
    expect(s.missing_rate).toBeGreaterThanOrEqual(0);
    expect(s.missing_rate).toBeLessThanOrEqual(1);
  }
  expect(modelJson.label.fail_values.length).toBeGreaterThan(0);
  expect(modelJson.label.pass_values.length).toBeGreaterThan(0);
  expect(Number.isNaN(Date.parse(modelJson.created))).toBe(false);
  expect(modelJson.limitations.length).toBeGreaterThan(0);
});

test('validation rejects inconsistent descriptions with model-invalid', () => {
  const broken = [
    { ...modelJson, features: [] },
    { ...modelJson, features: ['a', 'a'] },
    { ...modelJson, onnx: { ...modelJson.onnx, sha256: 'nope' } },
    { ...modelJson, threshold: { value: 2, rule: '' } },
    null,
  ];
  for (const b of broken) expect(() => validateModelJson(b)).toThrowError(expect.objectContaining({ code: 'model-invalid' }));
});
