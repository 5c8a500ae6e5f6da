/**
 * Files that are not CSV text but that people give anyway, told apart by their first bytes (magic numbers): they
 * get a hint naming what the file is and how to get a CSV from it, instead of a vague "binary data".
 */
import { fail } from './errors';

const ZIP = [0x50, 0x4b, 0x03, 0x04];
/** OLE2 compound file: Excel 97–2003 (.xls) workbooks. */
const OLE2 = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => head[i] === b);
}

/** An .xlsx is a ZIP whose entries live under "xl/"; the name of one of them is within the first bytes. */
function isXlsx(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 4096));
  return text.includes('xl/') || text.includes('[Content_Types].xml');
}

/** Throws the hint for a workbook or an archive; returns for anything else. */
export function refuseKnownBinary(head: Uint8Array): void {
  if (startsWith(head, ZIP)) {
    if (isXlsx(head)) fail('not-text', 'This is an Excel workbook (.xlsx), not a CSV file. In Excel choose File › Save As › “CSV UTF-8 (comma delimited)” and upload that file.');
    fail('not-text', 'This is a ZIP archive, not a CSV file. Extract the CSV file from it and upload that.');
  }
  if (startsWith(head, OLE2)) {
    fail('not-text', 'This is an Excel 97–2003 workbook (.xls), not a CSV file. In Excel choose File › Save As › “CSV UTF-8 (comma delimited)” and upload that file.');
  }
}
