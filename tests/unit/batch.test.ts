/** A batch of files (issue 14): per-file checks, one session, the combined CSV and the zip against each file's own download. */
import { readdirSync, readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import type { BatchInput, ExportResult } from '../../workers/api';
import { maxBatchRows } from '../../workers/engine/batch';
import { zipEntryNames } from '../../workers/engine/batch-export';
import { fileFromDisk, fileFromText, loadOk, path, readyEngine, SAMPLE, THRESHOLD, unwrap } from './helpers';

const DIR = 'tests/fixtures/batch';
const names = readdirSync(path(DIR)).sort();
const folder = (): BatchInput[] => names.map((name) => ({ file: fileFromDisk(`${DIR}/${name}`), name }));
const GOOD = ['Wafer_13012020_090817.csv', 'Wafer_13012020_101530.csv', 'Wafer_13012020_142209.csv'];

async function text(r: ExportResult): Promise<string> {
  return new TextDecoder().decode(new Uint8Array(await r.blob.arrayBuffer()));
}

/** Each good file's own single-file download at the threshold (with the top_sensors column when asked). */
async function singleDownloads(onlyFlagged = false, topSensors = false): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of GOOD) {
    const engine = await readyEngine();
    await loadOk(engine, fileFromDisk(`${DIR}/${name}`));
    const r = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged, topSensors }));
    out.set(name, new Uint8Array(await r.blob.arrayBuffer()));
  }
  return out;
}

