/** The drift report: the file against the training distribution (workers/engine/drift.ts), with the real bundle. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DriftCounts, driftReport, excessPValue, ksPValue, MIN_WAFERS, twoProportionPValue } from '../../workers/engine/drift';
import { parseReference, QUANTILES } from '../../workers/engine/reference';
import { trainingPeriodCsv } from '../fixtures/drift/training-period.mjs';
import { bundleFiles, fileFromText, loadOk, modelJson, path, readyEngine, SAMPLE, THRESHOLD, unwrap } from './helpers';

const sampleText = readFileSync(path(SAMPLE), 'utf8');
const reference = parseReference(bundleFiles['reference'] as Uint8Array, modelJson.features);
const features = modelJson.features;

/** The sample with the given sensors moved by `shift` training standard deviations (as the e2e fixture does). */
function shifted(text: string, sensors: string[], shift: number): string {
  const lines = text.trimEnd().split('\n');
  const header = (lines[0] as string).split(',');
  const cols = sensors.map((s) => header.indexOf(s));
  return [
    lines[0],
    ...lines.slice(1).map((line) => {
      const cells = line.split(',');
      cols.forEach((c, k) => {
        const f = features.indexOf(sensors[k] as string);
        const v = cells[c] as string;
        if (v.trim() !== '') cells[c] = String(Number(v) + shift * (reference.std[f] as number));
      });
      return cells.join(',');
    }),
  ].join('\n');
}

/** Sensors the model relies on most, by the reference's gain shares. */
const topSensors = features
  .map((name, f) => ({ name, share: reference.reliance[f] as number }))
  .sort((a, b) => b.share - a.share)
  .slice(0, 10)
  .map((s) => s.name);

describe('drift statistics', () => {
  it('KS p-value is 0.05 at λ = 1.358 for large samples', () => {
    const n = 4e6;
    const ne = Math.sqrt((n * n) / (2 * n));
    expect(ksPValue(1.358 / ne, n, n)).toBeCloseTo(0.05, 3);
    expect(ksPValue(0, 100, 100)).toBe(1);
  });

  it('two-proportion p-value is 0.05 at z = 1.96', () => {
    // equal sample sizes, rates 0.5 ± d: z = 2d / sqrt(0.25 · 2/n)
    const n = 10000;
    const d = (1.959964 * Math.sqrt((0.25 * 2) / n)) / 2;
    expect(twoProportionPValue((0.5 + d) * n, n, 0.5 - d, n)).toBeCloseTo(0.05, 4);
  });

  it('the Chernoff bound is never below the exact binomial tail', () => {
    const tail = (k: number, n: number, p: number) => {
      let sum = 0;
      for (let j = k; j <= n; j++) {
        let logC = 0;
        for (let t = 1; t <= j; t++) logC += Math.log((n - j + t) / t);
        sum += Math.exp(logC + j * Math.log(p) + (n - j) * Math.log(1 - p));
      }
      return sum;
    };
    for (const [k, n] of [
      [3, 50],
      [10, 100],
      [40, 200],
      [100, 100],
    ] as const) {
      expect(excessPValue(k, n, 0.02)).toBeGreaterThanOrEqual(tail(k, n, 0.02) * (1 - 1e-9));
    }
    expect(excessPValue(1, 100, 0.02)).toBe(1);
  });
});

describe('files drawn from the training distribution', () => {
  /** A seeded generator (mulberry32), so the test is the same on every run. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Readings drawn from each sensor's training quantile function (and missing at its training rate). */
  function drawFromTraining(rows: number, rnd: () => number): Float32Array {
    const nF = features.length;
    const m = new Float32Array(rows * nF);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < nF; f++) {
        const base = f * QUANTILES;
        if (Number.isNaN(reference.edges[base] as number) || rnd() < (reference.missingRate[f] as number)) {
          m[r * nF + f] = Number.NaN;
          continue;
        }
        const u = rnd() * (QUANTILES - 1);
        const k = Math.min(QUANTILES - 2, Math.floor(u));
        const lo = reference.edges[base + k] as number;
        const hi = reference.edges[base + k + 1] as number;
        // Tied quantiles are one value: a draw between them is that value, as in the training readings.
        m[r * nF + f] = lo === hi ? lo : lo + (u - k) * (hi - lo);
      }
    }
    return m;
  }

  it('rarely flags a sensor (the Bonferroni correction holds the family-wise error) and never calls a file unlike', () => {
    const rnd = random(20080719);
    let filesWithDrift = 0;
    const runs = 10;
    for (let run = 0; run < runs; run++) {
      const rows = 300;
      const counts = DriftCounts.build(reference, drawFromTraining(rows, rnd), rows, features.length);
      const report = driftReport(reference, counts, features, []);
      expect(report.verdict).not.toBe('unlike');
      if (report.sensorsDrifted > 0) filesWithDrift++;
    }
    expect(filesWithDrift).toBeLessThanOrEqual(1);
  });
});

