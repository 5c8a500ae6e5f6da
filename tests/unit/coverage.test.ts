/**
 * Wafers without readings: lines of only delimiters are reported, not read as wafers; wafers with readings for
 * fewer than half of the sensors the model uses are named, not scored and not counted unless the user chooses.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, test } from 'vitest';
import type { ResultsSummary } from '../../workers/api';
import { isDelimiterOnlyRecord } from '../../workers/engine/csv';
import type { Engine } from '../../workers/engine/engine';
import { treeFeatureIndices } from '../../workers/engine/onnx-trees';
import { isFlagged, isLowCoverage } from '../../workers/format';
import { blobText, fileFromDisk, fileFromText, loadOk, modelJson, onnxBytes, path, readyEngine, results, SAMPLE, THRESHOLD, unwrap } from './helpers';

const bytes = (s: string) => new TextEncoder().encode(s);
const sampleLines = readFileSync(path(SAMPLE), 'utf8').split('\n').filter((l) => l !== '');

describe('lines of only delimiters', () => {
  test('isDelimiterOnlyRecord: delimiters with spaces or tabs only; never a value, a quote or a lone blank', () => {
    const is = (s: string, d: ',' | ';' | '\t' = ',') => isDelimiterOnlyRecord(bytes(s), 0, bytes(s).length, d);
    expect([is(',,,'), is(' , ,\t'), is(';;', ';'), is('\t\t', '\t'), is(',')]).toEqual([true, true, true, true, true]);
    expect([is(''), is('   '), is(',,1'), is('"",""'), is(';;', ','), is(',,x,')]).toEqual([false, false, false, false, false, false]);
  });

  test.each([1 << 20, 61])('Excel-style trailing lines are not wafers; they are counted, named by line and kept in the download (slice %i)', async (sliceSize) => {
    const engine = await readyEngine({ sliceSize });
    const summary = await loadOk(engine, fileFromDisk('tests/fixtures/bad/delimiter-lines.csv'));
    expect(summary.rows).toBe(12);
    expect(summary.delimiterOnlyLines).toBe(3);
    expect(summary.delimiterOnlyLineExamples).toEqual([14, 15, 16]);
    expect(summary.rowShapeIssueCount).toBe(0);
    const out = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false }));
    expect(out.rows).toBe(12);
    const lines = (await blobText(out.blob)).split('\n');
    const input = readFileSync(path('tests/fixtures/bad/delimiter-lines.csv'), 'utf8').split('\n');
    expect(lines.slice(13)).toEqual(input.slice(13));
    lines.slice(1, 13).forEach((line, i) => expect(line.startsWith(`${input[i + 1]!},`)).toBe(true));
  });

  test('a file whose rows are all delimiters: a no-rows error that says why', async () => {
    const engine = await readyEngine();
    const r = await engine.load(fileFromDisk('tests/fixtures/bad/only-delimiters.csv'), THRESHOLD);
    expect(r.ok ? null : r.error).toEqual({
      code: 'no-rows',
      message: 'The file has a header row (592 columns) but no data rows: its 20 lines after the header contain only delimiters (no readings, no wafer name).',
    });
  });

  test('in the middle of the file, a line of delimiters does not shift the wafers after it', async () => {
    const text = [sampleLines[0], sampleLines[1], ',,,', sampleLines[2]].join('\r\n') + '\r\n';
    const engine = await readyEngine();
    const summary = await loadOk(engine, fileFromText(text));
    expect([summary.rows, summary.delimiterOnlyLines, summary.delimiterOnlyLineExamples]).toEqual([2, 1, [3]]);
    const win = unwrap(await engine.window({ start: 0, count: 2, colStart: 0, colCount: 1, order: 'file' }));
    expect(win.rows.map((r) => r.cells[0])).toEqual([sampleLines[1]!.split(',')[0], sampleLines[2]!.split(',')[0]]);
  });
});

const LOW = 'tests/fixtures/bad/low-coverage.csv';
const used = treeFeatureIndices(onnxBytes, modelJson.features.length).map((f) => modelJson.features[f]!);
const header = sampleLines[0]!.split(',');
const N = used.length;
const HALF = Math.ceil(N / 2);
/** Readings of the model's sensors in row `row` (0-based, after the header) of a quote-free fixture. */
function fixtureReadings(rel: string, row: number): number {
  const [head, ...rows] = readFileSync(path(rel), 'utf8').split(/\r?\n/).filter((l) => l !== '');
  const names = head!.split(',');
  const cells = rows[row]!.split(',');
  return used.filter((name) => names.includes(name) && (cells[names.indexOf(name)] ?? '').trim() !== '').length;
}

