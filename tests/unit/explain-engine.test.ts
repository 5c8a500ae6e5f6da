/**
 * Explanations through the engine API: explain() of one wafer from the session's readings (edits included), the
 * download's optional top_sensors column (the default file unchanged), a bundle without or with a tampered
 * explain.json, and reference.json's quantiles.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { WaferExplanation } from '../../workers/api';
import { createEngine } from '../../workers/engine/engine';
import { signedLogOdds } from '../../workers/format';
import { blobText, explainBytes, fileFromDisk, modelJson, onnxBytes, path, readyEngine, SAMPLE, setCell, THRESHOLD, unwrap } from './helpers';

const golden = JSON.parse(readFileSync(path('public/models/golden.json'), 'utf8')) as { model_sensors: string[]; edit_probe: { row: number; feature: string; value: string; probability: number } };
const logit = (p: number) => Math.log(p / (1 - p));
const total = (e: WaferExplanation) => e.contributions.reduce((a, c) => a + c.contribution, e.base);

async function sampleEngine() {
  const engine = await readyEngine();
  unwrap(await engine.load(fileFromDisk(SAMPLE), THRESHOLD));
  return engine;
}

describe('explain() of one wafer', () => {
  test('contributions + base = logit P(fail), largest first, each with the reading', async () => {
    const engine = await sampleEngine();
    for (const row of [0, 17, golden.edit_probe.row, 99]) {
      const e = unwrap(await engine.explain(row));
      expect(e.row).toBe(row);
      expect(e.probability).not.toBeNull();
      expect(Math.abs(total(e) - logit(e.probability as number))).toBeLessThan(1e-4);
      expect(Math.abs(e.margin - logit(e.probability as number))).toBeLessThan(1e-4);
      const sizes = e.contributions.map((c) => Math.abs(c.contribution));
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
      expect(e.contributions.length).toBeGreaterThan(5);
      expect(e.contributions.length).toBeLessThanOrEqual(golden.model_sensors.length);
      for (const c of e.contributions) expect(c.sensor).toBe(modelJson.features[c.feature]);
    }
  });

  test('follows an edit: the edited reading, and the new probability', async () => {
    const engine = await sampleEngine();
    const probe = golden.edit_probe;
    const j = modelJson.features.indexOf(probe.feature);
    const before = unwrap(await engine.explain(probe.row));
    unwrap(await setCell(engine, probe.row, j + 1, probe.value)); // the sample's first column is the id
    const after = unwrap(await engine.explain(probe.row));
    expect(after.probability).toBeCloseTo(probe.probability, 5);
    expect(Math.abs(total(after) - logit(probe.probability))).toBeLessThan(1e-4);
    const sensor = after.contributions.find((c) => c.sensor === probe.feature);
    expect(sensor?.value).toBeCloseTo(Number(probe.value), 4);
    expect(sensor?.contribution).not.toBeCloseTo(before.contributions.find((c) => c.sensor === probe.feature)?.contribution ?? 0, 2);
    // A cell emptied becomes a missing reading, explained down the default branch.
    unwrap(await setCell(engine, probe.row, j + 1, ''));
    expect(unwrap(await engine.explain(probe.row)).contributions.find((c) => c.sensor === probe.feature)?.value ?? null).toBeNull();
  });

  test('a row out of range is a bad request; no file is no-file', async () => {
    const engine = await readyEngine();
    expect(await engine.explain(0)).toMatchObject({ ok: false, error: { code: 'no-file' } });
    unwrap(await engine.load(fileFromDisk(SAMPLE), THRESHOLD));
    expect(await engine.explain(100)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await engine.explain(-1)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });
});

describe('the download with top_sensors', () => {
  test('off by default: the file is byte-identical to one without the option', async () => {
    const engine = await sampleEngine();
    const plain = await blobText(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false })).blob);
    const off = await blobText(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false, topSensors: false })).blob);
    expect(off).toBe(plain);
    expect(plain).not.toContain('top_sensors');
  });

  test('on: one more column, the three largest contributions of each wafer', async () => {
    const engine = await sampleEngine();
    const plain = (await blobText(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false })).blob)).split('\n');
    const withTop = (await blobText(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false, topSensors: true })).blob)).split('\n');
    expect(withTop).toHaveLength(plain.length);
    expect(withTop[0]).toBe(`${plain[0]},top_sensors`);
    for (let r = 0; r < 100; r++) {
      const line = withTop[r + 1] as string;
      const cut = line.lastIndexOf(',');
      expect(line.slice(0, cut)).toBe(plain[r + 1]);
      const e = unwrap(await engine.explain(r));
      const expected = e.contributions.slice(0, 3).map((c) => `${c.sensor} (${signedLogOdds(c.contribution)})`).join('; ');
      expect(line.slice(cut + 1)).toBe(expected);
    }
    expect(withTop[1]).toMatch(/^.*,Sensor-\d+ \([+−]\d\.\d\d\); Sensor-\d+ \([+−]\d\.\d\d\); Sensor-\d+ \([+−]\d\.\d\d\)$/);
  });
});

describe('bundles without, or with a wrong, explain.json', () => {
  test('a bundle that lists none: no explanations, and the download option is refused plainly', async () => {
    const { bundle: _, ...withoutExplain } = modelJson;
    const engine = createEngine();
    const info = unwrap(await engine.initFromBytes(withoutExplain, onnxBytes));
    expect(info.explanations).toBe(false);
    unwrap(await engine.load(fileFromDisk(SAMPLE), THRESHOLD));
    expect(await engine.explain(0)).toMatchObject({ ok: false, error: { code: 'no-explanations' } });
    expect(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false, topSensors: true })).toMatchObject({ ok: false, error: { code: 'no-explanations' } });
  });

  test('a tampered explain.json is refused with both hashes; one not given leaves the model without explanations', async () => {
    const tampered = explainBytes.slice();
    tampered[10] = (tampered[10] as number) ^ 0x01;
    const res = await createEngine().initFromBytes(modelJson, onnxBytes, { explain: tampered });
    expect(res).toMatchObject({ ok: false, error: { code: 'model-hash-mismatch' } });
    if (!res.ok) expect(res.error.message).toContain(modelJson.bundle?.files.explain?.sha256);
    // Bytes not given to initFromBytes: the model works without explanations (init fetches every listed file; a
    // bundle a user gives must hold them all, tests/unit/bundle.test.ts).
    const missing = unwrap(await createEngine().initFromBytes(modelJson, onnxBytes));
    expect(missing.explanations).toBe(false);
  });

  test('init() fetches explain.json next to model.json', async () => {
    const engine = await readyEngine();
    const info = unwrap(await engine.init({ modelJson: 'http://x/public/models/model.json', modelDir: 'http://x/public/models' }));
    expect(info.explanations).toBe(true);
    // reference.json is listed too: the panel places readings by its quantiles.
    expect(info.quantiles?.[modelJson.features[0] as string]).toHaveLength(101);
  });
});

describe('reference.json quantiles (when the bundle has them)', () => {
  test('are checked by sha256, read per sensor, and place a reading as a percentile', async () => {
    const sensors = Object.fromEntries(modelJson.features.map((f, i) => [f, i === 1 ? { present: 0, missing_rate: 1, quantiles: null } : { present: 10, missing_rate: 0, quantiles: Array.from({ length: 101 }, (_, k) => k) }]));
    const bytes = new TextEncoder().encode(JSON.stringify({ format: 1, rows: 10, sensors, oof: { protocol: '', y: [], p: [] } }));
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
    const files = { ...modelJson.bundle?.files, reference: { file: 'reference.json', sha256: digest, bytes: bytes.length } };
    const withReference = { ...modelJson, bundle: { format: 2, files } };
    const info = unwrap(await createEngine().initFromBytes(withReference, onnxBytes, { explain: explainBytes, reference: bytes }));
    expect(info.quantiles?.['Sensor-1']).toHaveLength(101);
    expect(info.quantiles?.['Sensor-2']).toBeNull();
    const { percentileOf } = await import('../../src/lib/explain-view');
    expect(percentileOf(42.5, info.quantiles?.['Sensor-1'] as number[])).toBeCloseTo(42.5, 10);
    const wrong = bytes.slice();
    wrong[0] = 0x20;
    expect(await createEngine().initFromBytes(withReference, onnxBytes, { explain: explainBytes, reference: wrong })).toMatchObject({ ok: false, error: { code: 'model-hash-mismatch' } });
  });
});
