/** Formats people try: .csv.gz, workbooks and archives by their first bytes, Excel's `sep=` line, invisible header characters. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { sniff } from '../../workers/engine/csv';
import { EngineFailure } from '../../workers/engine/errors';
import { blobText, fileFromText, loadOk, loadResultOk, path, readyEngine, SAMPLE, THRESHOLD, unwrap } from './helpers';

const sampleText = readFileSync(path(SAMPLE), 'utf8');
const sampleLines = sampleText.split('\n').filter((l) => l !== '');

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

describe("Excel's sep= line", () => {
  const semicolons = (lines: string[]) => lines.map((l) => l.replaceAll(',', ';')).join('\r\n') + '\r\n';

  test('sets the delimiter, is said, is not a row, keeps line numbers and stays in the download', async () => {
    const body = semicolons(sampleLines.slice(0, 4));
    // Row 2 is short, so its line number shows that the sep line is counted as line 1.
    const short = body.replace(/\r\n([^\r\n]*)\r\n/, (_m, row: string) => `\r\n${row.split(';').slice(0, 10).join(';')}\r\n`);
    const text = `sep=;\r\n${short}`;
    const engine = await readyEngine({ sliceSize: 64 });
    const s = await loadOk(engine, fileFromText(text, 'excel.csv'));
    expect(s).toMatchObject({ delimiter: ';', rows: 3, lineEnding: '\r\n' });
    expect(s.columns[1]?.feature).toBe('Sensor-1');
    expect(s.rowShapeIssues.map((r) => r.line)).toEqual([3]);
    expect(s.notices).toContain('The first line “sep=;” (written for Excel) sets the delimiter to a semicolon; it is not a row, and the download keeps it as its first line.');
    const out = await blobText(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false })).blob);
    expect(out.startsWith('sep=;\r\n;Sensor-1;')).toBe(true);
    expect(out.split('\r\n').length).toBe(text.split('\r\n').length);
  });

  test('sep= overrides the counted delimiter, with a BOM too', () => {
    const sn = sniff(new TextEncoder().encode(`\uFEFFsep=,\n${'a;b;c,d\n'}`), 20);
    expect(sn).toMatchObject({ delimiter: ',', hasBom: true, dataStart: 9, separatorLine: 'sep=,', firstLine: 2 });
  });

  test('a delimiter the app does not read is refused by name', () => {
    expect(sniffFailure(new TextEncoder().encode('sep=|\na|b\n1|2\n')).message).toBe(
      'The first line “sep=|” asks for “|” as the delimiter; this app reads files separated by commas, semicolons or tabs. Save the file as “CSV UTF-8 (comma delimited)” and upload it again.',
    );
  });
});

describe('invisible characters in header names', () => {
  test('a BOM and a zero-width space are ignored for matching, and said; the header text stays as uploaded', async () => {
    const header = sampleLines[0]!.split(',');
    header[1] = `\uFEFF${header[1]}`;
    header[12] = `${header[12]}\u200B`;
    const engine = await readyEngine();
    const s = await loadOk(engine, fileFromText([header.join(','), ...sampleLines.slice(1)].join('\n') + '\n'));
    expect(s.mapping.missingFeatures).toEqual([]);
    expect(s.columns[1]).toMatchObject({ header: '\uFEFFSensor-1', feature: 'Sensor-1' });
    expect(s.columns[12]).toMatchObject({ header: 'Sensor-12\u200B', feature: 'Sensor-12' });
    expect(s.notices).toEqual([
      'Column 2 (“Sensor-1”) has an invisible byte order mark (U+FEFF) in its name: it was ignored, so the column feeds Sensor-1.',
      'Column 13 (“Sensor-12”) has an invisible zero-width space (U+200B) in its name: it was ignored, so the column feeds Sensor-12.',
    ]);
  });
});

describe('counts', () => {
  test('the formula-like header cell is counted by the load as by the download', async () => {
    const header = sampleLines[0]!.split(',');
    const text = [[...header, '=Note'].join(','), ...sampleLines.slice(1, 4).map((l, i) => `${l},${i === 0 ? '@x' : 'ok'}`)].join('\n') + '\n';
    const engine = await readyEngine();
    const s = await loadOk(engine, fileFromText(text));
    const r = unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false }));
    expect(s.formulaLikeCells).toBe(2);
    expect(r.neutralizedCells).toBe(s.formulaLikeCells);
    expect(r.threshold).toBe(THRESHOLD);
  });

  test('large column counts in messages have thousands separators', async () => {
    const header = [...sampleLines[0]!.split(','), ...Array.from({ length: 1000 }, (_, i) => `extra${i}`)];
    const engine = await readyEngine();
    const r = await engine.load(fileFromText(`${header.join(',')}\n`), THRESHOLD);
    expect(r.ok ? null : r.error.message).toBe('The file has a header row (1,592 columns) but no data rows.');
    const none = await engine.load(fileFromText(`${Array.from({ length: 1200 }, (_, i) => `x${i}`).join(',')}\n1\n`), THRESHOLD);
    expect(none.ok ? null : none.error.message).toMatch(/^None of the 1,200 columns match/);
  });
});
