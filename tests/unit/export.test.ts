/** Export: byte identity of original columns, edits, formula neutralization, names, flagged-only. */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { describe, expect, test } from 'vitest';
import { appendedNames, exportFileName, shortestFloat32Text } from '../../workers/engine/export';
import { fileFromDisk, fileFromText, loadOk, modelJson, path, readyEngine, results, SAMPLE, SAMPLE_NO_LABEL, setCell, unwrap } from './helpers';

const T = modelJson.threshold.value;

/** Remove the two appended fields from each line of an export (fields contain no delimiter/quotes here). */
function stripAppended(text: string, delim = ','): string {
  return text.replace(new RegExp(`\\${delim}[^\\${delim}\\r\\n]*\\${delim}[^\\${delim}\\r\\n]*(\\r\\n|\\n|\\r|$)`, 'g'), '$1');
}

async function bytesOf(b: Blob): Promise<Uint8Array> {
  return new Uint8Array(await b.arrayBuffer());
}

describe('export', () => {
  test.each([SAMPLE, SAMPLE_NO_LABEL])('no edits: removing the appended fields gives back %s byte for byte', async (rel) => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(rel));
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    expect(r.rows).toBe(100);
    expect(r.neutralizedCells).toBe(0);
    expect(r.editedCells).toBe(0);
    expect(r.fileName).toBe(rel.replace(/^.*\//, '').replace('.csv', '_predictions.csv'));
    const input = readFileSync(path(rel), 'utf8');
    const out = new TextDecoder().decode(await bytesOf(r.blob));
    expect(stripAppended(out)).toBe(input);
    const lines = out.split('\n');
    expect(lines[0]!.endsWith(',fault_probability,prediction')).toBe(true);
    // Probabilities round-trip float32 and match the grid; predictions follow the threshold.
    const win = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 0, order: 'file' }));
    win.rows.forEach((row, i) => {
      const fields = lines[i + 1]!.split(',');
      const p = Number(fields.at(-2));
      expect(Math.fround(p)).toBe(row.probability);
      expect(fields.at(-1)).toBe(row.probability! >= T ? 'Fault' : 'OK');
    });
  });

  test('BOM, CRLF, quoted fields and blank lines are kept byte-identical (tiny slices)', async () => {
    const sample = readFileSync(path(SAMPLE), 'utf8').split('\n').filter((l) => l !== '');
    const header = sample[0]!.replace(/^,/, '"Wafer ID",');
    const rows = sample.slice(1, 6).map((l, i) => (i === 1 ? l.replace(/^Wafer-802/, '"Wafer ""802""\r\nsecond line"') : l));
    const text = `\uFEFF${header}\r\n${rows[0]}\r\n\r\n${rows.slice(1).join('\r\n')}\r\n\r\n`;
    const engine = await readyEngine({ sliceSize: 7 });
    const s = await loadOk(engine, fileFromText(text, 'crlf.csv'));
    expect(s).toMatchObject({ hasBom: true, lineEnding: '\r\n', rows: 5, idColumn: 0 });
    const w = unwrap(await engine.window({ start: 1, count: 1, colStart: 0, colCount: 1, order: 'file' }));
    expect(w.rows[0]!.name).toBe('Wafer "802"\r\nsecond line');
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    const out = await bytesOf(r.blob);
    expect(Array.from(out.subarray(0, 3))).toEqual([0xef, 0xbb, 0xbf]);
    const outText = new TextDecoder('utf-8', { ignoreBOM: true }).decode(out);
    expect(stripAppended(outText)).toBe(text);
    expect(outText.split('\r\n')[2]).toBe(''); // the blank line stays blank
  });

  test('edits are written, other columns kept; an edit back to the original is not an edit', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(SAMPLE));
    unwrap(await setCell(engine, 2, 3, '1234.5'));
    unwrap(await setCell(engine, 2, 592 - 1, '1'));
    const orig = unwrap(await engine.window({ start: 4, count: 1, colStart: 10, colCount: 1, order: 'file' })).rows[0]!.cells[0]!;
    unwrap(await setCell(engine, 4, 10, '99'));
    unwrap(await setCell(engine, 4, 10, orig));
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    expect(r.editedCells).toBe(2);
    const input = readFileSync(path(SAMPLE), 'utf8').split('\n');
    const out = stripAppended(new TextDecoder().decode(await bytesOf(r.blob))).split('\n');
    const expected = input[3]!.split(',');
    expected[3] = '1234.5';
    expected[591] = '1';
    expect(out[3]).toBe(expected.join(','));
    out.forEach((l, i) => {
      if (i !== 3) expect(l).toBe(input[i]);
    });
  });

  test('formula-like cells are neutralized with a quote; -1.5 is not touched', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk('tests/fixtures/bad/formula-cells.csv'));
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    expect(r.neutralizedCells).toBe(4);
    const parsed = Papa.parse<string[]>(new TextDecoder().decode(await bytesOf(r.blob)), { skipEmptyLines: true }).data;
    const note = parsed[0]!.indexOf('Note');
    expect(parsed[1]![note]).toBe('\'=HYPERLINK("http://example.invalid","x")');
    expect(parsed[2]![note]).toBe("'@SUM(A1:A2)");
    expect(parsed[3]![note]).toBe("'+cmd");
    expect(parsed[4]![9]).toBe("'=1+1");
    expect(parsed[5]![note]).toBe('-1.5');
    // Rows without formula-like cells stay byte-identical.
    const input = readFileSync(path('tests/fixtures/bad/formula-cells.csv'), 'utf8').split('\n');
    const out = stripAppended(new TextDecoder().decode(await bytesOf(r.blob))).split('\n');
    for (let i = 5; i < input.length; i++) expect(out[i]).toBe(input[i]);
  });

  test('an edited cell that is formula-like is neutralized too', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(SAMPLE));
    unwrap(await setCell(engine, 0, 0, '=cmd|"/c calc"!A1'));
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    expect(r.neutralizedCells).toBe(1);
    const parsed = Papa.parse<string[]>(new TextDecoder().decode(await bytesOf(r.blob)), { skipEmptyLines: true }).data;
    expect(parsed[1]![0]).toBe('\'=cmd|"/c calc"!A1');
  });

  test("the user's own fault_probability / prediction columns are never overwritten", async () => {
    expect(appendedNames(['a', 'fault_probability', 'Prediction'])).toEqual({ extra: [], probability: 'fault_probability_1', prediction: 'prediction_1', added: [] });
    expect(appendedNames(['fault_probability', 'fault_probability_1'])).toEqual({ extra: [], probability: 'fault_probability_2', prediction: 'prediction', added: [] });
    expect(appendedNames(['a', 'Extra_2'], 2)).toEqual({ extra: ['extra_1', 'extra_2_1'], probability: 'fault_probability', prediction: 'prediction', added: [] });
    const sample = readFileSync(path(SAMPLE), 'utf8').split('\n').filter((l) => l !== '');
    const text = [`${sample[0]},fault_probability,prediction`, ...sample.slice(1, 4).map((l) => `${l},0.5,mine`)].join('\n') + '\n';
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(text));
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    const lines = new TextDecoder().decode(await bytesOf(r.blob)).split('\n');
    expect(lines[0]!.endsWith(',fault_probability,prediction,fault_probability_1,prediction_1')).toBe(true);
    expect(lines[1]!.split(',').slice(-4, -2)).toEqual(['0.5', 'mine']);
  });

  test('only flagged rows: header plus the rows at or above the threshold', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(SAMPLE));
    const sum = results(await engine.summarize(T));
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: true }));
    expect(r.fileName).toBe('wafer_23012020_041211_flagged.csv');
    expect(r.rows).toBe(sum.flagged);
    const lines = new TextDecoder().decode(await bytesOf(r.blob)).split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1 + sum.flagged);
    expect(lines.slice(1).every((l) => l.endsWith(',Fault'))).toBe(true);
  });

  test('ragged rows: every row is padded to the widest, so the appended fields line up under their headers', async () => {
    const engine = await readyEngine();
    const summary = await loadOk(engine, fileFromDisk('tests/fixtures/bad/ragged.csv'));
    expect(summary.extraColumns).toEqual(['extra_1', 'extra_2']);
    expect(summary.extraFilledFields).toBe(2);
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    const outText = new TextDecoder().decode(await bytesOf(r.blob));
    const parsed = Papa.parse<string[]>(outText, { skipEmptyLines: true }).data;
    expect(parsed[0]!.slice(592)).toEqual(['extra_1', 'extra_2', 'fault_probability', 'prediction']);
    const input = readFileSync(path('tests/fixtures/bad/ragged.csv'), 'utf8').split('\n');
    const inputRows = Papa.parse<string[]>(input.join('\n'), { skipEmptyLines: true }).data;
    parsed.forEach((row, i) => {
      expect(row, `line ${i + 1}`).toHaveLength(596);
      if (i === 0) return;
      expect(row.slice(0, inputRows[i]!.length), `line ${i + 1} keeps its fields`).toEqual(inputRows[i]);
      expect(row[594]).toMatch(/^0\.\d+$/);
      expect(row[595]).toMatch(/^(Fault|OK)$/);
    });
    expect(parsed[7]!.slice(592, 594)).toEqual(['1.0', '2.0']);
    expect(outText.split('\n')[3]!.startsWith(input[3]!)).toBe(true);
    expect(outText.split('\n')[7]!.startsWith(input[7]!)).toBe(true);
  });

  test('a trailing delimiter on every line: the empty extra field gets its own column, results stay under their headers', async () => {
    const sample = readFileSync(path(SAMPLE), 'utf8').split('\n').filter((l) => l !== '');
    const text = sample.slice(0, 6).map((l, i) => (i === 0 ? l : `${l},`)).join('\n') + '\n';
    const engine = await readyEngine();
    const summary = await loadOk(engine, fileFromText(text));
    expect(summary.rowShapeIssueCount).toBe(5);
    expect(summary.extraColumns).toEqual(['extra_1']);
    expect(summary.extraFilledFields).toBe(0);
    await setCell(engine, 1, 3, '1.5'); // an edited row is re-serialized: it keeps its width too
    const r = unwrap(await engine.exportCsv({ threshold: T, onlyFlagged: false }));
    const lines = new TextDecoder().decode(await bytesOf(r.blob)).split('\n').filter((l) => l !== '');
    expect(lines[0]).toBe(`${sample[0]},extra_1,fault_probability,prediction`);
    const header = lines[0]!.split(',');
    lines.slice(1).forEach((line, i) => {
      const fields = line.split(',');
      expect(fields).toHaveLength(header.length);
      expect(fields[header.indexOf('extra_1')]).toBe('');
      expect(Number(fields[header.indexOf('fault_probability')])).toBeGreaterThan(0);
      expect(fields[header.indexOf('prediction')]).toMatch(/^(Fault|OK)$/);
      if (i !== 1) expect(line.startsWith(sample[i + 1]!)).toBe(true);
    });
  });

  test('shortestFloat32Text: shortest float32 round trip', () => {
    for (const v of [0, 1, 0.5, 0.1, 0.07408551, 1e-7, 0.9668917655944824, 0.123456789]) {
      const f = Math.fround(v);
      const s = shortestFloat32Text(f);
      expect(Math.fround(Number(s))).toBe(f);
      expect(s.length).toBeLessThanOrEqual(12);
    }
    expect(shortestFloat32Text(Number.NaN)).toBe('');
    expect(shortestFloat32Text(Math.fround(0.1))).toBe('0.1');
    expect(exportFileName('data.v2.csv', false)).toBe('data.v2_predictions.csv');
    expect(exportFileName('wafers', true)).toBe('wafers_flagged.csv');
  });
});
