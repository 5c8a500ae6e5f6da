/** The engine end to end over the real model: load errors, bad-input corpus, window, setCell, predict, cancel. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../workers/engine/engine';
import { blobText, fileFromDisk, fileFromText, loadOk, loadResultOk, modelJson, path, readyEngine, results, SAMPLE, setCell, THRESHOLD, unwrap } from './helpers';

let engine: Engine;
beforeAll(async () => {
  engine = await readyEngine();
});

const sampleText = readFileSync(path(SAMPLE), 'utf8');
const sampleLines = sampleText.split('\n').filter((l) => l !== '');
const sampleHeader = sampleLines[0]!.split(',');

async function loadError(file: File): Promise<{ code: string; message: string }> {
  const r = await engine.load(file, THRESHOLD);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

describe('load errors', () => {
  test.each([
    ['empty file', fileFromText(''), 'empty-file'],
    ['blank lines only', fileFromDisk('tests/fixtures/bad/blank-lines.csv'), 'empty-file'],
    ['UTF-16', fileFromDisk('tests/fixtures/bad/utf16.csv'), 'utf16'],
    ['binary', fileFromDisk('tests/fixtures/bad/binary.csv'), 'not-text'],
    ['header only', fileFromDisk('tests/fixtures/bad/header-only.csv'), 'no-rows'],
    ['labels only', fileFromDisk('tests/fixtures/bad/labels-only.csv'), 'no-features'],
    ['no sensors', fileFromText('a,b\n1,2\n'), 'no-features'],
    ['no header row', fileFromDisk('tests/fixtures/bad/no-header.csv'), 'no-features'],
    ['unclosed quote (corpus)', fileFromDisk('tests/fixtures/bad/unclosed-quote.csv'), 'malformed-csv'],
    ['0-byte file (corpus)', fileFromDisk('tests/fixtures/bad/empty.csv'), 'empty-file'],
    ['unclosed quote', fileFromText(`${sampleLines[0]}\n${sampleLines[1]}\n"Wafer-x,1,2\n`), 'malformed-csv'],
  ])('%s → %s', async (_name, file, code) => {
    const e = await loadError(file);
    expect(e.code).toBe(code);
    expect(e.message.length).toBeGreaterThan(10);
  });

  test('invalid UTF-8 after the sniffed head is still not-text, naming the line', async () => {
    const head = new TextEncoder().encode(sampleLines.slice(0, 30).join('\n') + '\n');
    expect(head.length).toBeGreaterThan(64 * 1024);
    const tail = new Uint8Array([...new TextEncoder().encode('Wafer-x,'), 0xc3, 0x28, 0x0a]);
    const e = await loadError(new File([head as BlobPart, tail as BlobPart], 'latin1.csv'));
    expect(e.code).toBe('not-text');
    expect(e.message).toMatch(/line 31/);
  });

  test('a file whose readings would exceed the memory budget fails before allocating', async () => {
    // 20 GB of rows like the sample's: even the fewest plausible rows are over MAX_READINGS_BYTES, nothing is allocated.
    class BigBlob extends Blob {
      override get size(): number {
        return 20e9;
      }
    }
    await loadOk(engine, fileFromDisk(SAMPLE));
    const big = new BigBlob([sampleText]) as unknown as File;
    Object.defineProperty(big, 'name', { value: 'big.csv' });
    const e = await loadError(big);
    expect(e.code).toBe('too-large');
    expect(e.message).toMatch(
      /^This file is too large for this browser's memory: 18\.63 GB, at least [\d,]+ rows, needs at least [\d.]+ GB for its readings, more than the 4\.00 GB this page allows\. For bigger files, use the command-line tool, which streams a file of any size \(`npx sensor-fault predict FILE\.csv -o OUT\.csv` in the project folder, see its README\), or split the file into smaller parts and upload them one at a time\.$/,
    );
    // The previous file is still loaded and usable.
    expect(results(await engine.summarize(0.5)).rows).toBe(100);
  });

  test('a file too large for memory is a too-large error with a plain message', async () => {
    // A Blob that claims to be 40 TB: the row estimate cannot be allocated.
    class HugeBlob extends Blob {
      override get size(): number {
        return 4e13;
      }
    }
    const huge = new HugeBlob([sampleText]) as unknown as File;
    Object.defineProperty(huge, 'name', { value: 'huge.csv' });
    const e = await loadError(huge);
    expect(e.code).toBe('too-large');
    expect(e.message).toMatch(/TB|GB/);
    expect(e.message).toMatch(/rows/);
  });

  test('a RangeError inside the worker (an allocation the browser refuses) is a too-large error, not a crash', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    // A file whose bytes cannot be read into memory: Blob.arrayBuffer() rejects with the browser's RangeError.
    class UnreadableBlob extends Blob {
      override slice(): Blob {
        return { arrayBuffer: () => Promise.reject(new RangeError('Array buffer allocation failed')) } as unknown as Blob;
      }
    }
    const file = new UnreadableBlob([sampleText]) as unknown as File;
    Object.defineProperty(file, 'name', { value: 'unreadable.csv' });
    const e = await loadError(file);
    expect(e).toEqual({
      code: 'too-large',
      message:
        "This file is too large for this browser's memory (Array buffer allocation failed). For bigger files, use the command-line tool, which streams a file of any size (`npx sensor-fault predict FILE.csv -o OUT.csv` in the project folder, see its README), or split the file into smaller parts and upload them one at a time.",
    });
    expect(results(await engine.summarize(0.5)).rows).toBe(100);
  });

  test('UTF-16 message tells the user to save as UTF-8 CSV', async () => {
    expect((await loadError(fileFromDisk('tests/fixtures/bad/utf16.csv'))).message).toMatch(/UTF-8/);
  });

  test('a failed load leaves the previous file usable', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    expect((await loadError(fileFromDisk('tests/fixtures/bad/binary.csv'))).code).toBe('not-text');
    const w = unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 2, order: 'file' }));
    expect(w.rows[0]!.name).toBe('Wafer-801');
  });
});

describe('bad-input corpus loads with specific reports', () => {
  test('ragged rows: the load succeeds and names the lines', async () => {
    const loaded = await loadResultOk(engine, fileFromDisk('tests/fixtures/bad/ragged.csv'));
    const s = loaded.summary;
    expect(s.rows).toBe(12);
    expect(s.rowShapeIssueCount).toBe(2);
    expect(s.rowShapeIssues).toEqual([
      { row: 2, line: 4, fields: 300, expected: 592 },
      { row: 6, line: 8, fields: 594, expected: 592 },
    ]);
    // Row shapes have their own fields; notices carry only what no other field says.
    expect(s.notices).toEqual([]);
    expect(loaded.results).not.toBeNull();
  });

  test('missing columns need consent; predict() refuses without it and scores with it', async () => {
    const loaded = await loadResultOk(engine, fileFromDisk('tests/fixtures/bad/missing-few.csv'));
    const s = loaded.summary;
    expect(s.mapping.missingText).toBe('Sensor-100, Sensor-200 … Sensor-202 missing (4 columns)');
    expect(s.mapping.needsConsent).toBe(true);
    expect(loaded.results).toBeNull();
    expect(unwrap(await engine.summarize(0.5)).results).toBeNull();
    const refused = await engine.predict({ acceptMappingIssues: false, threshold: THRESHOLD });
    expect(refused.ok === false && refused.error.code).toBe('mapping-not-accepted');
    const progress: number[] = [];
    const r = results(await engine.predict({ acceptMappingIssues: true, threshold: THRESHOLD }, (p) => progress.push(p.done)));
    expect(r.scored).toBe(12);
    expect(r.threshold).toBe(modelJson.threshold.value);
    expect(progress.at(-1)).toBe(12);
    expect(r.evaluation?.evaluated).toBe(12);
  });

  test('missing most columns: range text', async () => {
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/missing-most.csv'));
    expect(s.mapping.missingText).toBe('Sensor-51 … Sensor-590 missing (540 columns)');
  });

  test('extra and duplicate columns: the first Sensor-5 feeds the model', async () => {
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/extra-duplicate.csv'));
    expect(s.mapping.duplicateFeatures).toEqual([{ feature: 'Sensor-5', columns: [5, 593] }]);
    expect(s.columns[592]).toMatchObject({ header: 'Operator', role: 'other' });
    const dup = results(await engine.predict({ acceptMappingIssues: true, threshold: THRESHOLD }));
    await loadOk(engine, fileFromDisk(SAMPLE));
    const base = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' }));
    await loadOk(engine, fileFromDisk('tests/fixtures/bad/extra-duplicate.csv'));
    unwrap(await engine.predict({ acceptMappingIssues: true, threshold: THRESHOLD }));
    const w = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' }));
    w.rows.forEach((row, i) => expect(row.probability).toBe(base.rows[i]!.probability));
    expect(dup.scored).toBe(12);
  });

  test('renamed (Kaggle 0…589) and reversed columns give the same probabilities', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    const base = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' }));
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/renamed-reordered.csv'));
    expect(s.mapping.needsConsent).toBe(false);
    expect(s.idColumn).toBe(592 - 1);
    expect(s.label?.column).toBe(0);
    const w = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' }));
    w.rows.forEach((row, i) => expect(row.probability).toBe(base.rows[i]!.probability));
    expect(w.rows[0]!.name).toBe('Wafer-801');
  });

  test('text and dates are issues, highlighted in the window', async () => {
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/text-and-dates.csv'));
    expect(s.cellIssueCount).toBe(3);
    expect(s.cellIssues).toEqual([
      { row: 1, col: 2, raw: 'n/a?' },
      { row: 3, col: 7, raw: '2020-01-23' },
      { row: 5, col: 20, raw: 'high' },
    ]);
    const w = unwrap(await engine.window({ start: 3, count: 1, colStart: 5, colCount: 5, order: 'file' }));
    expect(w.rows[0]!.issueCols).toEqual([7]);
    expect(w.rows[0]!.cells[2]).toBe('2020-01-23');
  });

  test('inf and out-of-float32-range values are issues; 1e-400 is a number', async () => {
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/inf-huge.csv'));
    expect(s.cellIssues.map((c) => c.raw)).toEqual(['inf', '-inf', '1e400', '-3.5e39']);
    expect(s.cellIssueCount).toBe(4);
    expect(s.nonFiniteCells).toBe(4);
    expect(s.notices).toEqual([]);
  });

  test('semicolon + decimal comma: detected, read as points, with a notice, same probabilities', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    const base = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' }));
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/decimal-comma.csv'));
    expect(s.delimiter).toBe(';');
    expect(s.cellIssueCount).toBe(0);
    expect(s).toMatchObject({ numberFormat: 'comma', numberFormatChosen: false });
    expect(s.notices).toEqual([
      'Numbers are read with a decimal comma (detected from the file): 3,14 is 3.14. 5,036 readings have a decimal comma. If that is wrong, change “Numbers” under Columns.',
    ]);
    const w = unwrap(await engine.window({ start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' }));
    w.rows.forEach((row, i) => expect(row.probability).toBe(base.rows[i]!.probability));
  });

  test('formula-like cells are counted', async () => {
    const s = await loadOk(engine, fileFromDisk('tests/fixtures/bad/formula-cells.csv'));
    expect(s.formulaLikeCells).toBe(4); // =HYPERLINK, @SUM, +cmd, =1+1 (not -1.5)
    expect(s.cellIssueCount).toBe(1); // =1+1 in Sensor-9
  });
});

describe('sample: summary, window, setCell', () => {
  beforeAll(async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
  });

  test('summary fields', async () => {
    const loaded = await loadResultOk(engine, fileFromDisk(SAMPLE));
    const s = loaded.summary;
    expect(s).toMatchObject({ fileName: 'wafer_23012020_041211.csv', rows: 100, delimiter: ',', hasBom: false, lineEnding: '\n', idColumn: 0 });
    expect(loaded.results?.scored).toBe(100);
    expect(s.label).toEqual({
      column: 591,
      header: 'Good/Bad',
      coding: 'declared',
      failValue: null,
      values: [
        { value: '-1', rows: 94 },
        { value: '1', rows: 6 },
      ],
      moreValues: false,
      fails: 6,
      passes: 94,
      unknown: 0,
    });
    expect(s).toMatchObject({ numberFormat: 'point', numberFormatChosen: false, notices: [] });
    // Every empty sensor cell in the file is a missing reading.
    const empties = sampleLines.slice(1).reduce((acc, l) => acc + l.split(',').slice(1, 591).filter((v) => v === '').length, 0);
    expect(s.missingCells).toBe(empties);
    expect(s.cellIssueCount).toBe(0);
    expect(s.columns).toHaveLength(592);
  });

  test('summarize: counts, histogram, evaluation', async () => {
    const r = results(await engine.summarize(modelJson.threshold.value));
    expect(r.rows).toBe(100);
    expect(r.scored).toBe(100);
    expect(r.histogram.reduce((a, b) => a + b, 0)).toBe(100);
    expect(r.evaluation?.tp! + r.evaluation?.fn!).toBe(6);
    expect(r.flagged).toBe(r.evaluation!.tp + r.evaluation!.fp);
    const none = results(await engine.summarize(1));
    expect(none.flagged).toBeLessThan(r.flagged);
    const bad = await engine.summarize(2);
    expect(bad.ok === false && bad.error.code).toBe('bad-request');
  });

  test('window: column slices and orders', async () => {
    const w = unwrap(await engine.window({ start: 10, count: 3, colStart: 589, colCount: 40, order: 'file' }));
    expect(w.start).toBe(10);
    expect(w.rows.map((r) => r.row)).toEqual([10, 11, 12]);
    expect(w.rows[0]!.cells).toEqual(sampleLines[11]!.split(',').slice(589));
    const desc = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 0, order: 'probability-desc' }));
    const p = desc.rows.map((r) => r.probability!);
    expect([...p].sort((a, b) => b - a)).toEqual(p);
    const asc = unwrap(await engine.window({ start: 0, count: 5, colStart: 0, colCount: 1, order: 'probability-asc' }));
    expect(asc.rows[0]!.probability).toBe(Math.min(...p));
    const top = desc.rows[0]!;
    const again = unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'probability-desc' }));
    expect(again.rows[0]!.cells[0]).toBe(sampleLines[top.row + 1]!.split(',')[0]);
    const past = unwrap(await engine.window({ start: 200, count: 5, colStart: 0, colCount: 5, order: 'file' }));
    expect(past.rows).toEqual([]);
    const bad = await engine.window({ start: -1, count: 5, colStart: 0, colCount: 5, order: 'file' });
    expect(bad.ok === false && bad.error.code).toBe('bad-request');
  });

  test('setCell: re-validates, re-scores the row, edit back removes the edit', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    const before = unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 600, order: 'file' })).rows[0]!;
    const orig = before.cells[60]!;
    // Find a sensor whose change moves the probability of row 0.
    const u = unwrap(await setCell(engine, 0, 60, 'abc'));
    expect(u.issue).toMatch(/not a number/);
    expect(u.edited).toBe(true);
    const w = unwrap(await engine.window({ start: 0, count: 1, colStart: 58, colCount: 5, order: 'file' })).rows[0]!;
    expect(w.editedCols).toEqual([60]);
    expect(w.issueCols).toEqual([60]);
    expect(w.cells[2]).toBe('abc');
    // An edit changes the model input: set every sensor to a large value and the probability moves.
    let last = u;
    for (let c = 1; c <= 590; c++) last = unwrap(await setCell(engine, 0, c, '1e6'));
    expect(last.probability).not.toBeNull();
    expect(last.probability).not.toBeCloseTo(before.probability!, 6);
    // Restore the originals: edits removed and the original probability back.
    for (let c = 1; c <= 590; c++) last = unwrap(await setCell(engine, 0, c, before.cells[c]!));
    expect(last.edited).toBe(false);
    expect(last.probability).toBe(before.probability);
    const restored = unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 600, order: 'file' })).rows[0]!;
    expect(restored.editedCols).toEqual([]);
    expect(restored.cells[60]).toBe(orig);
  });

  test('setCell on label and id columns; out of range is bad-request', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    const before = results(await engine.summarize(0.5)).evaluation!;
    unwrap(await setCell(engine, 0, 591, '1'));
    const after = results(await engine.summarize(0.5)).evaluation!;
    expect(after.tp + after.fn).toBe(before.tp + before.fn + 1);
    unwrap(await setCell(engine, 0, 0, 'Renamed'));
    expect(unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'file' })).rows[0]!.name).toBe('Renamed');
    const bad = await setCell(engine, 100, 0, 'x');
    expect(bad.ok === false && bad.error.code).toBe('bad-request');
    const badCol = await setCell(engine, 0, 592, 'x');
    expect(badCol.ok === false && badCol.error.code).toBe('bad-request');
  });

  test('ids fall back to "Row N" without an id column', async () => {
    await loadOk(engine, fileFromDisk('tests/fixtures/wafer/test2.csv'));
    const w = unwrap(await engine.window({ start: 0, count: 2, colStart: 0, colCount: 1, order: 'file' }));
    expect(w.rows.map((r) => r.name)).toEqual(['Row 1', 'Row 2']);
  });
});

describe('cancel and progress', () => {
  test('cancel() during a load resolves it with "cancelled" and keeps the previous file', async () => {
    const slow = await readyEngine({ sliceSize: 4096 });
    await loadOk(slow, fileFromDisk(SAMPLE));
    const big = fileFromText(sampleHeader.join(',') + '\n' + sampleLines.slice(1).join('\n').repeat(1) + '\n', 'big.csv');
    let calls = 0;
    const pending = slow.load(big, THRESHOLD, () => {
      calls++;
      if (calls === 3) void slow.cancel();
    });
    const r = await pending;
    expect(r.ok === false && r.error.code).toBe('cancelled');
    const w = unwrap(await slow.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'file' }));
    expect(w.rows[0]!.name).toBe('Wafer-801');
  });

  test('cancel() during an export resolves it with "cancelled"; a later export works', async () => {
    const e = await readyEngine({ sliceSize: 4096 });
    await loadOk(e, fileFromDisk(SAMPLE));
    let calls = 0;
    const r = await e.exportCsv({ threshold: 0.5, onlyFlagged: false }, () => {
      if (++calls === 2) void e.cancel();
    });
    expect(r.ok === false && r.error.code).toBe('cancelled');
    const again = unwrap(await e.exportCsv({ threshold: 0.5, onlyFlagged: false }));
    expect(again.rows).toBe(100);
  });

  test('parse progress is reported in bytes up to the file size', async () => {
    const e = await readyEngine({ sliceSize: 65536 });
    const file = fileFromDisk(SAMPLE);
    const seen: { phase: string; done: number; total: number }[] = [];
    await e.load(file, THRESHOLD, (p) => seen.push(p));
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((p) => p.phase === 'parse' && p.total === file.size)).toBe(true);
    expect(seen.at(-1)!.done).toBe(file.size);
  });

  test('calls before load are typed errors', async () => {
    const e = await readyEngine();
    for (const r of [await e.summarize(0.5), await e.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'file' }), await e.exportCsv({ threshold: 0.5, onlyFlagged: false })]) {
      expect(r.ok === false && r.error.code).toBe('no-file');
    }
    expect(await blobText(new Blob(['x']))).toBe('x');
  });
});

describe('one route for results: every data call answers the results at its threshold and the data version', () => {
  test('the version moves on load, the first predict and edits, and only then', async () => {
    const e = await readyEngine();
    const first = unwrap(await e.load(fileFromDisk('tests/fixtures/bad/missing-few.csv'), 0.5));
    expect(first.results).toBeNull();
    const same = unwrap(await e.summarize(0.5));
    expect(same.version).toBe(first.version);
    const w0 = unwrap(await e.window({ start: 0, count: 2, colStart: 0, colCount: 2, order: 'file' }));
    expect(w0.version).toBe(first.version);
    const predicted = unwrap(await e.predict({ acceptMappingIssues: true, threshold: 0.25 }));
    expect(predicted.version).toBeGreaterThan(first.version);
    expect(predicted.results?.threshold).toBe(0.25);
    // Scoring again changes nothing, so the version stays.
    expect(unwrap(await e.predict({ acceptMappingIssues: true, threshold: 0.5 })).version).toBe(predicted.version);
    const edited = unwrap(await e.setCell({ row: 0, col: 3, text: '7' }, 0.4));
    expect(edited.version).toBeGreaterThan(predicted.version);
    expect(edited.results?.threshold).toBe(0.4);
    expect(unwrap(await e.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'file' })).version).toBe(edited.version);
    const reloaded = unwrap(await e.load(fileFromDisk(SAMPLE), 0.5));
    expect(reloaded.version).toBeGreaterThan(edited.version);
    expect(reloaded.results?.scored).toBe(100);
    expect(unwrap(await e.setCells([], 0.5)).version).toBe(reloaded.version);
  });

  test('setCells applies a batch as successive setCell calls would, and answers the results once', async () => {
    const edits = [
      { row: 0, col: 60, text: '1e6' },
      { row: 3, col: 591, text: '1' },
      { row: 0, col: 61, text: 'abc' },
      { row: 7, col: 0, text: 'Renamed' },
      { row: 0, col: 60, text: '2e6' },
    ];
    const one = await readyEngine();
    await loadOk(one, fileFromDisk(SAMPLE));
    let last = null;
    for (const edit of edits) last = unwrap(await one.setCell(edit, 0.3));
    const batch = await readyEngine();
    await loadOk(batch, fileFromDisk(SAMPLE));
    const state = unwrap(await batch.setCells(edits, 0.3));
    expect(state.results).toEqual(last!.results);
    const req = { start: 0, count: 100, colStart: 0, colCount: 592, order: 'file' as const };
    const a = unwrap(await one.window(req)).rows;
    const b = unwrap(await batch.window(req)).rows;
    expect(b).toEqual(a);
    expect(b[0]!.cells[60]).toBe('2e6');
    expect(b[7]!.name).toBe('Renamed');
    const bad = await batch.setCells([{ row: 0, col: 1, text: '1' }, { row: 100, col: 1, text: '1' }], 0.3);
    expect(bad.ok === false && bad.error.code).toBe('bad-request');
    // A refused batch changes nothing.
    expect(unwrap(await batch.window(req)).rows).toEqual(a);
  });
});
