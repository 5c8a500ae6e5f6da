/** Wafers without readings: lines of only delimiters are reported, not read as wafers; the download keeps them. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { isDelimiterOnlyRecord } from '../../workers/engine/csv';
import { blobText, fileFromDisk, fileFromText, loadOk, path, readyEngine, SAMPLE, THRESHOLD, unwrap } from './helpers';

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
