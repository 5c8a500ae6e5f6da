/** Formats people try: workbooks and archives by their first bytes. */
import { describe, expect, test } from 'vitest';
import { sniff } from '../../workers/engine/csv';
import { EngineFailure } from '../../workers/engine/errors';

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
      'This is a ZIP archive, not a CSV file. Extract the CSV file from it and upload that.',
    );
  });
  test('.xls (OLE2)', () => {
    expect(sniffFailure(fileBytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'x')).message).toMatch(/^This is an Excel 97–2003 workbook \(\.xls\)/);
  });
});