describe('binning', () => {
  /** Readings spread over and beyond each sensor's training range, ties at the quantiles included. */
  function spread(rows: number): Float32Array {
    const nF = features.length;
    const m = new Float32Array(rows * nF);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < nF; f++) {
        const e = (k: number) => reference.edges[f * QUANTILES + k] as number;
        const t = ((r * 7 + f) % 130) / 100 - 0.15;
        m[r * nF + f] = r % 5 === 0 ? e(r % QUANTILES) : Math.fround(e(0) + t * (e(QUANTILES - 1) - e(0)));
      }
    }
    return m;
  }

  it('the lookup table bins every reading where a plain search over the quantiles does', () => {
    const rows = 400;
    const m = spread(rows);
    const nF = features.length;
    const c = DriftCounts.build(reference, m, rows, nF);
    for (let f = 0; f < nF; f++) {
      const base = f * QUANTILES;
      if (Number.isNaN(reference.edges[base] as number)) continue;
      const expected = new Int32Array(QUANTILES + 2);
      for (let r = 0; r < rows; r++) {
        const x = m[r * nF + f] as number;
        let i = 0;
        while (i < QUANTILES && (reference.edges[base + i] as number) < x) i++;
        const bin = x < (reference.edges[base] as number) ? 0 : 1 + i;
        expected[bin] = (expected[bin] as number) + 1;
      }
      expect(Array.from(c.bins.subarray(f * (QUANTILES + 2), (f + 1) * (QUANTILES + 2)))).toEqual(Array.from(expected));
    }
  });

  it('a large file is binned on every k-th row: the same counts as those rows alone', () => {
    const rows = 400;
    const nF = features.length;
    const m = spread(rows);
    const sampled = DriftCounts.build(reference, m, rows, nF, 100);
    expect(sampled.stride).toBe(4);
    const every4th = new Float32Array((rows / 4) * nF);
    for (let r = 0; r < rows; r += 4) every4th.set(m.subarray(r * nF, (r + 1) * nF), (r / 4) * nF);
    const alone = DriftCounts.build(reference, every4th, rows / 4, nF);
    expect(sampled.rows).toBe(100);
    expect(sampled.bins).toEqual(alone.bins);
    expect(sampled.outside).toEqual(alone.outside);
    expect(sampled.inSample(8)).toBe(true);
    expect(sampled.inSample(9)).toBe(false);
  });
});