describe('batch', () => {
  test('every file is checked on its own; the good ones make one session, the others are reported with the single-file message', async () => {
    const engine = await readyEngine();
    const r = unwrap(await engine.loadBatch(folder(), THRESHOLD));
    const byName = new Map(r.batch.files.map((f) => [f.name, f]));
    expect(r.batch.files.map((f) => f.name)).toEqual(names);
    expect(r.batch.loaded).toBe(3);
    expect(GOOD.map((n) => byName.get(n)?.status)).toEqual(['loaded', 'loaded', 'loaded']);
    expect(GOOD.map((n) => byName.get(n)?.rows)).toEqual([40, 30, 30]);
    expect(GOOD.map((n) => byName.get(n)?.firstRow)).toEqual([0, 40, 70]);
    expect(r.summary.rows).toBe(100);
    // Refused files carry exactly the single-file load's error.
    for (const [name, code] of [
      ['Wafer_13012020_160000.csv', 'empty-file'],
      ['Wafer_13012020_163000.csv', 'not-text'],
      ['Wafer_13012020_170000.csv', 'no-features'],
      ['Wafer_13012020_180000.csv', 'no-rows'],
    ] as const) {
      const single = await (await readyEngine()).load(fileFromDisk(`${DIR}/${name}`), THRESHOLD);
      expect(single.ok).toBe(false);
      expect(byName.get(name)).toMatchObject({ status: 'refused', error: single.ok ? null : single.error });
      expect(single.ok ? '' : single.error.code).toBe(code);
    }
    const odd = byName.get('Wafer_13012020_173000.csv');
    expect(odd?.status).toBe('disagrees');
    expect(odd?.error?.message).toContain('“Sensor-100”');
    expect(odd?.error?.message).toContain('“Operator”');
    expect(odd?.error?.message).toContain('kept out of the batch');
    // The text cell of the second file is reported in batch rows (its 4th row is batch row 43).
    expect(byName.get('Wafer_13012020_101530.csv')?.summary?.cellIssues).toEqual([expect.objectContaining({ row: 43, raw: 'n/a?' })]);
    expect(r.summary.cellIssues).toEqual([expect.objectContaining({ row: 43, raw: 'n/a?' })]);
  });

  test('the batch scores every wafer as the single file does, and the grid names each row’s source file', async () => {
    const single = await readyEngine();
    await loadOk(single, fileFromDisk(SAMPLE));
    const expected = unwrap(await single.window({ start: 0, count: 100, colStart: 0, colCount: 3, order: 'file' })).rows;
    const engine = await readyEngine();
    unwrap(await engine.loadBatch(folder(), THRESHOLD));
    const rows = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 3, order: 'file' })).rows;
    // Row 43 has one reading replaced by text; every other wafer is scored as in the sample.
    rows.forEach((row, i) => {
      if (i !== 43) {
        expect(row.probability).toBe(expected[i]?.probability);
        expect(row.cells).toEqual(expected[i]?.cells);
      } else expect(row.cells[2]).toBe('n/a?');
      expect(row.source).toBe(GOOD[i < 40 ? 0 : i < 70 ? 1 : 2]);
    });
    // Filter by file, and sort by file name.
    const second = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 1, order: 'file', source: 1 })).rows;
    expect(second.map((r) => r.row)).toEqual(Array.from({ length: 30 }, (_, i) => 40 + i));
    const desc = unwrap(await engine.window({ start: 0, count: 100, colStart: 0, colCount: 1, order: 'source-desc' })).rows;
    expect(desc.map((r) => r.source)).toEqual([...Array(30).fill(GOOD[2]), ...Array(30).fill(GOOD[1]), ...Array(40).fill(GOOD[0])]);
  });

  test('each zip entry is byte for byte that file’s single-file download; an edit in the batch reaches its file', async () => {
    const engine = await readyEngine();
    unwrap(await engine.loadBatch(folder(), THRESHOLD));
    const zip = unzipSync(new Uint8Array(await unwrap(await engine.exportZip({ threshold: THRESHOLD, onlyFlagged: false })).blob.arrayBuffer()));
    const singles = await singleDownloads();
    expect(Object.keys(zip).sort()).toEqual(GOOD.map((n) => n.replace('.csv', '_predictions.csv')));
    for (const name of GOOD) expect(zip[name.replace('.csv', '_predictions.csv')]).toEqual(singles.get(name));
    // Edit batch row 45 (row 5 of the second file): the second file's entry carries it, the others stay.
    unwrap(await engine.setCell({ row: 45, col: 3, text: '999' }, THRESHOLD));
    const edited = unzipSync(new Uint8Array(await unwrap(await engine.exportZip({ threshold: THRESHOLD, onlyFlagged: false })).blob.arrayBuffer()));
    const lines = new TextDecoder().decode(edited['Wafer_13012020_101530_predictions.csv']).split('\n');
    expect(lines[6]?.split(',')[3]).toBe('999');
    expect(edited['Wafer_13012020_090817_predictions.csv']).toEqual(singles.get(GOOD[0] as string));
  });

  test('the combined CSV is source_file and then each file’s download record, cell for cell; the header once', async () => {
    const engine = await readyEngine();
    unwrap(await engine.loadBatch(folder(), THRESHOLD));
    for (const onlyFlagged of [false, true]) {
      const r = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged }));
      const singles = await singleDownloads(onlyFlagged);
      const combined = (await text(r)).split('\n').filter(Boolean);
      const expected: string[] = [];
      GOOD.forEach((name, k) => {
        const own = new TextDecoder().decode(singles.get(name)).split('\n').filter(Boolean);
        if (k === 0) expected.push(`source_file,${own[0]}`);
        for (const line of own.slice(1)) expected.push(`${name},${line}`);
      });
      expect(combined).toEqual(expected);
      expect(r.rows).toBe(expected.length - 1);
      expect(r.fileName).toBe(onlyFlagged ? 'batch_3_files_flagged.csv' : 'batch_3_files_predictions.csv');
      // Every original field: the input's records, cell for cell, after source_file and before the two results.
      if (!onlyFlagged) {
        const inputs = GOOD.flatMap((n) => readFileSync(path(`${DIR}/${n}`), 'utf8').split('\n').filter(Boolean).slice(1));
        combined.slice(1).forEach((line, i) => expect(line.split(',').slice(1, -2)).toEqual(inputs[i]?.split(',')));
      }
    }
  });

  test('with top_sensors: each zip entry and each part of the combined CSV is that file’s own download with the column', async () => {
    const engine = await readyEngine();
    unwrap(await engine.loadBatch(folder(), THRESHOLD));
    const singles = await singleDownloads(false, true);
    const zip = unzipSync(new Uint8Array(await unwrap(await engine.exportZip({ threshold: THRESHOLD, onlyFlagged: false, topSensors: true })).blob.arrayBuffer()));
    for (const name of GOOD) expect(zip[name.replace('.csv', '_predictions.csv')]).toEqual(singles.get(name));
    const combined = (await text(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false, topSensors: true })))).split('\n').filter(Boolean);
    const expected = GOOD.flatMap((name, k) => {
      const own = new TextDecoder().decode(singles.get(name)).split('\n').filter(Boolean);
      return [...(k === 0 ? [`source_file,${own[0]}`] : []), ...own.slice(1).map((line) => `${name},${line}`)];
    });
    expect(combined).toEqual(expected);
    expect(combined[0]?.endsWith(',fault_probability,prediction,top_sensors')).toBe(true);
    expect(combined[1]?.split(',').at(-1)).toMatch(/^Sensor-\d+ \([+−]\d\.\d\d\)(; Sensor-\d+ \([+−]\d\.\d\d\))*$/);
  });

  test('a file narrower than the batch’s widest row is padded before the results, top_sensors included', async () => {
    const lines = readFileSync(path(SAMPLE), 'utf8').split('\n').filter(Boolean);
    const narrow = fileFromText(`${[lines[0], ...lines.slice(1, 11)].join('\n')}\n`, 'narrow.csv');
    const wide = fileFromText(`${[lines[0], ...lines.slice(11, 21).map((l, i) => (i === 3 ? `${l},surplus` : l))].join('\n')}\n`, 'wide.csv');
    const engine = await readyEngine();
    unwrap(await engine.loadBatch([{ file: narrow, name: 'narrow.csv' }, { file: wide, name: 'wide.csv' }], THRESHOLD));
    const own = await readyEngine();
    await loadOk(own, narrow);
    const narrowOwn = (await text(unwrap(await own.exportCsv({ threshold: THRESHOLD, onlyFlagged: false, topSensors: true })))).split('\n').filter(Boolean);
    const combined = (await text(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false, topSensors: true })))).split('\n').filter(Boolean);
    const header = combined[0]?.split(',') ?? [];
    expect(header.slice(-4)).toEqual(['extra_1', 'fault_probability', 'prediction', 'top_sensors']);
    for (const line of combined.slice(1)) expect(line.split(',')).toHaveLength(header.length);
    // The narrow file's rows: its own fields, one empty extra_1, then its own three results.
    combined.slice(1, 11).forEach((line, i) => {
      const fields = line.split(',');
      const mine = narrowOwn[i + 1]?.split(',') ?? [];
      expect(fields.slice(1, -4)).toEqual(mine.slice(0, -3));
      expect(fields.slice(-4)).toEqual(['', ...mine.slice(-3)]);
    });
    expect(combined[14]?.split(',').at(-4)).toBe('surplus');
  });

  test('per-file counts and evaluation: labelled files are evaluated, the file without labels is not', async () => {
    const engine = await readyEngine();
    unwrap(await engine.loadBatch(folder(), THRESHOLD));
    const per = unwrap(await engine.batchResults(THRESHOLD));
    expect(per.map((p) => [p.name, p.rows])).toEqual(GOOD.map((n, k) => [n, [40, 30, 30][k]]));
    expect(per.map((p) => p.problems)).toEqual([0, 1, 0]);
    const total = unwrap(await engine.summarize(THRESHOLD)).results;
    expect(per.reduce((n, p) => n + p.flagged, 0)).toBe(total?.flagged);
    expect(per[0]?.results?.evaluation?.evaluated).toBe(40);
    expect(per[2]?.results?.evaluation?.evaluated ?? 0).toBe(0);
    expect(total?.evaluation?.evaluated).toBe(70);
  });

  test('a batch whose files together exceed the memory budget is refused up front, naming the command-line tool', async () => {
    const engine = await readyEngine();
    // Two files of 2-byte records: each alone is within a file's budget, together they are not.
    const rowsEach = Math.ceil(maxBatchRows(590) / 2) + 1000;
    const body = 'Sensor-1\n' + '1\n'.repeat(rowsEach * 2);
    const r = await engine.loadBatch(
      [
        { file: fileFromText(body, 'a.csv'), name: 'a.csv' },
        { file: fileFromText(body, 'b.csv'), name: 'b.csv' },
      ],
      THRESHOLD,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('too-large');
      expect(r.error.message).toContain('npx sensor-fault predict DIR -o OUT');
    }
  });

  test('cancel stops the batch; the data loaded before stays', async () => {
    const engine = await readyEngine({ sliceSize: 4096 });
    await loadOk(engine, fileFromDisk(SAMPLE));
    const r = await engine.loadBatch(folder(), THRESHOLD, (p) => {
      if ((p.fileIndex ?? 0) >= 1) void engine.cancel();
    });
    expect(r.ok ? 'ok' : r.error.code).toBe('cancelled');
    const still = unwrap(await engine.window({ start: 0, count: 1, colStart: 0, colCount: 1, order: 'file' }));
    expect(still.rows[0]?.source).toBeUndefined();
  });

  test('zip entry names keep folders and never repeat', () => {
    expect(zipEntryNames(['a.csv', 'day/a.csv', 'a.csv', 'b.csv.gz'], false)).toEqual(['a_predictions.csv', 'day/a_predictions.csv', 'a_predictions_2.csv', 'b_predictions.csv']);
  });
});

