/** Formats people try: .csv.gz, workbooks and archives by their first bytes. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { sniff } from '../../workers/engine/csv';
import { EngineFailure } from '../../workers/engine/errors';
import { blobText, fileFromText, loadOk, loadResultOk, path, readyEngine, SAMPLE, THRESHOLD, unwrap } from './helpers';

const sampleText = readFileSync(path(SAMPLE), 'utf8');

function sniffFailure(bytes: Uint8Array): { code: string; message: string } {
  try {
    sniff(bytes, bytes.length);
  } catch (e) {
    if (e instanceof EngineFailure) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('sniff accepted the bytes');
}

/** Bytes that start with `magic` and continue with `rest` (latin1) and NULs, like the real containers. */
function fileBytes(magic: number[], rest: string): Uint8Array {
  return new Uint8Array([...magic, ...Buffer.from(rest, 'latin1'), 0, 0, 0, 0]);
}

describe('workbooks and archives get a hint that names them', () => {
  test('.xlsx (a ZIP with xl/ entries)', () => {
    expect(sniffFailure(fileBytes([0x50, 0x4b, 0x03, 0x04], '\x14\x00\x06\x00[Content_Types].xml'))).toEqual({
      code: 'not-text',
      message: 'This is an Excel workbook (.xlsx), not a CSV file. In Excel choose File › Save As › “CSV UTF-8 (comma delimited)” and upload that file.',
    });
  });
  test('.zip', () => {
    expect(sniffFailure(fileBytes([0x50, 0x4b, 0x03, 0x04], '\x14\x00\x00\x00wafers.csv')).message).toBe(
      'This is a ZIP archive, not a CSV file. Extract the CSV file from it and upload that (a .csv.gz file can be uploaded as it is).',
    );
  });
  test('.xls (OLE2)', () => {
    expect(sniffFailure(fileBytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'x')).message).toMatch(/^This is an Excel 97–2003 workbook \(\.xls\)/);
  });
  test('a gzip file inside a gzip file', async () => {
    const engine = await readyEngine();
    const r = await engine.load(fileFromText(gzipSync(gzipSync(sampleText)), 'twice.csv.gz'), THRESHOLD);
    expect(r.ok ? null : r.error.message).toBe('This gzip file holds another compressed file, not CSV text. Decompress it and upload the CSV file.');
  });
});

describe('.csv.gz', () => {
  test('is decompressed: the same report, probabilities and download as the plain file, and a notice', async () => {
    const engine = await readyEngine();
    const plain = await loadResultOk(engine, fileFromText(sampleText, 'wafers.csv'));
    const plainExport = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false }));
    const gz = gzipSync(sampleText);
    const packed = await loadResultOk(engine, fileFromText(gz, 'wafers.csv.gz'));
    expect(packed.summary.rows).toBe(100);
    expect(packed.results).toEqual(plain.results);
    expect(packed.summary.notices).toEqual([
      `The file is gzip-compressed (${(gz.length / 1024).toFixed(1)} KB); it was decompressed in this page (${(sampleText.length / 1024).toFixed(1)} KB of CSV text). The download is plain CSV.`,
    ]);
    const packedExport = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false }));
    expect(packedExport.fileName).toBe('wafers_predictions.csv');
    expect(await blobText(packedExport.blob)).toBe(await blobText(plainExport.blob));
  });

  test('a damaged .gz is refused with what happened, and the loaded file stays', async () => {
    const engine = await readyEngine();
    await loadOk(engine, fileFromText(sampleText, 'wafers.csv'));
    const gz = gzipSync(sampleText);
    const r = await engine.load(fileFromText(gz.subarray(0, gz.length >> 1), 'cut.csv.gz'), THRESHOLD);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('not-text');
    expect(r.error.message).toMatch(/^This \.gz file could not be decompressed \(.+\): it is damaged or incomplete\. Download it again, or upload the CSV file itself\.$/);
    expect(unwrap(await engine.summarize(THRESHOLD)).results?.rows).toBe(100);
  });
});