describe('the engine drift report', () => {
  it('the sample (training wafers 830–929, five days of the period) is not unlike the training data', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(sampleText, 'sample.csv'));
    const report = unwrap(await engine.drift());
    expect(report.rows).toBe(100);
    expect(report.sensors).toHaveLength(590);
    expect(report.verdict).not.toBe('unlike');
    expect(report.relianceDrifted).toBeLessThan(report.thresholds.relianceUnlike);
    // model sensors first, by reliance
    const used = report.sensors.filter((s) => s.usedByModel);
    expect(report.sensors.slice(0, used.length).every((s) => s.usedByModel)).toBe(true);
    expect(used.map((s) => s.reliance)).toEqual([...used.map((s) => s.reliance)].sort((a, b) => b - a));
  });

  it('a file drawn from the whole training period (every 12th training wafer) is like the training data', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(trainingPeriodCsv(), 'training-period.csv'));
    const report = unwrap(await engine.drift());
    expect(report.rows).toBe(98);
    expect(report.verdict).not.toBe('unlike');
    expect(report.modelSensorsDrifted).toEqual([]);
  });

  it('a file with the ten top model sensors shifted by 4 std is unlike the training data, naming them first', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(shifted(sampleText, topSensors, 4), 'shifted.csv'));
    const report = unwrap(await engine.drift());
    expect(report.verdict).toBe('unlike');
    // the sample itself drifts on a few sensors (100 consecutive wafers against the whole period); the shifted
    // ones carry the most reliance, so they come first
    expect(report.modelSensorsDrifted.slice(0, topSensors.length)).toEqual(topSensors);
    expect(report.headline).toContain(topSensors[0] as string);
    const top = report.sensors.find((s) => s.sensor === topSensors[0]);
    expect(top?.reasons).toContain('distribution');
    expect(top?.distance).toBeGreaterThan(1);
    const dist = unwrap(await engine.driftDistribution(topSensors[0] as string));
    expect(dist.edges).toHaveLength(101);
    expect(dist.fileCdf.at(-1)! + dist.above).toBeCloseTo(1, 9);
    // shifted up by 4 std: many readings above the training maximum, their mean beyond it

  });

  it(`does not judge a file of fewer than ${MIN_WAFERS} wafers`, async () => {
    const engine = await readyEngine();
    const lines = sampleText.trimEnd().split('\n');
    await loadOk(engine, fileFromText(lines.slice(0, 41).join('\n'), 'forty.csv'));
    const report = unwrap(await engine.drift());
    expect(report.verdict).toBe('not-judged');
    expect(report.headline).toMatch(/Too few wafers/);
    expect(report.sensors).toEqual([]);
  });

  it('edits keep the report exact: the same as loading the edited file', async () => {
    const header = (sampleText.split('\n')[0] as string).split(',');
    const col = header.indexOf(topSensors[0] as string);
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(sampleText, 'sample.csv'));
    unwrap(await engine.drift());
    const edits = Array.from({ length: 60 }, (_, row) => ({ row, col, text: '1e6' }));
    unwrap(await engine.setCells(edits, THRESHOLD));
    const afterEdits = unwrap(await engine.drift());

    const lines = sampleText.trimEnd().split('\n');
    const edited = [lines[0], ...lines.slice(1).map((l, row) => (row < 60 ? l.split(',').map((c, k) => (k === col ? '1e6' : c)).join(',') : l))].join('\n');
    const fresh = await readyEngine();
    await loadOk(fresh, fileFromText(edited, 'edited.csv'));
    const reloaded = unwrap(await fresh.drift());
    expect(afterEdits).toEqual(reloaded);
    expect(afterEdits.modelSensorsDrifted).toContain(topSensors[0]);
    // 60 of the wafers now read 1e6, beyond the training maximum: the plot draws them at their mean
    const dist = unwrap(await engine.driftDistribution(topSensors[0] as string));
    const readings = afterEdits.sensors.find((x) => x.sensor === topSensors[0])?.present as number;
    expect(dist.above).toBeCloseTo(60 / readings, 12);
    expect(dist.aboveMean).toBeCloseTo(1e6, 6);
    expect(unwrap(await fresh.driftDistribution(topSensors[0] as string))).toEqual(dist);
  });

  it('counts per wafer the model sensors outside the training p01–p99, and follows edits', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(sampleText, 'sample.csv'));
    const win = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 600, order: 'file' }));
    const header = (sampleText.split('\n')[0] as string).split(',');
    const modelSensors = new Set(features.filter((_, f) => (reference.reliance[f] as number) > 0));
    for (const row of win.rows.slice(0, 20)) {
      let expected = 0;
      header.forEach((h, c) => {
        const s = modelJson.sensors[h];
        const text = row.cells[c] ?? '';
        if (!s || !modelSensors.has(h) || text.trim() === '' || s.p01 === null || s.p99 === null) return;
        const x = Math.fround(Number(text));
        if (x < Math.fround(s.p01) || x > Math.fround(s.p99)) expected++;
      });
      expect(row.outOfRange).toBe(expected);
    }
    const col = header.indexOf(topSensors[0] as string);
    const before = win.rows[0]?.outOfRange as number;
    unwrap(await engine.setCell({ row: 0, col, text: '1e9' }, THRESHOLD));
    const after = unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'file' }));
    const wasOutside = (() => {
      const x = Math.fround(Number(win.rows[0]?.cells[col]));
      const s = modelJson.sensors[topSensors[0] as string];
      return Number.isNaN(x) || win.rows[0]?.cells[col]?.trim() === '' ? false : x < Math.fround(s?.p01 as number) || x > Math.fround(s?.p99 as number);
    })();
    expect(after.rows[0]?.outOfRange).toBe(before + (wasOutside ? 0 : 1));
  });

  it('answers no-reference when the bundle has none', async () => {
    const { createEngine } = await import('../../workers/engine/engine');
    const { onnxBytes } = await import('./helpers');
    const engine = createEngine();
    const info = unwrap(await engine.initFromBytes(modelJson, onnxBytes));
    expect(info.hasReference).toBe(false);
    await loadOk(engine, fileFromText(sampleText, 'sample.csv'));
    const r = await engine.drift();
    expect(r.ok ? null : r.error.code).toBe('no-reference');
  });

  it('refuses a reference whose sha256 differs from model.json', async () => {
    const { createEngine } = await import('../../workers/engine/engine');
    const { onnxBytes } = await import('./helpers');
    const tampered = new Uint8Array(bundleFiles['reference'] as Uint8Array);
    tampered[tampered.length - 2] = 0x20;
    const r = await createEngine().initFromBytes(modelJson, onnxBytes, { reference: tampered });
    expect(r.ok ? null : r.error.code).toBe('model-hash-mismatch');
  });
});
