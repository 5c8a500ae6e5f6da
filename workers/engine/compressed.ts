/**
 * Files that are not CSV text but that people give anyway, told apart by their first bytes (magic numbers): a
 * gzip file is decompressed here (the browser's own DecompressionStream), the others get a hint naming what the
 * file is and how to get a CSV from it, instead of a vague "binary data".
 */
import { fail } from './errors';

const GZIP = [0x1f, 0x8b];
const ZIP = [0x50, 0x4b, 0x03, 0x04];
/** OLE2 compound file: Excel 97–2003 (.xls) workbooks. */
const OLE2 = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => head[i] === b);
}

export function isGzip(head: Uint8Array): boolean {
  return startsWith(head, GZIP);
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
    fail('not-text', 'This is a ZIP archive, not a CSV file. Extract the CSV file from it and upload that (a .csv.gz file can be uploaded as it is).');
  }
  if (startsWith(head, OLE2)) {
    fail('not-text', 'This is an Excel 97–2003 workbook (.xls), not a CSV file. In Excel choose File › Save As › “CSV UTF-8 (comma delimited)” and upload that file.');
  }
  if (isGzip(head)) fail('not-text', 'This gzip file holds another compressed file, not CSV text. Decompress it and upload the CSV file.');
}

/** The decompressed content of a gzip file, as a Blob the loader and the download re-read like any file. */
export async function gunzip(file: Blob): Promise<Blob> {
  try {
    return await new Response(file.stream().pipeThrough(new DecompressionStream('gzip'))).blob();
  } catch (e) {
    return gunzipFailed(e);
  }
}

/** The refusal of a .gz file that does not decompress (the page's and the command-line tool's). */
export function gunzipFailed(e: unknown): never {
  const why = e instanceof Error ? e.message : String(e);
  return fail('not-text', `This .gz file could not be decompressed (${why}): it is damaged or incomplete. Download it again, or upload the CSV file itself.`);
}