/** The results as a full pass over every row's window and export would count them. */
async function recount(engine: Engine): Promise<Pick<ResultsSummary, 'scored' | 'flagged' | 'lowCoverage'>> {
  const n = unwrap(await engine.summarize(THRESHOLD)).results!.rows;
  const win = unwrap(await engine.window({ start: 0, count: n, colStart: 0, colCount: 0, order: 'file' }));
  return {
    scored: win.rows.filter((r) => r.probability !== null).length,
    flagged: win.rows.filter((r) => isFlagged(r.probability, THRESHOLD)).length,
    lowCoverage: win.rows.filter((r) => isLowCoverage(r.modelReadings, used.length)).length,
  };
}

async function exportRows(engine: Engine): Promise<string[][]> {
  const out = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false }));
  return Papa.parse<string[]>(await blobText(out.blob), { skipEmptyLines: true }).data;
}

describe('sensor coverage', () => {
  test('the sensors the model uses are read from the ONNX graph, as the training pipeline counts them', () => {
    const golden = JSON.parse(readFileSync(path('public/models/golden.json'), 'utf8')) as { model_sensors: string[] };
    expect(used).toEqual(golden.model_sensors);
    expect(used.length).toBe(modelJson.recipe.selected_features);
    expect(used.length).toBeGreaterThan(10);
    expect(() => treeFeatureIndices(new Uint8Array([0x3a, 0x02, 0x0a]), 590)).toThrowError(expect.objectContaining({ code: 'model-invalid' }));
    expect(() => treeFeatureIndices(onnxBytes, 100)).toThrowError(expect.objectContaining({ code: 'model-invalid' }));
  });

  test('the rule: fewer than half of the model sensors is low coverage', () => {
    expect([isLowCoverage(0, 39), isLowCoverage(19, 39), isLowCoverage(20, 39), isLowCoverage(39, 39)]).toEqual([true, true, false, false]);
    expect([isLowCoverage(HALF - 1, N), isLowCoverage(HALF, N)]).toEqual([true, false]);
  });

  test('wafers with (almost) no readings are named, not scored, and left out of the counts', async () => {
    const engine = await readyEngine();
    const loaded = unwrap(await engine.load(fileFromDisk(LOW), THRESHOLD));
    const r = loaded.results!;
    expect([r.rows, r.scored, r.lowCoverage, r.lowCoverageScored, r.modelSensors]).toEqual([12, 10, 2, false, N]);
    const k806 = fixtureReadings(LOW, 5);
    expect(k806).toBeGreaterThan(0);
    expect(r.lowCoverageWafers).toEqual([
      { row: 2, name: 'Wafer-803', readings: 0 },
      { row: 5, name: 'Wafer-806', readings: k806 },
    ]);
    expect(await recount(engine)).toEqual({ scored: r.scored, flagged: r.flagged, lowCoverage: 2 });
    expect(r.histogram.reduce((a, b) => a + b, 0)).toBe(10);
    expect(r.evaluation!.evaluated).toBe(10);
    const win = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 0, order: 'probability-desc' }));
    expect(win.rows.slice(-2).map((w) => [w.name, w.probability, w.modelReadings])).toEqual([
      ['Wafer-803', null, 0],
      ['Wafer-806', null, k806],
    ]);
    const rows = await exportRows(engine);
    expect(rows[3]!.slice(-2)).toEqual(['', `Not scored: low coverage (0 of ${N} model sensors read)`]);
    expect(rows[6]!.slice(-2)).toEqual(['', `Not scored: low coverage (${k806} of ${N} model sensors read)`]);
    const flaggedOnly = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: true }));
    expect(flaggedOnly.rows).toBe(r.flagged);
  });

  test('the user may score and count them anyway; the download still marks them', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(LOW));
    const on = results(await engine.scoreLowCoverage(true, THRESHOLD));
    expect([on.scored, on.lowCoverage, on.lowCoverageScored]).toEqual([12, 2, true]);
    expect(await recount(engine)).toEqual({ scored: 12, flagged: on.flagged, lowCoverage: 2 });
    const rows = await exportRows(engine);
    expect(Number(rows[3]!.at(-2))).toBeGreaterThan(0);
    expect(rows[3]!.at(-1)).toMatch(new RegExp(`^(Fault|OK) \\(low coverage: 0 of ${N} model sensors read\\)$`));
    const off = results(await engine.scoreLowCoverage(false, THRESHOLD));
    expect([off.scored, off.lowCoverageScored]).toEqual([10, false]);
    expect(await recount(engine)).toEqual({ scored: 10, flagged: off.flagged, lowCoverage: 2 });
  });

  test('edits update coverage: enough readings make a wafer scored, removing them withholds it again', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(LOW));
    const sample = sampleLines.slice(1).map((l) => l.split(','));
    // Give Wafer-803 readings (its sample values, 1 where the sample has none) for half of the model sensors.
    const cols = used.slice(0, HALF).map((name) => header.indexOf(name));
    let last: ResultsSummary | null = null;
    for (const col of cols) last = results(await engine.setCell({ row: 2, col, text: sample[2]![col] || '1' }, THRESHOLD));
    expect([last!.lowCoverage, last!.scored, last!.lowCoverageWafers.map((w) => w.name)]).toEqual([1, 11, ['Wafer-806']]);
    expect(await recount(engine)).toEqual({ scored: 11, flagged: last!.flagged, lowCoverage: 1 });
    const win = unwrap(await engine.window({ start: 2, count: 1, colStart: 0, colCount: 0, order: 'file' }));
    expect([win.rows[0]!.modelReadings, win.rows[0]!.probability === null]).toEqual([HALF, false]);
    // Clearing one reading drops it below half again; an edit of a sensor the model does not use changes nothing.
    const back = results(await engine.setCell({ row: 2, col: cols[0]!, text: '' }, THRESHOLD));
    expect([back.lowCoverage, back.scored]).toEqual([2, 10]);
    expect(await recount(engine)).toEqual({ scored: 10, flagged: back.flagged, lowCoverage: 2 });
    const unusedName = modelJson.features.find((f) => !used.includes(f));
    if (unusedName === undefined) throw new Error('the model reads every sensor');
    const unused = results(await engine.setCell({ row: 2, col: header.indexOf(unusedName), text: '5' }, THRESHOLD));
    expect([unused.lowCoverage, unused.scored]).toEqual([2, 10]);
  });

  test('a file whose columns miss most model sensors: after consent, every wafer is withheld, none is a plain OK', async () => {
    const engine = await readyEngine();
    const summary = await loadOk(engine, fileFromDisk('tests/fixtures/bad/missing-most.csv'));
    expect(summary.mapping.needsConsent).toBe(true);
    const r = results(await engine.predict({ acceptMappingIssues: true, threshold: THRESHOLD }));
    expect([r.rows, r.scored, r.flagged, r.lowCoverage]).toEqual([12, 0, 0, 12]);
    const rows = await exportRows(engine);
    const k = fixtureReadings('tests/fixtures/bad/missing-most.csv', 0);
    expect(k).toBeLessThan(HALF);
    expect(rows.slice(1).every((row) => row.at(-1) === `Not scored: low coverage (${k} of ${N} model sensors read)`)).toBe(true);
  });
});