describe('crc32', () => {
  test('equals zlib’s over lengths around the 8-byte steps, and continues across chunks', async () => {
    const { crc32: zlibCrc } = await import('node:zlib');
    const { crc32 } = await import('../../workers/engine/crc32');
    const bytes = new Uint8Array(4099).map((_, i) => (i * 7919 + 13) % 256);
    for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 4099]) expect(crc32(bytes.subarray(0, n))).toBe(zlibCrc(bytes.subarray(0, n)));
    expect(crc32(bytes.subarray(1000), crc32(bytes.subarray(0, 1000)))).toBe(zlibCrc(bytes));
  });
});

describe('a batch where no file loads', () => {
  test('the refusal carries each file’s reason (there is no report to list them in)', async () => {
    const engine = await readyEngine();
    const r = await engine.loadBatch(
      ['Wafer_13012020_160000.csv', 'Wafer_13012020_163000.csv'].map((name) => ({ file: fileFromDisk(`${DIR}/${name}`), name })),
      THRESHOLD,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toContain('None of the 2 files could be loaded.');
      expect(r.error.message).toContain('“Wafer_13012020_160000.csv”: The file is empty (0 bytes).');
      expect(r.error.message).toContain('“Wafer_13012020_163000.csv”: This file is not a text CSV file');
    }
  });
});
