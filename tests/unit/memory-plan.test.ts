/**
 * The memory plan of a load: a file is refused up front only when even its fewest plausible rows exceed the
 * budget; a file whose first records are shorter than later ones still loads; binary or endless content stops
 * at once with where it is, and the previous file stays loaded.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../workers/engine/engine';
import { EngineFailure } from '../../workers/engine/errors';
import { MAX_READINGS_BYTES, maxRows, planRows } from '../../workers/engine/memory-plan';
import { fileFromDisk, loadOk, path, readyEngine, results, SAMPLE, THRESHOLD } from './helpers';

const N_FEATURES = 590;
const WAFERS = 1_500_000;
const HEADER = ',Sensor-1\n';
const row = (i: number) => `wafer-${i},1\n`;

let engine: Engine;
beforeAll(async () => {
  engine = await readyEngine();
});

async function loadError(file: File): Promise<{ code: string; message: string }> {
  const r = await engine.load(file, THRESHOLD);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

describe('planRows', () => {
  test('names wafer-1 … wafer-1500000: the mean of the first slice over-estimates, the plan still lets the file in', () => {
    const first: string[] = [];
    let bytes = HEADER.length;
    // The loader measures the first records in the 64 KB it reads for the header.
    for (let i = 1; bytes + row(i).length <= 64 * 1024; i++) {
      first.push(row(i));
      bytes += row(i).length;
    }
    let total = HEADER.length;
    for (let i = 1; i <= WAFERS; i++) total += row(i).length;
    const firstRecords = { bytesLeft: total, meanRecordBytes: bytes / (first.length + 1), longestRecordBytes: Math.max(...first.map((r) => r.length)) };
    // The old check (mean + 10 %) would have refused it: more rows than the budget holds.
    expect(Math.ceil((total / firstRecords.meanRecordBytes) * 1.1) * N_FEATURES * 4).toBeGreaterThan(MAX_READINGS_BYTES);
    expect(WAFERS * N_FEATURES * 4).toBeLessThan(MAX_READINGS_BYTES);
    const plan = planRows(total, firstRecords, N_FEATURES);
    expect(plan.fewestRows).toBeLessThan(WAFERS);
    expect(plan.initialRows).toBe(maxRows(N_FEATURES));
  });

  test('refused up front only when even the fewest plausible rows exceed the budget, naming the command-line tool', () => {
    const first = { bytesLeft: 64e9, meanRecordBytes: 3400, longestRecordBytes: 3600 };
    let error: unknown = null;
    try {
      planRows(64e9, first, N_FEATURES);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineFailure);
    expect((error as EngineFailure).code).toBe('too-large');
    expect((error as EngineFailure).message).toBe(
      "This file is too large for this browser's memory: 59.60 GB, at least 8,888,888 rows, needs at least 19.54 GB for its readings, more than the 4.00 GB this page allows. " +
        'For bigger files, use the command-line tool, which streams a file of any size (`npx sensor-fault predict FILE.csv -o OUT.csv` in the project folder, see its README), or split the file into smaller parts and upload them one at a time.',
    );
    // Twice as long records as the longest seen fit: no refusal, the buffers grow when needed.
    expect(planRows(4e9, { bytesLeft: 4e9, meanRecordBytes: 3400, longestRecordBytes: 3600 }, N_FEATURES).fewestRows).toBe(555_555);
  });
});

describe('content that is no CSV stops at once', () => {
  const sample = readFileSync(path(SAMPLE));

  test('NUL bytes after the first 64 KB (a file extended with truncate): not-text with the line and byte, previous file kept', async () => {
    await loadOk(engine, fileFromDisk(SAMPLE));
    const padded = new File([sample, new Uint8Array(8 << 20)], 'padded.csv');
    const e = await loadError(padded);
    expect(e).toEqual({
      code: 'not-text',
      message:
        'This file is not a text CSV file: line 102 (byte 343,974) holds binary data (a NUL byte), as in a file padded with zeros by a failed copy. ' +
        'Reading stopped there. Please upload the CSV export of your sensor readings.',
    });
    expect(results(await engine.summarize(THRESHOLD)).rows).toBe(100);
  });

  test('a NUL byte in the middle of a line names that line', async () => {
    const text = sample.toString('utf8');
    const at = text.indexOf('\n', 200_000) + 5; // a few bytes into the next line
    const line = text.slice(0, at).split('\n').length;
    const bytes = new Uint8Array(sample);
    bytes[at] = 0;
    const e = await loadError(new File([bytes], 'nul.csv'));
    expect(e.code).toBe('not-text');
    expect(e.message).toContain(`line ${line} (byte ${at.toLocaleString('en-US')})`);
  });

  test('a record that goes on for more than 16 MB is malformed-csv, not read to the end', async () => {
    const endless = new File([sample, new Uint8Array(17 << 20).fill(0x31)], 'endless.csv');
    const e = await loadError(endless);
    expect(e).toEqual({
      code: 'malformed-csv',
      message: 'The file is not valid CSV: the record on line 102 goes on for more than 16 MB without ending (a row of sensor readings is a few KB).',
    });
  });
});