test('property: coverage, scoring and counts follow the rule for any readings and any edits', async () => {
  const engine = await readyEngine();
  const cols = ['Wafer', ...used, 'Sensor-2'];
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.boolean(), { minLength: used.length, maxLength: used.length }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 8 }),
      fc.boolean(),
      async (present, editSeeds, scoreAnyway) => {
        const rows = present.map((p, r) => [`W${r}`, ...p.map((has, k) => (has ? String(k + 1) : '')), '1']);
        const text = [cols, ...rows].map((r) => r.join(',')).join('\n') + '\n';
        const loaded = unwrap(await engine.load(fileFromText(text), THRESHOLD));
        // Every model sensor is a column here except the 551 others: the user accepts them as missing.
        expect(loaded.summary.mapping.needsConsent).toBe(true);
        results(await engine.predict({ acceptMappingIssues: true, threshold: THRESHOLD }));
        if (scoreAnyway) results(await engine.scoreLowCoverage(true, THRESHOLD));
        const readings = present.map((p) => p.filter(Boolean).length);
        for (const [rs, ks, fill] of editSeeds) {
          const row = rs % rows.length;
          const k = ks % used.length;
          results(await engine.setCell({ row, col: k + 1, text: fill ? '2.5' : '' }, THRESHOLD));
          if (fill !== present[row]![k]) readings[row]! += fill ? 1 : -1;
          present[row]![k] = fill;
        }
        const r = results(await engine.summarize(THRESHOLD));
        const low = readings.filter((n) => isLowCoverage(n, used.length)).length;
        expect([r.lowCoverage, r.scored, r.lowCoverageScored]).toEqual([low, scoreAnyway ? rows.length : rows.length - low, scoreAnyway]);
        expect(await recount(engine)).toEqual({ scored: r.scored, flagged: r.flagged, lowCoverage: low });
        const win = unwrap(await engine.window({ start: 0, count: rows.length, colStart: 0, colCount: 0, order: 'file' }));
        expect(win.rows.map((w) => w.modelReadings)).toEqual(readings);
      },
    ),
    { numRuns: Number(process.env.FC_RUNS ?? 40), ...(process.env.FC_RUNS ? {} : { seed: 20261202 }) },
  );
});
